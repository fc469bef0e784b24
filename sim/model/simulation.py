"""One run of the model: the state, the week, the metrics and the outcome, on either engine.

:class:`Simulation` is the engine-independent shell every face uses (``sim.run``, sweeps, the tests). It has
no Mesa in it, so a batch run does not pay for importing Mesa; :class:`sim.model.model.BuddyingModel` wraps it
as a ``mesa.Model`` for the browser UI and for users who want Mesa agents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..scenario import Scenario
from .mechanisms import staff_variables
from .outcomes import FAILED, OutcomeTracker
from .params import World, make_world
from .state import State, build_initial_state
from .types import Engine, LoggedEvent, Metrics

if TYPE_CHECKING:
    from ..timeline import Action

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

    A scenario's ``[[timeline]]`` entries (:mod:`sim.timeline`) act here, for both engines alike: at the start of
    each week the entries due (at a week, or when a condition held on the week before's metrics) change
    parameters, replace an executive or end the partnership; each firing is logged (event kind ``timeline``) and
    counted in the week's ``timeline_actions`` metric. Parameter changes due at week 0 are folded into the
    scenario before anything is built, so they equal the same change written in the scenario file.

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

    runs_timelines = True  # both engines: the timeline acts through this shell

    def __init__(self, scenario: Scenario | None = None, seed: int | None = None, *, engine: str = "compiled") -> None:
        sc = scenario if scenario is not None else Scenario()
        self.seed = int(sc["run.seed"] if seed is None else seed)
        self.timeline = None
        first: list = []
        if sc.timeline:
            from ..timeline import TimelineRuntime, apply_to_scenario

            self.timeline = TimelineRuntime(sc.timeline)
            first = self.timeline.due(0, None)
            sc = apply_to_scenario(sc, first)  # week 0: as if written in the scenario file
        self.config = sc
        self.world = make_world(sc, self.seed)
        self.initial_state = build_initial_state(self.world, staff_variables())
        self.engine_name = engine
        self.engine = make_engine(engine, self.world, self.initial_state)
        self.week = 0
        self.tracker = OutcomeTracker.from_scenario(sc)
        self.events: list[LoggedEvent] = []
        self.records: list[Metrics] = []
        self._fired = 0
        for action in first:
            self._act(action, parameters_done=True)
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
        if self.timeline:
            for action in self.timeline.due(self.week, self.records[-1]):
                self._act(action)
        metrics, events = self.engine.step(self.week)
        self.events.extend(events)
        self._record(metrics)

    def _act(self, action: Action, parameters_done: bool = False) -> None:
        """Carry out one timeline action now (before this week's submodels), and log it."""
        from ..timeline import apply_to_scenario

        self.events.append(action.event(self.week))
        self._fired += 1
        if action.kind in ("set_parameters", "adjust_parameter"):
            if not parameters_done:
                self.config = apply_to_scenario(self.config, [action])
                self.engine.set_scenario(self.config)
        elif action.kind == "replace_leader":
            assert action.org is not None and action.seat is not None  # checked when the timeline was read
            self.engine.replace_leader("AB".index(action.org), action.seat, action.interim, self.week)
        elif action.kind == "buddy_withdraws":
            self.tracker.end(self.week, "board_b", f"the buddy (B) withdrew ({action.label})", self.events)
            self.engine.set_world("partnership_active", 0.0)
        else:
            raise ValueError(f"unknown timeline action {action.kind!r}")

    def _record(self, m: Metrics) -> None:
        m["timeline_actions"] = self._fired
        self._fired = 0
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
