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
def cli(capsys):
    """``buddysim ARGS`` in this process: returns (exit status, stdout, stderr).

    For checking a command's output and its error messages, where a fresh interpreter adds only start-up
    time; an exception escaping ``main`` (what a user would see as a traceback) fails the test.
    """
    from sim.cli import main

    def call(*args):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's own usage errors, --help and --version
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return call


@pytest.fixture
def small() -> Scenario:
    """A small, fast scenario with every mechanism on and plenty of cross-organisation ties."""
    return Scenario(SMALL, name="small")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    """Compile (or load) the compiled engine's kernel once, before any test starts a subprocess or worker:
    they then load it from numba's on-disk cache instead of compiling it side by side."""
    from sim.model.compiled import warm_up

    warm_up()
