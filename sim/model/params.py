"""Scenario values turned into the per-week quantities the submodels use.

Natural units in the scenario (rates per year, times in weeks) are converted
once, here, so that no submodel converts units itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..scenario import MECHANISMS, Scenario

WEEKS_PER_YEAR = 52.0
ROLES = ("clinical", "managerial", "support")
ORGS = ("A", "B")
STANCES = {"partner": 1, "neutral": 0, "excluded": -1}


def weekly_prob(rate_per_year: float) -> float:
    """Chance of at least one event in a week for a Poisson rate given per year."""
    return 1.0 - math.exp(-rate_per_year / WEEKS_PER_YEAR)


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


@dataclass(frozen=True)
class Derived:
    """Everything a step needs, as plain floats and small numpy arrays."""

    sc: Scenario
    on: dict
    steps: int
    n_a: int  # rows of A (its posts; more than its staff when it will grow)
    n_b: int
    seats: int
    # leadership
    leave_prob: np.ndarray  # per org, weekly chance an executive leaves
    appoint_prob: float  # weekly chance an interim seat is filled (1 = immediate)
    visibility: np.ndarray  # per org
    commitment_mean: np.ndarray  # per org
    # joint working
    tie_meet_prob: float
    board_meet_prob: float
    base_logit: float
    # engagement
    engage_prob: float
    # initiative
    load: float
    # competition
    takeover: np.ndarray  # per org: perceived takeover threat
    threat: np.ndarray  # per org: competition (+) takeover
    loyalty_target: np.ndarray  # per org
    # staff
    leave_rate_week: float
    union_stance: int
    resistance_role: np.ndarray  # per role
    # initial partner trust, after history
    partner_trust_mean: float
    initial_ties: int
    # growth and decline (docs/ODD.md 7.10); headcount0 is None when headcounts are fixed
    headcount0: np.ndarray | None = None  # per org, staff in post at week 0
    growth_week: float = 1.0  # weekly factor of the target headcount

    def __getitem__(self, key: str):
        return self.sc[key]


def derive(sc: Scenario) -> Derived:
    on = {m: bool(sc[f"mechanisms.{m}"]) for m in MECHANISMS}
    n_a, n_b = sc["organisations.staff_a"], sc["organisations.staff_b"]
    growth = sc["staff.growth_per_year"]
    headcount0, rows_a, rows_b = None, n_a, n_b
    if growth != 0.0:
        headcount0 = np.array([n_a, n_b])
        if growth > 0.0:  # posts for the largest headcount the run will reach
            rows_a, rows_b = (posts(h, growth, sc["run.steps"]) for h in (n_a, n_b))

    interim = sc["leadership.interim_weeks"]
    appoint = 1.0 if interim <= 0 else min(1.0, 1.0 / interim)

    n_changes = sc["initiative.simultaneous_changes"]
    demand = n_changes * sc["initiative.method_difficulty"]
    load = demand / (demand + sc["initiative.change_capacity"])

    dominance = max(0.0, (n_b - n_a) / (n_a + n_b))
    takeover_a = sc["partnership.method_imposition"] * (0.5 + 0.5 * dominance)
    takeover = np.array([takeover_a, 0.0])
    comp = sc["system.competition"]
    if not on["competition"]:
        takeover = np.zeros(2)
        comp = 0.0
    threat = comp + takeover - comp * takeover
    l0 = sc["staff.loyalty"]
    loyalty_target = (1.0 - sc["system.place_identity"]) * (l0 + (1.0 - l0) * threat)

    history = sc["system.history"]
    pt = min(1.0, max(0.0, sc["staff.partner_trust"] + sc["system.history_trust_effect"] * history))
    proximity = sc["system.geographic_proximity"]
    if sc["partnership.bridge_scope"] == "leaders":
        initial_ties = 0
    else:
        initial_ties = int(
            round(sc["partnership.ties_per_100_staff"] * min(n_a, n_b) / 100.0 * proximity * (1.0 + history))
        )

    return Derived(
        sc=sc,
        on=on,
        steps=sc["run.steps"],
        n_a=rows_a,
        n_b=rows_b,
        seats=sc["leadership.exec_team_size"],
        leave_prob=np.array([weekly_prob(sc["leadership.turnover_a"]), weekly_prob(sc["leadership.turnover_b"])]),
        appoint_prob=appoint,
        visibility=np.array([sc["leadership.visibility_a"], sc["leadership.visibility_b"]]),
        commitment_mean=np.array([sc["leadership.commitment_a"], sc["leadership.commitment_b"]]),
        tie_meet_prob=weekly_prob(sc["partnership.meetings_per_year"] * proximity),
        board_meet_prob=weekly_prob(sc["partnership.board_meetings_per_year"]),
        base_logit=logit(sc["partnership.base_success"]),
        engage_prob=weekly_prob(sc["partnership.engagement_per_year"]),
        load=load,
        takeover=takeover,
        threat=threat,
        loyalty_target=loyalty_target,
        leave_rate_week=sc["staff.turnover_per_year"] / WEEKS_PER_YEAR,
        union_stance=STANCES[sc["staff.union_stance"]],
        resistance_role=np.array(
            [sc["staff.resistance_clinical"], sc["staff.resistance_managerial"], sc["staff.resistance_support"]]
        ),
        partner_trust_mean=pt,
        initial_ties=initial_ties,
        headcount0=headcount0,
        growth_week=(1.0 + growth) ** (1.0 / WEEKS_PER_YEAR),
    )


def target_headcount(headcount0: np.ndarray, growth_week: float, week: int) -> np.ndarray:
    """Staff each trust aims to have in post after week ``week`` (at least one)."""
    return np.maximum(np.rint(headcount0 * growth_week**week), 1).astype(np.int64)


def posts(headcount0: int, growth: float, steps: int) -> int:
    """Rows needed for a trust growing at ``growth`` a year over ``steps`` weeks."""
    return int(target_headcount(np.array([headcount0]), (1.0 + growth) ** (1.0 / WEEKS_PER_YEAR), steps)[0])
