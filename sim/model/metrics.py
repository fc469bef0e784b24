"""The per-week metrics every engine reports: names, order, kinds, and how they are measured.

Downstream code (sweeps, analysis, the UI) takes metric names from here, never from an engine. The list is
built from the declarations (docs/ODD.md 7.11): the mean of every staff attitude that names a metric (and of
adoption) over each trust's staff in post; headcounts, board commitment, interim seats and cross ties; each
submodel's outputs and counters (a counter named by two submodels adds up); and the three minima the outcome
reads.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from .jit import cached_kernel
from .layout import org_count, org_sum
from .mechanisms import declarations, staff_variables
from .state import WORLD_VARIABLES
from .types import Bools, Floats, Int8s, Ints, Metrics

_CORE = ("board_commitment", "interim_seats", "headcount")
MINIMA = {"trust_min": "partner_trust", "adoption_min": "adoption", "board_min": "board_commitment"}


class _Layout(TypedDict):
    names: tuple[str, ...]
    ints: frozenset[str]
    org: tuple[str, ...]
    metric_rows: Ints
    measured: int
    world_rows: Ints
    outputs: tuple[str, ...]
    counters: dict[str, tuple[int, ...]]


@cache
def _layout() -> _Layout:
    mechs = declarations()
    attitudes = tuple(v for v in staff_variables())
    org = [v.metric for v in attitudes if v.metric] + ["adoption"]
    metric_rows = np.array([k for k, v in enumerate(attitudes) if v.metric], dtype=np.int64)
    names = [f"{m}_{o}" for m in org for o in "ab"]
    ints = set()
    for m in _CORE:
        names += [f"{m}_a", f"{m}_b"]
    ints |= {"interim_seats_a", "interim_seats_b", "headcount_a", "headcount_b", "cross_ties"}
    names += ["cross_ties", "board_relationship"]
    measured = len(names)
    world = [(k, v.metric, v.kind) for k, v in enumerate(WORLD_VARIABLES) if v.metric]
    names += [metric for _, metric, _ in world]
    ints |= {metric for _, metric, kind in world if kind == "int"}
    outputs = []
    for mech in mechs:
        for name, (kind, _) in mech.outputs.items():
            outputs.append(name)
            if kind != "float":
                ints.add(name)
    counters: dict[str, list[int]] = {}
    offset = 0
    for mech in mechs:
        for k, name in enumerate(mech.counters):
            counters.setdefault(name, []).append(offset + k)
        offset += len(mech.counters)
    ints |= set(counters) | {"timeline_actions"}
    names += outputs + list(counters) + ["timeline_actions"] + list(MINIMA)
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise RuntimeError(f"metric names declared twice: {', '.join(dup)}")
    return {
        "names": tuple(names),
        "ints": frozenset(ints),
        "org": tuple(org),
        "metric_rows": metric_rows,
        "measured": measured,
        "world_rows": np.array([k for k, _, _ in world], dtype=np.int64),
        "outputs": tuple(outputs),
        "counters": {k: tuple(v) for k, v in counters.items()},
    }


def metric_names() -> tuple[str, ...]:
    return _layout()["names"]


def int_metrics() -> frozenset[str]:
    """Metrics that are counts (stored as integers)."""
    return _layout()["ints"]


def metric_rows() -> np.ndarray:
    """Rows of ``State.staff`` whose means are metrics, in metric order."""
    return _layout()["metric_rows"]


def measured_size() -> int:
    """Length of the vector :func:`measure_state` fills."""
    return _layout()["measured"]


def event_kinds() -> frozenset[str]:
    """Every kind of event a run can log: the submodels' declared events and the outcome tracker's."""
    from .outcomes import TRACKER_EVENTS

    return frozenset(e.name for d in declarations() for e in d.events) | TRACKER_EVENTS


if TYPE_CHECKING:  # made on first use by __getattr__ below (the submodels must be imported first)
    METRICS: tuple[str, ...]
    INT_METRICS: frozenset[str]
    EVENT_KINDS: frozenset[str]
    ORG_METRICS: tuple[str, ...]


def __getattr__(name: str) -> tuple[str, ...] | frozenset[str]:  # module-level lazy constants
    if name == "METRICS":
        return metric_names()
    if name == "INT_METRICS":
        return int_metrics()
    if name == "COUNTERS":  # metrics counted afresh each week (not levels)
        return tuple(_layout()["counters"])
    if name == "EVENT_KINDS":
        return event_kinds()
    if name == "ORG_METRICS":
        return _layout()["org"]
    raise AttributeError(name)


@cached_kernel
def measure_state(
    n_a: int,
    staff: Floats,
    metric_rows: Ints,
    adopted: Bools,
    present: Bools,
    org: Int8s,
    l_org: Int8s,
    l_commit: Floats,
    l_vacant: Bools,
    l_rel: Floats,
    n_ties: int,
    out: Floats,
) -> None:
    """Org means over the staff in post (attitude rows, then adoption), board commitment, interim seats,
    headcounts, cross ties and the executives' mean relationship, into ``out`` (the first
    :func:`measured_size` metrics, in order). A's staff are rows ``:n_a``, B's the rest."""
    n = org.size
    k = metric_rows.size
    heads = np.zeros(2)
    for i in range(n):
        if present[i]:
            heads[0 if i < n_a else 1] += 1.0
    j = 0
    for r in range(k):
        row = staff[metric_rows[r]]
        out[j] = org_sum(row, present, 0, n_a) / heads[0]
        out[j + 1] = org_sum(row, present, n_a, n) / heads[1]
        j += 2
    out[j] = org_count(adopted, present, 0, n_a) / heads[0]
    out[j + 1] = org_count(adopted, present, n_a, n) / heads[1]
    j += 2
    k_seats = l_org.size // 2
    board_a = 0.0
    board_b = 0.0
    interim_a = 0.0
    interim_b = 0.0
    for s in range(k_seats):
        board_a += l_commit[s]
        interim_a += 1.0 if l_vacant[s] else 0.0
    for s in range(k_seats, 2 * k_seats):
        board_b += l_commit[s]
        interim_b += 1.0 if l_vacant[s] else 0.0
    out[j] = board_a / k_seats
    out[j + 1] = board_b / k_seats
    out[j + 2] = interim_a
    out[j + 3] = interim_b
    out[j + 4] = heads[0]
    out[j + 5] = heads[1]
    out[j + 6] = n_ties
    rel = 0.0
    for s in range(l_rel.size):
        rel += l_rel[s]
    out[j + 7] = rel / l_rel.size


def assemble(measured: Floats, outputs: Floats, counts: Ints, world: Floats) -> Metrics:
    """The week's metrics as a dict in :data:`METRICS` order, from the measured state vector, the world
    variables, the submodels' outputs (in declaration order) and their counters (each submodel's slice)."""
    lay = _layout()
    ints = lay["ints"]
    names = lay["names"]
    values = measured.tolist()
    values += world[lay["world_rows"]].tolist()
    values += outputs.tolist()
    c = counts.tolist()
    values += [sum(c[i] for i in idx) for idx in lay["counters"].values()]
    values.append(0)  # timeline_actions: the run's shell counts the timeline's firings (sim.model.simulation)
    out: Metrics = {}
    for name, value in zip(names, values):
        out[name] = int(value) if name in ints and value == value else value
    for name, metric in MINIMA.items():
        out[name] = min(out[f"{metric}_a"], out[f"{metric}_b"])
    return out
