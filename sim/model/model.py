"""BuddyingModel: the Mesa model of a buddying partnership between two NHS trusts.

A ``mesa.Model`` around a :class:`~sim.model.simulation.Simulation` on the compiled engine, with Mesa agents
that are views onto rows of its state arrays (:mod:`sim.model.agents`), for the browser UI and for users who
want to step a model and look at its agents. Batch runs use the Simulation directly (no Mesa import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from ..scenario import Scenario
from .agents import LeaderAgent, StaffAgent
from .outcomes import OutcomeTracker
from .params import World
from .simulation import Simulation
from .state import State
from .types import LoggedEvent, Metrics

if TYPE_CHECKING:
    import networkx as nx


class BuddyingModel(mesa.Model):
    """Two organisations, A (in difficulty) and B (the buddy), stepping one week at a time.

    Parameters
    ----------
    scenario:
        A :class:`~sim.scenario.Scenario` (default: all defaults).
    seed:
        Integer seed; defaults to the scenario's ``run.seed``.
    agent_views:
        Create Mesa ``StaffAgent``/``LeaderAgent`` views (``model.agents``); the dynamics do not depend on it.
    engine:
        ``"compiled"`` (default). The Mesa agents are views onto state arrays, which only the compiled engine
        keeps; use :class:`~sim.model.simulation.Simulation` for the reference engine.
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        seed: int | None = None,
        *,
        agent_views: bool = True,
        engine: str = "compiled",
    ) -> None:
        if engine != "compiled":
            raise ValueError("BuddyingModel runs the compiled engine; use sim.model.Simulation(engine='reference')")
        sc = scenario if scenario is not None else Scenario()
        seed = int(sc["run.seed"] if seed is None else seed)
        super().__init__(rng=seed)
        self.sim = Simulation(sc, seed, engine=engine)
        self.config = sc
        self.seed = seed
        self.engine = engine
        if agent_views:
            for i in range(self.state.n):
                StaffAgent(self, i)
            for i in range(self.state.l_org.size):
                LeaderAgent(self, i)

    # -- the week -----------------------------------------------------------------------------------------
    def step(self) -> None:
        self.sim.step()
        self.running = self.sim.week < self.sim.steps

    def run_to_end(self, steps: int | None = None) -> None:
        self.sim.run_to_end(steps)

    # -- read-outs (the Simulation's) -----------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self.sim.state

    @property
    def world(self) -> World:
        return self.sim.world

    P = world  # the name earlier versions used for the run's sizes and parameters

    @property
    def week(self) -> int:
        return self.sim.week

    @property
    def records(self) -> list[Metrics]:
        return self.sim.records

    @property
    def tracker(self) -> OutcomeTracker:
        return self.sim.tracker

    @property
    def events(self) -> list[LoggedEvent]:
        return self.sim.events

    @property
    def outcome(self) -> str:
        return self.sim.outcome

    @property
    def outcome_step(self) -> int | None:
        return self.sim.outcome_step

    @property
    def metrics(self) -> Metrics:
        """The latest week's metrics."""
        return self.sim.metrics

    def staff(self, org: str | None = None) -> mesa.AgentSet:
        """Staff agent views (optionally of one organisation, "A" or "B")."""
        agents = self.agents_by_type.get(StaffAgent)
        if agents is None:
            raise RuntimeError("this model was built with agent_views=False")
        return agents if org is None else agents.select(lambda a: a.org == org)

    def leaders(self, org: str | None = None) -> mesa.AgentSet:
        agents = self.agents_by_type.get(LeaderAgent)
        if agents is None:
            raise RuntimeError("this model was built with agent_views=False")
        return agents if org is None else agents.select(lambda a: a.org == org)

    def network(self, include_cross: bool = True) -> nx.Graph:
        from .networks import to_networkx

        return to_networkx(self.state, include_cross=include_cross)

    def snapshot(self) -> dict[str, np.ndarray]:
        """Copies of every state array (for tests and analysis)."""
        return self.sim.snapshot()
