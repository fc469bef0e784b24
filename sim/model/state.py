"""The model's state as a struct of arrays, and its initialisation (ODD: Initialization).

Staff are rows ``0 .. n_a-1`` (organisation A) then ``n_a .. n_a+n_b-1`` (organisation B); a row is a post,
and the person in it changes with turnover. Executive seats are rows of the ``l_*`` arrays, seat 0 of each
organisation being its chief executive. Every attitude lies in [0, 1].

The staff's attitudes (culture, trust in the partner, trust in own leadership, loyalty, fatigue, and any a
submodel adds) are declared once, as :class:`StaffVariable`: how they start, what a newcomer brings, and
the metric that reports their mean. They are stored as the rows of one matrix ``State.staff`` and read as
``state.culture`` etc.; the week kernel gets each row by name.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..scenario import Scenario
from . import streams
from .layout import Derived, PerOrg, Source, indices, param_value, per_org
from .networks import incidence, team_small_world
from .params import ROLE_CLINICAL, ROLE_MANAGERIAL, ROLE_SUPPORT, SCOPES, World, partner_trust_mean
from .types import Bools, Floats, Int8s, Ints, Key

MAX_TENURE = 45 * 52  # weeks: a working life


@dataclass(frozen=True)
class BetaDraw:
    """Values drawn from a Beta distribution with this mean (scenario key, pair or derived) and sd."""

    mean: Source | PerOrg
    sd: str


@dataclass(frozen=True)
class Fixed:
    """One value for everyone: a number, or a scenario key."""

    value: float | str


@dataclass(frozen=True)
class StaffVariable:
    """An attitude every member of staff carries (a row of ``State.staff``)."""

    name: str  # as in the kernels and ``state.<name>``
    metric: str | None  # metrics ``<metric>_a`` / ``<metric>_b`` report its mean over staff in post
    doc: str
    initial: BetaDraw | Fixed
    newcomer: BetaDraw | Fixed  # what someone hired into a post brings


_SD = "organisations.attitude_sd"
_PT = Derived(lambda sc, world: partner_trust_mean(sc), "initial partner trust after local history")

#: The attitudes of docs/ODD.md section 2, in the order their metrics are reported.
CORE_STAFF = (
    StaffVariable(
        "culture",
        "culture",
        "improvement culture: disposition to work with improvement methods",
        BetaDraw(per_org("organisations.culture_a", "organisations.culture_b"), _SD),
        BetaDraw(per_org("staff.hire_culture_a", "staff.hire_culture_b"), _SD),
    ),
    StaffVariable("tp", "partner_trust", "trust in the partner organisation", BetaDraw(_PT, _SD), BetaDraw(_PT, _SD)),
    StaffVariable(
        "tl",
        "leader_trust",
        "trust in own leadership and in the partnership process",
        BetaDraw(per_org("staff.leader_trust_a", "staff.leader_trust_b"), _SD),
        BetaDraw(per_org("staff.leader_trust_a", "staff.leader_trust_b"), _SD),
    ),
    StaffVariable(
        "loyalty",
        "loyalty",
        "identification with own organisation",
        BetaDraw("staff.loyalty", _SD),
        Fixed("staff.newcomer_loyalty"),
    ),
    StaffVariable("fatigue", "fatigue", "change fatigue", Fixed(0.0), Fixed(0.0)),
)


@dataclass(frozen=True)
class WorldVariable:
    """A number of the world as a whole (an entry of ``State.world``), read and written by the submodels."""

    name: str
    initial: float | str  # a number, or the scenario key it starts from
    metric: str | None  # reported every week under this name
    kind: str  # "int" or "float" (metrics)
    doc: str


#: The world's own numbers (docs/ODD.md 2), in the order of ``State.world``.
WORLD_VARIABLES = (
    WorldVariable("special_measures", 1.0, "special_measures", "int", "1 while A is in special measures"),
    WorldVariable("partnership_active", 1.0, "partnership_active", "int", "1 until the partnership has failed"),
    WorldVariable("contact_scale", 1.0, None, "float", "joint working relative to its level in special measures"),
    WorldVariable("quality_a", "quality.quality_a", "quality_a", "float", "quality of care in A (0-1)"),
    WorldVariable("quality_b", "quality.quality_b", "quality_b", "float", "quality of care in B (0-1)"),
    WorldVariable(
        "quality_entry", "quality.quality_a", None, "float", "A's quality when it last entered special measures"
    ),
    WorldVariable("next_inspection", "regulator.first_inspection_weeks", None, "float", "week of A's next inspection"),
    WorldVariable("escalations", 0.0, "escalations", "int", "times the inspectors found no significant progress"),
    WorldVariable("strain_b", 0.0, "strain_b", "float", "B's strain from supporting A (1 = at capacity)"),
)
W = indices("W", {v.name: k for k, v in enumerate(WORLD_VARIABLES)})


def initial_world(sc: Scenario) -> Floats:
    return np.array([float(v.initial if isinstance(v.initial, float) else sc[v.initial]) for v in WORLD_VARIABLES])


#: State arrays other than the attitudes (name -> what it holds).
ARRAYS = {
    "org": "int8: 0 = A, 1 = B",
    "role": "int8: 0 clinical, 1 managerial, 2 support",
    "union": "bool: trade-union member",
    "tenure": "int64: weeks in post",
    "adopted": "bool: uses the shared improvement method",
    "present": "bool: the post is filled (all true unless headcounts change)",
    "l_org": "int8: organisation of an executive seat",
    "l_seat": "int64: 0 = chief executive",
    "l_commit": "commitment to the partnership (board trust)",
    "l_vacant": "bool: the seat is held by an interim",
    "l_tenure": "int64: weeks in the seat",
    "l_rel": "personal relationship with the partner's executive team (0-1; a newcomer starts at 0)",
    "e_u": "work tie ends (u < v), static",
    "e_v": "",
    "inc_ptr": "CSR index of each person's work ties",
    "inc_edge": "",
    "nbr": "each person's colleagues, in CSR order",
    "x_u": "cross-organisation ties: end in A",
    "x_v": "end in B",
    "x_w": "strength",
    "world": "the world's own numbers (WORLD_VARIABLES)",
}


class State:
    """Struct of arrays; ``state.culture`` etc. are rows of ``state.staff`` (assigning copies into the row).

    The arrays of :data:`ARRAYS` are declared below with their types. The attitudes are declared by the
    submodels (:class:`StaffVariable`), so their names are not known here: any other name reads as a row of
    ``staff`` (and raises AttributeError at run time if there is no such attitude).
    """

    staff: Floats  # one row per attitude (``staff_names``), one column per post
    staff_names: tuple[str, ...]
    _rows: dict[str, int]
    org: Int8s
    role: Int8s
    union: Bools
    tenure: Ints
    adopted: Bools
    present: Bools
    l_org: Int8s
    l_seat: Ints
    l_commit: Floats
    l_vacant: Bools
    l_tenure: Ints
    l_rel: Floats
    e_u: Ints
    e_v: Ints
    inc_ptr: Ints
    inc_edge: Ints
    nbr: Ints
    x_u: Ints
    x_v: Ints
    x_w: Floats
    world: Floats

    def __init__(self, staff: Floats, staff_names: tuple[str, ...], **arrays: np.ndarray) -> None:
        d = self.__dict__
        d["staff"] = staff
        d["staff_names"] = tuple(staff_names)
        d["_rows"] = {name: k for k, name in enumerate(staff_names)}
        d.update(arrays)

    def __getattr__(self, name: str) -> Floats:
        rows = self.__dict__.get("_rows")
        if rows is not None and name in rows:
            row: Floats = self.__dict__["staff"][rows[name]]
            return row
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        rows = self.__dict__["_rows"]
        if name in rows:
            self.__dict__["staff"][rows[name]][...] = value
        else:
            self.__dict__[name] = value

    @property
    def n(self) -> int:
        return self.org.size

    def row(self, name: str) -> int:
        return self._rows[name]

    def copy(self) -> State:
        return copy.deepcopy(self)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array by name (attitudes included), for snapshots and end-of-run statistics."""
        out = {k: v for k, v in self.__dict__.items() if isinstance(v, np.ndarray) and k != "staff"}
        out.update({name: self.staff[k] for k, name in enumerate(self.staff_names)})
        return out


def org_means(values: Floats, n_a: int) -> Floats:
    """Mean of ``values`` over A (rows ``:n_a``) and over B (the rest), in one pass."""
    sums = np.add.reduceat(values, [0, n_a], dtype=np.float64)
    means: Floats = sums / np.array([n_a, values.size - n_a])
    return means


def per_row(spec: Source | PerOrg, sc: Scenario, world: World, org: np.ndarray) -> Floats:
    """A (possibly per-organisation) parameter as one value per row of ``org``."""
    if isinstance(spec, PerOrg):
        return np.array([param_value(part, sc, world) for part in spec.parts])[org.astype(np.int64)]
    return np.full(org.size, param_value(spec, sc, world))


def draw_values(draw: BetaDraw | Fixed, sc: Scenario, world: World, org: np.ndarray, key: Key, t: int) -> Floats:
    """Values of a :class:`BetaDraw` or :class:`Fixed` for every row (row i from slot i of the stream)."""
    if isinstance(draw, Fixed):
        v = draw.value if isinstance(draw.value, float) else sc[draw.value]
        return np.full(org.size, float(v))
    return streams.betas(key, t, per_row(draw.mean, sc, world, org), float(sc[draw.sd]))


def newcomer_spec(variables: Sequence[StaffVariable], sc: Scenario, world: World) -> Floats:
    """The newcomer rule of each attitude for the kernel: rows (kind 0 fixed / 1 beta, mean A, mean B, sd)."""
    out = np.zeros((len(variables), 4))
    for k, var in enumerate(variables):
        d = var.newcomer
        if isinstance(d, Fixed):
            v = float(d.value if isinstance(d.value, float) else sc[d.value])
            out[k] = (0.0, v, v, 0.0)
        else:
            m = per_row(d.mean, sc, world, np.array([0, 1]))
            out[k] = (1.0, m[0], m[1], float(sc[d.sd]))
    return out


def build_initial_state(world: World, variables: Sequence[StaffVariable]) -> State:
    """Initial networks, attitudes and executive teams (each draw from its own stream; docs/ODD.md 5)."""
    sc, seed = world.sc, world.seed
    n_a, n_b = world.n_a, world.n_b
    n = n_a + n_b
    org = np.concatenate([np.zeros(n_a, np.int8), np.ones(n_b, np.int8)])
    rows = np.arange(n)

    def key(site: str) -> Key:
        return streams.site_key(seed, "initial_state", site)

    # Networks, each trust from a generator of its own (they depend only on its size and the network's shape).
    half = sc["organisations.team_degree"] // 2
    parts = [
        team_small_world(
            streams.spawn_generator(seed, "networks", name),
            size,
            offset,
            sc["organisations.team_size"],
            half,
            sc["organisations.teams_per_department"],
            sc["organisations.rewire_prob"],
        )
        for name, size, offset in (("A", n_a, 0), ("B", n_b, n_a))
    ]
    e_u = np.concatenate([parts[0][0], parts[1][0]])
    e_v = np.concatenate([parts[0][1], parts[1][1]])
    inc_ptr, inc_edge, nbr = incidence(n, e_u, e_v)

    # Roles and union membership.
    r = streams.uniforms(key("role"), 0, n)
    c1 = sc["organisations.share_clinical"]
    c2 = c1 + sc["organisations.share_managerial"]
    role = np.where(r < c1, ROLE_CLINICAL, np.where(r < c2, ROLE_MANAGERIAL, ROLE_SUPPORT)).astype(np.int8)
    union = streams.uniforms(key("union"), 0, n) < sc["staff.union_density"]

    staff = np.empty((len(variables), n))
    for k, var in enumerate(variables):
        staff[k] = draw_values(var.initial, sc, world, org, key(var.name), 0)
    adoption = np.array([sc["organisations.adoption_a"], sc["organisations.adoption_b"]])
    adopted = streams.uniforms(key("adopted"), 0, n) < adoption[org.astype(np.int64)]
    # Tenure: exponential with the turnover's mean, within a working life (at most 45 years).
    rate = sc["staff.turnover_per_year"]
    mean_tenure = min(52.0 / rate, MAX_TENURE) if rate > 0 else MAX_TENURE
    tenure = np.minimum(np.floor(streams.exponentials(key("tenure"), 0, n, mean_tenure)), MAX_TENURE).astype(np.int64)

    # Executive teams.
    k_seats = world.seats
    l_org = np.repeat(np.array([0, 1], np.int8), k_seats)
    l_seat = np.tile(np.arange(k_seats, dtype=np.int64), 2)
    lo = l_org.astype(np.int64)
    commitment_mean = np.array([sc["leadership.commitment_a"], sc["leadership.commitment_b"]])[lo]
    z = streams.normals(key("commitment"), 0, 2 * k_seats)
    l_commit = np.clip(commitment_mean + sc["leadership.commitment_sd"] * z, 0.0, 1.0)
    turnover = np.array([sc["leadership.turnover_a"], sc["leadership.turnover_b"]])[lo]
    u = streams.uniforms(key("seat_tenure"), 0, 2 * k_seats)
    l_tenure = np.minimum(np.floor(-(52.0 / np.maximum(turnover, 0.1)) * np.log1p(-u)), MAX_TENURE).astype(np.int64)
    l_vacant = np.zeros(2 * k_seats, bool)
    l_rel = np.full(2 * k_seats, sc["leadership.relationship_initial"])

    # Initial cross-organisation ties, set by history and geography.
    x_u, x_v = initial_cross_ties(world, role, key("tie_a"), key("tie_b"))
    present = np.ones(n, dtype=bool)
    if world.headcount0 is not None:
        present = (rows - np.where(org == 0, 0, n_a)) < world.headcount0[org.astype(np.int64)]
        keep = present[x_u] & present[x_v]
        x_u, x_v = x_u[keep], x_v[keep]
    x_w = np.full(x_u.size, sc["partnership.tie_initial"])

    return State(
        staff,
        tuple(v.name for v in variables),
        org=org,
        role=role,
        union=union,
        tenure=tenure,
        adopted=adopted,
        present=present,
        l_org=l_org,
        l_seat=l_seat,
        l_commit=l_commit,
        l_vacant=l_vacant,
        l_tenure=l_tenure,
        l_rel=l_rel,
        e_u=e_u,
        e_v=e_v,
        inc_ptr=inc_ptr,
        inc_edge=inc_edge,
        nbr=nbr,
        x_u=x_u,
        x_v=x_v,
        x_w=x_w,
        world=initial_world(sc),
    )


def initial_ties(sc: Scenario, n_a: int, n_b: int) -> int:
    """How many cross-organisation ties are proposed at the start (before duplicates are dropped)."""
    if sc["partnership.bridge_scope"] == "leaders":
        return 0
    per_100 = sc["partnership.ties_per_100_staff"]
    return int(
        round(per_100 * min(n_a, n_b) / 100.0 * sc["system.geographic_proximity"] * (1.0 + sc["system.history"]))
    )


def initial_cross_ties(world: World, role: Int8s, key_a: Key, key_b: Key) -> tuple[Ints, Ints]:
    """Tie k joins a random eligible member of A and of B (draws of slot k); duplicates keep the first."""
    from .mechanisms.joint_working import may_bridge  # the rule of 7.5 (imported here: it imports this module)

    sc = world.sc
    elig = may_bridge(SCOPES[sc["partnership.bridge_scope"]], role)  # the rule of joint working (7.5)
    cand_a = np.flatnonzero(elig[: world.n_a])
    cand_b = np.flatnonzero(elig[world.n_a :]) + world.n_a
    m = initial_ties(sc, world.n_a, world.n_b)
    if m == 0 or cand_a.size == 0 or cand_b.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    u = cand_a[np.floor(streams.uniforms(key_a, 0, m) * cand_a.size).astype(np.int64)]
    v = cand_b[np.floor(streams.uniforms(key_b, 0, m) * cand_b.size).astype(np.int64)]
    _, first = np.unique(u * (world.n_a + world.n_b) + v, return_index=True)
    first.sort()
    return u[first], v[first]
