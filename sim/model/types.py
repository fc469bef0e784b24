"""Types shared across the model: its arrays as the kernels and the engines see them, a week's metrics and
events, and what an engine provides.

The submodels' numba kernels are annotated with these (numba ignores annotations: they cost nothing at run
time and do not change what is compiled); mypy checks the kernels' bodies and every call between kernels
against them. ``NDArray`` does not say how many dimensions an array has: ``State.staff`` (one row per
attitude) and the event buffer are two-dimensional, every other array is a vector.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from ..scenario import Scenario
    from .params import World
    from .state import State

#: Real numbers: attitudes, parameter vectors, tie strengths, the world's numbers, outputs, memory.
type Floats = npt.NDArray[np.float64]
#: Counts, indices and weeks: tenure, tie ends, CSR pointers, counters, the event counter.
type Ints = npt.NDArray[np.int64]
#: Small codes: organisation (0 = A, 1 = B), role.
type Int8s = npt.NDArray[np.int8]
#: Flags: union membership, adoption, posts in post, interim seats.
type Bools = npt.NDArray[np.bool_]
#: 64-bit random-stream keys, one per draw site (:mod:`sim.model.streams`).
type Keys = npt.NDArray[np.uint64]
#: One stream key: a draw site's, or a site's key for one week (``week_key``).
type Key = np.uint64

#: One week's metrics by name (:data:`sim.model.metrics.METRICS`); counts are ints, which a type checker
#: accepts as floats.
type Metrics = dict[str, float]
#: One entry of the event log: ``step``, ``kind``, ``org`` ("A", "B" or None) and the kind's details (ints,
#: bools, rounded floats, strings), as the engines and the outcome tracker write it.
type LoggedEvent = dict[str, Any]


class Engine(Protocol):
    """What :class:`~sim.model.simulation.Simulation` needs of an engine (``CompiledEngine``, ``ReferenceEngine``)."""

    name: str
    world: World

    @property
    def state(self) -> State:
        """The current state as arrays."""
        ...

    def initial_metrics(self) -> Metrics: ...

    def step(self, t: int) -> tuple[Metrics, list[LoggedEvent]]:
        """Week ``t``: its metrics and the events it logged."""
        ...

    def world_value(self, name: str) -> float: ...

    def set_world(self, name: str, value: float) -> None: ...

    def set_scenario(self, sc: Scenario) -> None:
        """New parameter values from the next week on (a timeline action)."""
        ...

    def replace_leader(self, org: int, seat: int, interim: bool, t: int) -> None:
        """The executive in ``seat`` of ``org`` replaced now, by the succession rule (a timeline action)."""
        ...
