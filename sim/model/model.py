"""BuddyingModel: the Mesa model of a buddying partnership between two NHS trusts."""

from __future__ import annotations

import mesa
import numpy as np

from ..scenario import Scenario
from . import engine as engine_module
from .agents import LeaderAgent, StaffAgent
from .engine import StepContext
from .outcomes import OutcomeTracker
from .params import derive
from .state import build_initial_state

ENGINES = ("compiled", "array")


def make_step(engine: str):
    """The weekly step of an engine by name (``"fast"`` is the array engine's former name)."""
    if engine == "compiled":
        from .compiled import CompiledStep

        return CompiledStep()
    if engine in ("array", "fast"):
        return engine_module.step
    raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")


class BuddyingModel(mesa.Model):
    """Two organisations, A (in difficulty) and B (the buddy), stepping one week at a time.

    Parameters
    ----------
    scenario:
        A :class:`~sim.scenario.Scenario` (default: all defaults).
    seed:
        Integer seed; defaults to the scenario's ``run.seed``. All randomness of
        the run comes from ``self.rng`` (one ``numpy.random.Generator``).
    agent_views:
        Create Mesa ``StaffAgent``/``LeaderAgent`` views (``model.agents``).
        Batch runs switch this off: the dynamics do not depend on it.
    engine:
        ``"compiled"`` (default: the week as one numba call, :mod:`sim.model.compiled`) or ``"array"``
        (numpy over whole arrays, :mod:`sim.model.engine`). Same rules, same random streams, same
        results (to the last bits of summed metrics).
    engine_step:
        A weekly step function to use instead (it may carry a ``measure`` method for the metrics).
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        seed: int | None = None,
        *,
        agent_views: bool = True,
        engine: str = "compiled",
        engine_step=None,
    ):
        sc = scenario if scenario is not None else Scenario()
        seed = int(sc["run.seed"] if seed is None else seed)
        super().__init__(rng=seed)
        self.config = sc
        self.seed = seed
        self.P = derive(sc)
        self.state = build_initial_state(self.P, self.rng)
        self.week = 0
        self.ctx = StepContext()
        self.tracker = OutcomeTracker.from_scenario(sc)
        self.engine = engine if engine_step is None else "custom"
        if engine_step is None:
            engine_step = make_step(engine)
        self._engine_step = engine_step
        self._measure = getattr(engine_step, "measure", engine_module.measure)
        self.records: list[dict] = []
        self._record()
        if agent_views:
            for i in range(self.state.n):
                StaffAgent(self, i)
            for i in range(self.state.l_org.size):
                LeaderAgent(self, i)

    # -- the week -----------------------------------------------------------------
    def step(self) -> None:
        self.week += 1
        self.ctx.reset(self.week)
        self._engine_step(self.state, self.P, self.rng, self.ctx)
        self._record()
        self.running = self.week < self.P.steps

    def _record(self) -> None:
        m = self._measure(self.state, self.P, self.ctx)
        self.tracker.update(self.week, m, self.ctx.events)
        m["step"] = self.week
        self.records.append(m)

    def run_to_end(self, steps: int | None = None) -> None:
        for _ in range(self.P.steps if steps is None else steps):
            self.step()

    # -- read-outs ----------------------------------------------------------------
    @property
    def events(self) -> list[dict]:
        return self.ctx.events

    @property
    def outcome(self) -> str:
        return self.tracker.outcome

    @property
    def outcome_step(self) -> int | None:
        return self.tracker.step

    @property
    def metrics(self) -> dict:
        """The latest week's metrics."""
        return self.records[-1]

    def staff(self, org: str | None = None):
        """Staff agent views (optionally of one organisation, "A" or "B")."""
        agents = self.agents_by_type.get(StaffAgent)
        if agents is None:
            raise RuntimeError("this model was built with agent_views=False")
        return agents if org is None else agents.select(lambda a: a.org == org)

    def leaders(self, org: str | None = None):
        agents = self.agents_by_type.get(LeaderAgent)
        if agents is None:
            raise RuntimeError("this model was built with agent_views=False")
        return agents if org is None else agents.select(lambda a: a.org == org)

    def network(self, include_cross: bool = True):
        from .networks import to_networkx

        return to_networkx(self.state, include_cross=include_cross)

    def snapshot(self) -> dict[str, np.ndarray]:
        """Copies of every state array (for tests and analysis)."""
        out = {k: np.array(v, copy=True) for k, v in vars(self.state).items() if v is not None}
        out.setdefault("present", np.ones(self.state.n, dtype=bool))
        return out
