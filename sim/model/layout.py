"""What a submodel declares, and the kernel layouts generated from it.

A submodel (one module in :mod:`sim.model.mechanisms`) declares itself once, as a :class:`Mechanism`:
the scenario parameters it reads (named as in the scenario file), the quantities it derives from them,
its random draw sites, the counters and per-week outputs it reports, the state it keeps between weeks
and the events it logs. Everything positional (the index of a parameter in the vector the kernel gets,
of a counter, of a draw site's key) is generated from that declaration, so a kernel reads
``p[P.success_trust_weight]`` and never a hand-kept position.

Parameters that differ by organisation are declared as a pair (:func:`per_org`): they take two adjacent
slots, A's then B's, so ``p[P.visibility + o]`` is organisation ``o``'s value by construction.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, cast

import numpy as np

from ..scenario import Scenario
from . import streams
from .jit import inline_kernel
from .params import World
from .types import Bools, Floats, Ints, Keys


class Indices(Protocol):
    """Positions generated from a declaration (``P``, ``D``, ``C``, ``OUT``, ``G``, ``E``; the world's ``W``):
    every name is an ``int``, e.g. ``P.success_trust_weight``.

    At run time it is a namedtuple (numba folds a global namedtuple's fields into constants), or ``()`` when
    nothing is declared. Its names are made from the declaration, so mypy cannot list them: any name reads as
    an ``int`` (an index, not a float), and a misspelt one fails when the kernel compiles, which the tests
    do for every submodel.
    """

    def __getattr__(self, name: str) -> int: ...


def indices(kind: str, positions: Mapping[str, int]) -> Indices:
    """The namedtuple ``kind`` with a field per name holding its position (``()`` when there are none)."""
    if not positions:
        return cast("Indices", ())
    # Made with its fields' values as their defaults: mypy types namedtuple() of names known only at run time
    # as a plain tuple class, which cannot be called with one argument per field.
    return cast("Indices", namedtuple(kind, list(positions), defaults=list(positions.values()))())


@dataclass(frozen=True)
class Derived:
    """A parameter computed from the scenario (and the world's sizes) rather than read from it."""

    fn: Callable[[Scenario, World], float]
    doc: str = ""


@dataclass(frozen=True)
class Group:
    """Parameters in adjacent slots, read as ``p[P.name + i]``: one per organisation (A then B), or per role."""

    parts: tuple[Source, ...]
    suffixes: tuple[str, ...]

    @property
    def a(self) -> Source:
        return self.parts[0]

    @property
    def b(self) -> Source:
        return self.parts[1]


PerOrg = Group


@dataclass(frozen=True)
class Choice:
    """A choice parameter (a string in the scenario) as an integer code."""

    key: str
    codes: Mapping[str, int]


@dataclass(frozen=True)
class Switch:
    """1.0 if a ``[mechanisms]`` switch is on, else 0.0 (for switches that modify another submodel)."""

    name: str


#: Where one slot of a submodel's parameter vector comes from: a scenario key, or a derived, choice or switch.
type Source = str | Derived | Choice | Switch
#: One entry of a declaration's ``params``: a slot's source, or a group of adjacent slots (per_org, per_role).
type Declaration = Source | Group


def derived(fn: Callable[[Scenario, World], float], doc: str = "") -> Derived:
    return Derived(fn, doc)


def per_org(a: Source, b: Source) -> Group:
    """A's and B's value of a parameter, in that order (``p[P.name + o]``)."""
    return Group((a, b), ("a", "b"))


def per_role(clinical: Source, managerial: Source, support: Source) -> Group:
    """A parameter per staff role, in the order of the ``role`` codes (``p[P.name + role]``)."""
    return Group((clinical, managerial, support), ("clinical", "managerial", "support"))


def choice(key: str, codes: Mapping[str, int]) -> Choice:
    return Choice(key, dict(codes))


def switch(name: str) -> Switch:
    return Switch(name)


INT, FLOAT, BOOL = "int", "float", "bool"


@dataclass(frozen=True)
class Event:
    """An event kind a submodel logs, with the names and types of its details (at most two)."""

    name: str
    fields: tuple[tuple[str, str], ...] = ()


def detail_value(typ: str, value: float) -> bool | int | float:
    """An event detail as the log shows it (floats rounded to 4 places)."""
    if typ == INT:
        return int(value)
    if typ == BOOL:
        return bool(value)
    if typ == FLOAT:
        return round(float(value), 4)
    raise ValueError(f"unknown detail type {typ!r}")


def _names(kind: str, names: Iterable[str]) -> Indices:
    names = tuple(names)
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate {kind} names: {names}")
    return indices(kind, {name: k for k, name in enumerate(names)})


class Mechanism:
    """The declaration of one submodel (see the module docstring).

    Parameters
    ----------
    name:
        The ``[mechanisms]`` switch that turns it on or off; also the module's name.
    params:
        ``local name -> scenario key | per_org(...) | derived(...) | choice(...) | switch(...)``. A local name
        that is a scenario key's last part (``success_trust_weight`` for
        ``partnership.success_trust_weight``) keeps the scenario's name in the kernel.
    draws:
        The random draw sites (each its own stream; :mod:`sim.model.streams`).
    counters:
        Integer counts of the week (reported as metrics; the same name in two submodels adds up).
    outputs:
        ``name -> (kind, value when switched off)``: per-week values reported as metrics.
    memory:
        ``name -> initial value`` (a number or a scenario key): numbers the submodel keeps from one week to the
        next.
    events:
        The event kinds it logs, with their details.
    modifiers:
        Other ``[mechanisms]`` switches that change this submodel's rule rather than run on their own.
    returns:
        Names of state arrays the kernel may replace (rather than change in place) and returns, in order.
    """

    def __init__(
        self,
        name: str,
        *,
        params: Mapping[str, Declaration] | None = None,
        draws: tuple[str, ...] = (),
        counters: tuple[str, ...] = (),
        outputs: Mapping[str, tuple[str, float]] | None = None,
        memory: Mapping[str, float | str] | None = None,
        events: tuple[Event, ...] = (),
        modifiers: tuple[str, ...] = (),
        returns: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.params = dict(params or {})
        self.draws = tuple(draws)
        self.counters = tuple(counters)
        self.outputs = dict(outputs or {})
        self.memory = dict(memory or {})
        self.events = tuple(events)
        self.modifiers = tuple(modifiers)
        self.returns = tuple(returns)
        slots: list[str] = []
        self.param_slots: list[tuple[str, Source]] = []  # (slot name, spec) in vector order
        offsets: dict[str, int] = {}
        for local, spec in self.params.items():
            offsets[local] = len(slots)
            if isinstance(spec, Group):
                for suffix, part in zip(spec.suffixes, spec.parts):
                    slots.append(f"{local}_{suffix}")
                    self.param_slots.append((f"{local}[{suffix}]", part))
            else:
                slots.append(local)
                self.param_slots.append((local, spec))
        #: parameter indices into the kernel's ``p`` (a pair's index is A's slot; B's is the next)
        self.P = indices("P", offsets)
        self.n_params = len(slots)
        self.D = _names("D", self.draws)
        self.C = _names("C", self.counters)
        self.OUT = _names("OUT", self.outputs)
        self.G = _names("G", self.memory)
        self.E = _names("E", [e.name for e in self.events])
        for e in self.events:
            if len(e.fields) > 2:
                raise ValueError(f"{name}: event {e.name} has more than two details")

    # --- values for one run -------------------------------------------------------------------------------
    def pack(self, sc: Scenario, world: World) -> Floats:
        """The parameter vector the kernel reads, for scenario ``sc``."""
        return np.array([float(param_value(spec, sc, world)) for _, spec in self.param_slots], dtype=np.float64)

    def keys(self, seed: int) -> Keys:
        """The key of each draw site for a run seeded ``seed``."""
        return np.array([streams.site_key(seed, self.name, d) for d in self.draws], dtype=np.uint64)

    def output_defaults(self) -> Floats:
        return np.array([float(default) for _, default in self.outputs.values()], dtype=np.float64)

    def memory_initial(self, sc: Scenario) -> Floats:
        return np.array([float(sc[v] if isinstance(v, str) else v) for v in self.memory.values()], dtype=np.float64)

    def scenario_keys(self) -> set[str]:
        """Every scenario key the declaration reads directly."""
        out: set[str] = set()
        for spec in self.params.values():
            parts = spec.parts if isinstance(spec, Group) else (spec,)
            for part in parts:
                if isinstance(part, str):
                    out.add(part)
                elif isinstance(part, Choice):
                    out.add(part.key)
        return out

    def __repr__(self) -> str:
        return f"Mechanism({self.name!r})"


def param_value(spec: Source, sc: Scenario, world: World) -> float:
    """The value of one parameter declaration for scenario ``sc``."""
    if isinstance(spec, str):
        v = sc[spec]
        if isinstance(v, str):
            raise TypeError(f"{spec} is a choice: declare it with choice()")
        return float(v)
    if isinstance(spec, Derived):
        return float(spec.fn(sc, world))
    if isinstance(spec, Choice):
        return float(spec.codes[sc[spec.key]])
    if isinstance(spec, Switch):
        return 1.0 if sc[f"mechanisms.{spec.name}"] else 0.0
    raise TypeError(f"unknown parameter declaration {spec!r}")


@inline_kernel
def emit(ev: Floats, n_ev: Ints, kind: int, org: int, d0: float, d1: float) -> None:
    """Log an event of this submodel's ``kind`` (its index in ``events``) for ``org`` (-1 = both), with two
    details; the week kernel stamps the submodel."""
    r = n_ev[0]
    if r < ev.shape[0]:
        ev[r, 1] = kind
        ev[r, 2] = org
        ev[r, 3] = d0
        ev[r, 4] = d1
    n_ev[0] = r + 1  # counted even past the buffer's end, so the engine can tell it overflowed


def running_sum(values: Iterable[float]) -> float:
    """Left-to-right float sum, as the kernels add (Python 3.12's ``sum()`` compensates rounding, so its
    result can differ in the last bit); for the reference engine."""
    total = 0.0
    for x in values:
        total += x
    return total


@inline_kernel
def org_sum(values: Floats, present: Bools, lo: int, hi: int) -> float:
    """Sum of ``values[lo:hi]`` over filled posts, in four interleaved lanes (so that it runs at the speed of
    memory rather than of one chain of additions), combined as ``(lane 0 + lane 1) + (lane 2 + lane 3)``;
    element ``i`` goes to lane ``(i - lo) % 4``. :func:`lane_sum` adds the same way for the reference engine."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    i = lo
    while i + 3 < hi:
        a0 += values[i] if present[i] else 0.0
        a1 += values[i + 1] if present[i + 1] else 0.0
        a2 += values[i + 2] if present[i + 2] else 0.0
        a3 += values[i + 3] if present[i + 3] else 0.0
        i += 4
    if i < hi and present[i]:
        a0 += values[i]
    if i + 1 < hi and present[i + 1]:
        a1 += values[i + 1]
    if i + 2 < hi and present[i + 2]:
        a2 += values[i + 2]
    return (a0 + a1) + (a2 + a3)


@inline_kernel
def org_count(flags: Bools, present: Bools, lo: int, hi: int) -> float:
    """How many filled posts in rows ``lo:hi`` have ``flags`` set (exact in any order)."""
    c = 0.0
    for i in range(lo, hi):
        if present[i] and flags[i]:
            c += 1.0
    return c


def lane_sum(pairs: Iterable[tuple[int, float]], lo: int) -> float:
    """The reference engine's :func:`org_sum`: ``pairs`` of (row index, value) for the filled posts of one
    organisation whose first row is ``lo``, added in the same four lanes."""
    lanes = [0.0, 0.0, 0.0, 0.0]
    for i, v in pairs:
        lanes[(i - lo) % 4] += float(v)
    return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
