"""The reference engine: the same rules as the compiled engine, one agent at a time.

Plain Python objects and loops, written to be read against docs/ODD.md rather than to be fast. Each
submodel's per-agent version is its module's ``reference(m, t)`` (next to the kernel it must equal); this
module holds the people, executives and ties those functions work on, and what they share: the values of
their declared parameters (the same numbers the kernel gets), the same random streams (by mechanism, site,
week and slot), counters, outputs, memory and the event log. It is the test oracle
(``tests/test_reference.py`` checks both engines give the same trajectories for the same seed) and the
benchmark baseline.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..scenario import Scenario
from . import streams
from .layout import Group, Mechanism, detail_value, lane_sum, running_sum
from .mechanisms import declarations, modules, staff_variables
from .mechanisms.staff_turnover import NEWCOMER_SITE
from .metrics import assemble, measured_size, metric_rows
from .params import World
from .state import WORLD_VARIABLES, BetaDraw, State, per_row
from .types import Ints, Key, LoggedEvent, Metrics


class Person:
    """A member of staff in a post (attitudes are set as attributes by name).

    Every person's own attributes and the core attitudes (``sim.model.state.CORE_STAFF``) are declared below.
    An attitude a submodel declares (``STAFF``) is an attribute like them, named by its declaration and not
    known here, so the type checker reads and writes any other name as a float (an attitude); a misspelt
    name fails at run time, on the first week of the engine-equality tests.
    """

    index: int  # the post's row
    org: int  # 0 = A, 1 = B
    role: int  # ROLES code
    union: bool
    tenure: int  # weeks in post
    adopted: bool
    present: bool  # the post is filled
    colleagues: list[int]  # rows of the work ties' other ends
    culture: float
    tp: float
    tl: float
    loyalty: float
    fatigue: float

    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)

    if TYPE_CHECKING:  # the attitudes submodels add (above); for the type checker only

        def __getattr__(self, name: str) -> float: ...

        def __setattr__(self, name: str, value: float) -> None: ...


class Leader:
    __slots__ = ("commit", "org", "rel", "seat", "tenure", "vacant")

    def __init__(self, org: int, seat: int, commit: float, vacant: bool, tenure: int, rel: float) -> None:
        self.org, self.seat, self.commit, self.vacant, self.tenure, self.rel = org, seat, commit, vacant, tenure, rel


class Tie:
    __slots__ = ("u", "v", "w")

    def __init__(self, u: int, v: int, w: float) -> None:
        self.u, self.v, self.w = u, v, w


def values_of(mech: Mechanism, sc: Scenario, world: World) -> SimpleNamespace:
    """A submodel's parameters by local name (a pair or per-role group as a tuple): the kernel's numbers."""
    p = mech.pack(sc, world).tolist()
    out: dict[str, float | tuple[float, ...]] = {}
    i = 0
    for local, spec in mech.params.items():
        if isinstance(spec, Group):
            out[local] = tuple(p[i : i + len(spec.parts)])
            i += len(spec.parts)
        else:
            out[local] = p[i]
            i += 1
    return SimpleNamespace(**out)


class ReferenceEngine:
    """Runs weeks one agent at a time (same interface as :class:`~sim.model.compiled.CompiledEngine`)."""

    name = "reference"
    Tie = Tie

    def __init__(self, world: World, state: State) -> None:
        self.world = world
        sc, seed = world.sc, world.seed
        self.attitudes = staff_variables()
        self.people = [
            Person(
                index=i,
                org=int(state.org[i]),
                role=int(state.role[i]),
                union=bool(state.union[i]),
                tenure=int(state.tenure[i]),
                adopted=bool(state.adopted[i]),
                present=bool(state.present[i]),
                colleagues=[int(j) for j in state.nbr[state.inc_ptr[i] : state.inc_ptr[i + 1]]],
                **{v.name: float(state.staff[k, i]) for k, v in enumerate(self.attitudes)},
            )
            for i in range(state.n)
        ]
        self.leaders = [
            Leader(
                int(state.l_org[s]),
                int(state.l_seat[s]),
                float(state.l_commit[s]),
                bool(state.l_vacant[s]),
                int(state.l_tenure[s]),
                float(state.l_rel[s]),
            )
            for s in range(state.l_org.size)
        ]
        self.edges = list(zip(state.e_u.tolist(), state.e_v.tolist()))
        self.ties = [Tie(u, v, w) for u, v, w in zip(state.x_u.tolist(), state.x_v.tolist(), state.x_w.tolist())]
        self._static = state  # networks do not change
        self._world = {v.name: float(x) for v, x in zip(WORLD_VARIABLES, state.world.tolist())}
        self.mechs = declarations()
        self._values = {m.name: values_of(m, sc, world) for m in self.mechs}
        self._keys = {m.name: dict(zip(m.draws, m.keys(seed).tolist())) for m in self.mechs}
        self._newcomer_keys = {
            v.name: int(streams.site_key(seed, "staff_turnover", NEWCOMER_SITE.format(v.name))) for v in self.attitudes
        }
        self.memory = {m.name: dict(zip(m.memory, m.memory_initial(sc).tolist())) for m in self.mechs}
        self._counts: dict[tuple[str, str], int] = {}  # (submodel, counter) -> count
        self._outputs: dict[tuple[str, str], float] = {}  # (submodel, output) -> value
        self._events: list[LoggedEvent] = []
        self._week_draws: dict[tuple[str, str], tuple[int, list[float], Key]] = {}  # (submodel, site) -> week's
        self._dense = max(len(self.people), len(self.edges))  # slots drawn a week at a time

    # --- what a submodel's reference() uses -------------------------------------------------------------------
    def world_value(self, name: str) -> float:
        return self._world[name]

    def set_scenario(self, sc: Scenario) -> None:
        """New parameter values from the next week on (a timeline action)."""
        import dataclasses

        self.world = dataclasses.replace(self.world, sc=sc)
        self._values = {m.name: values_of(m, sc, self.world) for m in self.mechs}

    def replace_leader(self, org: int, seat: int, interim: bool, t: int) -> None:
        """A timeline action: the executive in ``seat`` of ``org`` replaced now (by the succession rule)."""
        from .mechanisms import leadership_turnover as lt

        v = self._values[lt.MECHANISM.name]
        k = len(self.leaders) // 2
        s = org * k + seat
        board_mean = running_sum(ld.commit for ld in self.leaders[org * k : (org + 1) * k]) / k
        commit_key, insider_key = (streams.site_key(self.world.seed, "timeline", site) for site in lt.TIMELINE_SITES)
        z = streams.normal_at(commit_key, t, s) if not interim else 0.0
        ld = self.leaders[s]
        ld.commit = lt.replacement_commitment(v, org, board_mean, streams.uniform_at(insider_key, t, s), z, interim)
        ld.vacant, ld.tenure, ld.rel = interim, 0, 0.0
        factor = lt.departure_factor(v, seat)
        for person in self.people:
            if person.org == org:
                person.tl = person.tl * factor

    def set_world(self, name: str, value: float) -> None:
        if name not in self._world:
            raise KeyError(f"no world variable {name!r}")
        self._world[name] = float(value)

    def values(self, mech: Mechanism) -> SimpleNamespace:
        return self._values[mech.name]

    def uniform(self, mech: Mechanism, site: str, t: int, slot: int) -> float:
        """The site's number for ``slot`` in week ``t`` (a week's numbers for the slots of people and work
        ties are made in one call and kept; tie slots, which are pairs of rows, one at a time)."""
        week = self._week_draws.get((mech.name, site))
        if week is None or week[0] != t:
            key = np.uint64(self._keys[mech.name][site])
            week = (t, streams.uniforms(key, t, self._dense).tolist(), key)
            self._week_draws[(mech.name, site)] = week
        if slot < self._dense:
            return week[1][slot]
        return streams.uniform_at(week[2], t, slot)

    def normal(self, mech: Mechanism, site: str, t: int, slot: int) -> float:
        return streams.normal_at(np.uint64(self._keys[mech.name][site]), t, slot)

    def permutation(self, mech: Mechanism, site: str, t: int, n: int) -> Ints:
        return streams.permutation(np.uint64(self._keys[mech.name][site]), t, n)

    def count(self, mech: Mechanism, name: str, k: int) -> None:
        key = (mech.name, name)
        self._counts[key] = self._counts.get(key, 0) + int(k)

    def output(self, mech: Mechanism, name: str, value: float) -> None:
        self._outputs[(mech.name, name)] = value

    def event(self, mech: Mechanism, kind: str, org: int | None, **details: float) -> None:
        declared = next(e for e in mech.events if e.name == kind)
        if set(details) != {name for name, _ in declared.fields}:
            raise ValueError(f"{mech.name}: event {kind} has details {sorted(details)}, declared {declared.fields}")
        e = {"step": self._t, "kind": kind, "org": None if org is None else "AB"[org]}
        for name, typ in declared.fields:
            e[name] = detail_value(typ, details[name])
        self._events.append(e)

    def hire(self, person: Person, t: int) -> None:
        """A newcomer's attitudes in ``person``'s post, each from its newcomer rule and the post's slot."""
        sc = self.world.sc
        for var in self.attitudes:
            rule = var.newcomer
            if isinstance(rule, BetaDraw):
                mean = float(per_row(rule.mean, sc, self.world, np.array([person.org]))[0])
                value = streams.beta_at(
                    np.uint64(self._newcomer_keys[var.name]), t, person.index, mean, float(sc[rule.sd])
                )
            else:
                value = float(rule.value if isinstance(rule.value, float) else sc[rule.value])
            setattr(person, var.name, value)

    # --- the week ---------------------------------------------------------------------------------------------
    def initial_metrics(self) -> Metrics:
        return self._metrics(outputs_default=True)

    def step(self, t: int) -> tuple[Metrics, list[LoggedEvent]]:
        self._t = t
        self._counts, self._outputs, self._events = {}, {}, []
        on = self.world.on
        for module in modules():
            if on[module.MECHANISM.name]:
                module.reference(self, t)
        return self._metrics(), self._events

    def _metrics(self, outputs_default: bool = False) -> Metrics:
        measured = np.empty(measured_size())
        rows = metric_rows()
        j = 0
        here = [p for p in self.people if p.present]
        heads = [sum(1 for p in here if p.org == o) for o in (0, 1)]
        first = (0, self.world.n_a)
        for k in list(rows) + [None]:
            name = None if k is None else self.attitudes[k].name
            for o in (0, 1):
                if name is None:
                    total = float(sum(1 for p in here if p.org == o and p.adopted))
                else:
                    total = lane_sum(((p.index, getattr(p, name)) for p in here if p.org == o), first[o])
                measured[j] = total / heads[o]
                j += 1
        for o in (0, 1):
            measured[j + o] = running_sum(ld.commit for ld in self.leaders if ld.org == o) / (len(self.leaders) // 2)
            measured[j + 2 + o] = sum(1 for ld in self.leaders if ld.org == o and ld.vacant)
            measured[j + 4 + o] = heads[o]
        measured[j + 6] = len(self.ties)
        measured[j + 7] = running_sum(ld.rel for ld in self.leaders) / len(self.leaders)
        outputs = []
        counts = []
        for m in self.mechs:
            for name, (_, default) in m.outputs.items():
                outputs.append(default if outputs_default else self._outputs.get((m.name, name), default))
            counts += [self._counts.get((m.name, name), 0) for name in m.counters]
        world = np.array([self._world[v.name] for v in WORLD_VARIABLES])
        return assemble(measured, np.array(outputs, dtype=float), np.array(counts, dtype=np.int64), world)

    @property
    def state(self) -> State:
        """The current state as arrays (for snapshots and end-of-run statistics)."""
        people, leaders, st = self.people, self.leaders, self._static
        staff = np.array([[getattr(p, v.name) for p in people] for v in self.attitudes]).reshape(
            len(self.attitudes), len(people)
        )
        return State(
            staff,
            tuple(v.name for v in self.attitudes),
            org=np.array([p.org for p in people], np.int8),
            role=np.array([p.role for p in people], np.int8),
            union=np.array([p.union for p in people], bool),
            tenure=np.array([p.tenure for p in people], np.int64),
            adopted=np.array([p.adopted for p in people], bool),
            present=np.array([p.present for p in people], bool),
            l_org=np.array([ld.org for ld in leaders], np.int8),
            l_seat=np.array([ld.seat for ld in leaders], np.int64),
            l_commit=np.array([ld.commit for ld in leaders]),
            l_vacant=np.array([ld.vacant for ld in leaders], bool),
            l_tenure=np.array([ld.tenure for ld in leaders], np.int64),
            l_rel=np.array([ld.rel for ld in leaders]),
            e_u=st.e_u,
            e_v=st.e_v,
            inc_ptr=st.inc_ptr,
            inc_edge=st.inc_edge,
            nbr=st.nbr,
            x_u=np.array([t.u for t in self.ties], np.int64),
            x_v=np.array([t.v for t in self.ties], np.int64),
            x_w=np.array([t.w for t in self.ties], float),
            world=np.array([self._world[v.name] for v in WORLD_VARIABLES]),
        )
