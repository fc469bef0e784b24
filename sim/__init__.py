"""buddysim: agent-based simulation of buddying arrangements between NHS trusts.

Public API::

    from sim import load_scenario, run
    result = run(load_scenario("scenarios/baseline.toml"), seed=1)
    result.outcome, result.outcome_step, result.series, result.events
"""

from .model import ReferenceModel, Simulation
from .run import RunResult, iter_replications, replication_seed, run, run_replications
from .scenario import PARAMS, Scenario, ScenarioError, load_scenario, scenario_from_toml

__version__ = "0.1.0"

__all__ = [
    "PARAMS",
    "BuddyingModel",
    "ReferenceModel",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "__version__",
    "iter_replications",
    "load_scenario",
    "replication_seed",
    "run",
    "run_replications",
    "scenario_from_toml",
]


def __getattr__(name):
    if name == "BuddyingModel":  # the mesa.Model: imported on first use (Mesa takes ~1 s to import)
        from .model.model import BuddyingModel

        return BuddyingModel
    raise AttributeError(name)
