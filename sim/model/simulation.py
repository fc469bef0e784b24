"""One run of the model: the state, the week, the metrics and the outcome, on either engine.

:class:`Simulation` is the engine-independent shell every face uses (``sim.run``, sweeps, the tests). It has
no Mesa in it, so a batch run does not pay for importing Mesa; :class:`sim.model.model.BuddyingModel` wraps it
as a ``mesa.Model`` for the browser UI and for users who want Mesa agents.
"""

from __future__ import annotations

import numpy as np

from ..scenario import Scenario
from .mechanisms import staff_variables
from .outcomes import FAILED, OutcomeTracker
from .params import World, make_world
from .state import State, build_initial_state
from .types import Engine, LoggedEvent, Metrics

ENGINES = ("compiled", "reference")


def make_engine(name: str, world: World, state: State) -> Engine:
    """The engine by name: ``"compiled"`` (the default: a week as one numba call) or ``"reference"``."""
    if name == "compiled":
        from .compiled import CompiledEngine

        return CompiledEngine(world, state)
    if name == "reference":
        from .reference import ReferenceEngine

        return ReferenceEngine(world, state)
    raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {name!r}")


class Simulation:
    """Two organisations, A (in difficulty) and B (the buddy), stepping one week at a time.

    Parameters
    ----------
    scenario:
        A :class:`~sim.scenario.Scenario` (default: all defaults).
    seed:
        Integer seed; defaults to the scenario's ``run.seed``. Every random number of the run is a function
        of this seed, the mechanism, the draw site, the week and the agent's slot (:mod:`sim.model.streams`).
    engine:
        ``"compiled"`` (default) or ``"reference"`` (one agent at a time): same rules, same random numbers,
        same results.
    """

    def __init__(self, scenario: Scenario | None = None, seed: int | None = None, *, engine: str = "compiled") -> None:
        sc = scenario if scenario is not None else Scenario()
        self.config = sc
        self.seed = int(sc["run.seed"] if seed is None else seed)
        self.world = make_world(sc, self.seed)
        self.initial_state = build_initial_state(self.world, staff_variables())
        self.engine_name = engine
        self.engine = make_engine(engine, self.world, self.initial_state)
        self.week = 0
        self.tracker = OutcomeTracker.from_scenario(sc)
        self.events: list[LoggedEvent] = []
        self.records: list[Metrics] = []
        self._record(self.engine.initial_metrics())

    @property
    def state(self) -> State:
        """The current state as arrays (the compiled engine's own; a copy built from the reference's agents)."""
        return self.engine.state

    @property
    def steps(self) -> int:
        return self.world.steps

    def step(self) -> None:
        self.week += 1
        metrics, events = self.engine.step(self.week)
        self.events.extend(events)
        self._record(metrics)

    def _record(self, m: Metrics) -> None:
        self.tracker.update(self.week, m, self.events)
        if self.tracker.outcome == FAILED and self.engine.world_value("partnership_active") != 0.0:
            self.engine.set_world("partnership_active", 0.0)  # a failed partnership ends from next week (7.11)
        m["step"] = self.week
        self.records.append(m)

    def run_to_end(self, steps: int | None = None) -> None:
        for _ in range(self.world.steps if steps is None else steps):
            self.step()

    @property
    def outcome(self) -> str:
        return self.tracker.outcome

    @property
    def outcome_step(self) -> int | None:
        return self.tracker.step

    @property
    def metrics(self) -> Metrics:
        """The latest week's metrics."""
        return self.records[-1]

    def snapshot(self) -> dict[str, np.ndarray]:
        """Copies of every state array (for tests and analysis)."""
        return {k: np.array(v, copy=True) for k, v in self.state.arrays().items()}


def ReferenceModel(scenario: Scenario | None = None, seed: int | None = None) -> Simulation:
    """A :class:`Simulation` on the reference engine (the name tests and benchmarks know it by)."""
    return Simulation(scenario, seed, engine="reference")
