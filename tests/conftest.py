import os

import pytest
from hypothesis import HealthCheck, settings

from sim import Scenario

settings.register_profile("default", deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci", deadline=None, max_examples=30, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", deadline=None, max_examples=400, suppress_health_check=[HealthCheck.too_slow])
# HYPOTHESIS_PROFILE=thorough for a long bug hunt; CI is derandomized so a red run is reproducible.
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "default"))

SMALL = {
    "organisations.staff_a": 60,
    "organisations.staff_b": 90,
    "organisations.team_size": 10,
    "partnership.ties_per_100_staff": 40.0,
    "run.steps": 30,
}


@pytest.fixture
def small() -> Scenario:
    """A small, fast scenario with every mechanism on and plenty of cross-organisation ties."""
    return Scenario(SMALL, name="small")


def pytest_sessionstart(session):
    """Compile (or load) the compiled engine's kernel once, before any test starts a subprocess or worker:
    they then load it from numba's on-disk cache instead of compiling it side by side."""
    from sim.model.compiled import warm_up

    warm_up()
