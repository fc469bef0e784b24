"""Units and the world's sizes: what every submodel shares.

Natural units in the scenario (rates per year, times in weeks) are converted by the helpers here; each
submodel declares the parameters it reads and derives in its own module (:mod:`sim.model.layout`).
:class:`World` holds only what is not any one submodel's: the sizes of the two trusts and their
executive teams, the horizon, which submodels are on, and the staff demography's headcount targets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..scenario import MECHANISMS, Scenario
from .types import Ints

WEEKS_PER_YEAR = 52.0
ROLES = ("clinical", "managerial", "support")
ROLE_CLINICAL, ROLE_MANAGERIAL, ROLE_SUPPORT = 0, 1, 2  # the codes of ROLES in the ``role`` array
ORGS = ("A", "B")
STANCES = {"partner": 1, "neutral": 0, "excluded": -1}
SCOPES = {"wide": 0, "managers": 1, "leaders": 2}


def weekly_prob(rate_per_year: float) -> float:
    """Chance of at least one event in a week for a Poisson rate given per year."""
    return 1.0 - math.exp(-rate_per_year / WEEKS_PER_YEAR)


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def partner_trust_mean(sc: Scenario) -> float:
    """Mean initial (and newcomers') trust in the partner: the baseline shifted by local history."""
    shifted: float = sc["staff.partner_trust"] + sc["system.history_trust_effect"] * sc["system.history"]
    return min(1.0, max(0.0, shifted))


@dataclass(frozen=True)
class World:
    """The sizes and switches of one run (everything else is a submodel's own declaration)."""

    sc: Scenario
    seed: int
    on: dict[str, bool]  # [mechanisms] switch -> on
    steps: int
    n_a: int  # rows of A (its posts; more than its staff when it will grow)
    n_b: int
    seats: int  # executive seats per organisation
    # growth and decline (docs/ODD.md 7.10); headcount0 is None when headcounts are fixed
    headcount0: Ints | None = None  # per org, staff in post at week 0
    growth_week: float = 1.0  # weekly factor of the target headcount

    def __getitem__(self, key: str) -> Any:
        return self.sc[key]

    @property
    def n(self) -> int:
        return self.n_a + self.n_b


def make_world(sc: Scenario, seed: int) -> World:
    on = {m: bool(sc[f"mechanisms.{m}"]) for m in MECHANISMS}
    n_a, n_b = sc["organisations.staff_a"], sc["organisations.staff_b"]
    growth = sc["staff.growth_per_year"]
    headcount0, rows_a, rows_b = None, n_a, n_b
    if growth != 0.0:
        headcount0 = np.array([n_a, n_b])
        if growth > 0.0:  # posts for the largest headcount the run will reach
            rows_a, rows_b = (posts(h, growth, sc["run.steps"]) for h in (n_a, n_b))
    return World(
        sc=sc,
        seed=int(seed),
        on=on,
        steps=sc["run.steps"],
        n_a=rows_a,
        n_b=rows_b,
        seats=sc["leadership.exec_team_size"],
        headcount0=headcount0,
        growth_week=(1.0 + growth) ** (1.0 / WEEKS_PER_YEAR),
    )


def target_headcount(headcount0: Ints, growth_week: float, week: int) -> Ints:
    """Staff each trust aims to have in post after week ``week`` (at least one)."""
    target: Ints = np.maximum(np.rint(headcount0 * growth_week ** float(week)), 1).astype(np.int64)
    return target


def posts(headcount0: int, growth: float, steps: int) -> int:
    """Rows needed for a trust growing at ``growth`` a year over ``steps`` weeks."""
    return int(target_headcount(np.array([headcount0]), (1.0 + growth) ** (1.0 / WEEKS_PER_YEAR), steps)[0])
