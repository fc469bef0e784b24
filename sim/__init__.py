"""buddysim: agent-based simulation of buddying arrangements between NHS trusts.

Public API::

    from sim import load_scenario, run
    result = run(load_scenario("baseline"), seed=1)      # a bundled scenario by name, or a file path
    result.outcome, result.outcome_step, result.series, result.events

Importing ``sim`` is cheap (the scenario schema only): the model, numpy, pandas and Mesa load when
first used, so that ``buddysim validate`` and ``buddysim params`` start at once.
"""

from typing import TYPE_CHECKING, Any

from .run import RunResult, iter_replications, replication_seed, run, run_replications
from .scenario import (
    PARAMS,
    Scenario,
    ScenarioError,
    bundled_scenarios,
    load_scenario,
    scenario_from_toml,
    scenario_path,
)

#: The one source of the version: pyproject.toml reads it (dynamic version), and so do the CLI
#: (--version), run summaries, sweep manifests; CITATION.cff repeats it (a test checks they agree).
__version__ = "0.1.0"

if TYPE_CHECKING:
    from .model import BuddyingModel, ReferenceModel, Simulation

#: Names loaded on first use (the model imports numba and the compiled engine; BuddyingModel also Mesa).
_LAZY = {"BuddyingModel": "sim.model", "ReferenceModel": "sim.model", "Simulation": "sim.model"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "PARAMS",
    "BuddyingModel",
    "ReferenceModel",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "__version__",
    "bundled_scenarios",
    "iter_replications",
    "load_scenario",
    "replication_seed",
    "run",
    "run_replications",
    "scenario_from_toml",
    "scenario_path",
]
