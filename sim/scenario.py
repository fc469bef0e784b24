"""Scenario schema: every parameter's default, unit, range and meaning; TOML loading.

A scenario file is *data*: it is parsed with :mod:`tomllib` and checked against
the schema below; nothing in it is ever evaluated. A file states only what it
changes; everything else takes the default listed here (``buddysim params``
prints this table, and ``docs/ODD.md`` explains each parameter's role).

Keys are addressed as ``section.name`` (for example ``leadership.turnover_a``).
Parameters that differ between the two organisations carry the suffix ``_a``
(organisation A, the trust in difficulty) or ``_b`` (organisation B, the buddy).
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ScenarioError(ValueError):
    """A scenario (file or mapping) that does not fit the schema.

    ``str(err)`` is a complete, user-facing message naming the source, the key
    path and what is allowed.
    """

    def __init__(self, source: str, key: str | None, message: str):
        self.source = source
        self.key = key
        self.message = message
        where = f"{printable(source, 300)}: " if source else ""
        at = f"{printable(key, 120)}: " if key else ""
        super().__init__(f"{where}{at}{message}")


def printable(text: Any, limit: int = 120) -> str:
    """``text`` as it may be shown in a message: control characters (a NUL, a terminal escape) written as escapes,
    and cut to ``limit`` characters (a key or a path from a file is data, echoed but never obeyed)."""
    s = str(text)
    if not s.isprintable():
        s = "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)
    return s if len(s) <= limit else s[: limit - 3] + "..."


@dataclass(frozen=True)
class Param:
    section: str
    name: str
    default: Any
    unit: str
    doc: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"

    @property
    def kind(self) -> type:
        return type(self.default)

    def allowed(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind is bool:
            return "true or false"
        kind = "an integer" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            return f"{kind} from {_fmt(self.low)} to {_fmt(self.high)}"
        if self.low is not None:
            return f"{kind} >= {_fmt(self.low)}"
        return kind


def _fmt(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _p(
    section: str,
    name: str,
    default: Any,
    unit: str,
    doc: str,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[str, ...] | None = None,
) -> Param:
    return Param(section, name, default, unit, doc, low, high, choices)


FRACTION = "fraction 0-1"
#: Sections in the order a policy reader meets them.
SECTIONS = (
    "run",
    "organisations",
    "leadership",
    "partnership",
    "staff",
    "initiative",
    "culture",
    "system",
    "quality",
    "regulator",
    "outcome",
    "mechanisms",
)

# One line per parameter: the schema reads as a table.
# fmt: off
PARAMS: tuple[Param, ...] = (
    # --- run -------------------------------------------------------------------
    _p("run", "steps", 208, "weeks", "Horizon: number of weekly steps (208 = four years).", 1, 5200),
    _p("run", "seed", 20130716, "-", "Seed of the run's random number generator.", 0, 2**63 - 1),
    # --- organisations ---------------------------------------------------------
    _p("organisations", "staff_a", 1000, "people", "Staff of A, the trust in difficulty.", 2, 5_000_000),
    _p("organisations", "staff_b", 1500, "people", "Staff of B, the buddy trust.", 2, 5_000_000),
    _p("organisations", "team_size", 20, "people", "Staff per team (the last team of an organisation may be smaller).", 2, 1000),
    _p("organisations", "teams_per_department", 6, "teams", "Teams per department; rewired ties stay inside a department.", 1, 100_000),
    _p("organisations", "team_degree", 6, "ties", "Work ties per person inside the team before rewiring (ring lattice, rounded down to even).", 2, 200),
    _p("organisations", "rewire_prob", 0.1, "probability", "Chance each team tie is rewired to a random colleague in the same department (Watts-Strogatz).", 0.0, 1.0),
    _p("organisations", "share_clinical", 0.6, FRACTION, "Share of staff in clinical roles.", 0.0, 1.0),
    _p("organisations", "share_managerial", 0.1, FRACTION, "Share of staff in managerial roles (support staff are the rest).", 0.0, 1.0),
    _p("organisations", "culture_a", 0.35, FRACTION, "Mean initial improvement culture in A.", 0.0, 1.0),
    _p("organisations", "culture_b", 0.6, FRACTION, "Mean initial improvement culture in B.", 0.0, 1.0),
    _p("organisations", "adoption_a", 0.05, FRACTION, "Share of A's staff already using the shared improvement method at the start.", 0.0, 1.0),
    _p("organisations", "adoption_b", 0.4, FRACTION, "Share of B's staff already using the shared improvement method at the start.", 0.0, 1.0),
    _p("organisations", "attitude_sd", 0.1, "sd (0-1 scale)", "Spread of initial attitudes around each mean (Beta distributions).", 0.0, 0.45),
    # --- leadership ------------------------------------------------------------
    _p("leadership", "exec_team_size", 7, "leaders", "Executive seats per organisation; seat 0 is the chief executive.", 1, 100),
    _p("leadership", "turnover_a", 0.75, "per year", "Departure rate of each of A's executives (0.75/yr = median tenure ~11 months).", 0.0, 52.0),
    _p("leadership", "turnover_b", 0.23, "per year", "Departure rate of each of B's executives (0.23/yr = median tenure ~3 years).", 0.0, 52.0),
    _p("leadership", "interim_weeks", 26.0, "weeks", "Mean time a vacated seat is held by an interim before a permanent appointment (0 = immediate).", 0.0, 520.0),
    _p("leadership", "visibility_a", 0.3, "per week", "Chance a member of A's staff sees or hears their leaders in a week.", 0.0, 1.0),
    _p("leadership", "visibility_b", 0.5, "per week", "Chance a member of B's staff sees or hears their leaders in a week.", 0.0, 1.0),
    _p("leadership", "interim_visibility", 0.5, "multiplier", "Visibility of an interim relative to a permanent leader.", 0.0, 1.0),
    _p("leadership", "commitment_a", 0.6, FRACTION, "Mean commitment to the partnership of A's permanent leaders (board trust).", 0.0, 1.0),
    _p("leadership", "commitment_b", 0.6, FRACTION, "Mean commitment to the partnership of B's permanent leaders (board trust).", 0.0, 1.0),
    _p("leadership", "commitment_sd", 0.1, "sd (0-1 scale)", "Spread of commitment among newly appointed leaders.", 0.0, 0.45),
    _p("leadership", "interim_commitment", 0.4, FRACTION, "Commitment of an interim to a partnership they did not choose.", 0.0, 1.0),
    _p("leadership", "departure_shock", 0.03, FRACTION, "Share of staff trust in own leadership lost when an executive leaves.", 0.0, 0.3),
    _p("leadership", "ceo_multiplier", 3.0, "multiplier", "How much more a chief executive's departure shocks staff than another executive's.", 1.0, 10.0),
    _p("leadership", "message_alignment", 0.5, FRACTION, "How far the two boards agree one message about the partnership (1 = one joint message).", 0.0, 1.0),
    _p("leadership", "message_noise", 0.2, "sd (0-1 scale)", "Week-to-week inconsistency of each board's message.", 0.0, 1.0),
    _p("leadership", "conflict_threshold", 0.2, "gap (0-1)", "Gap between the two boards' messages logged as a message conflict.", 0.0, 1.0),
    _p("leadership", "message_influence", 0.1, FRACTION, "Share of the gap between a staff member's trust and the message closed per message heard.", 0.0, 0.5),
    _p("leadership", "conflict_cost", 0.1, FRACTION, "Share of trust in the process lost per message heard, per unit gap between the boards' messages.", 0.0, 0.5),
    _p("leadership", "succession", "fresh", "-", "What a new executive (interim or permanent) brings to the board's commitment to the partnership: a view of their own (fresh), the board's current commitment (inherited: organisational memory), or either (insider_outsider: insiders inherit, outsiders bring their own).", choices=("fresh", "inherited", "insider_outsider")),
    _p("leadership", "insider_share", 0.5, FRACTION, "Share of executive appointments filled from inside the organisation (succession = insider_outsider).", 0.0, 1.0),
    _p("leadership", "relationship_initial", 0.3, FRACTION, "Initial strength of the personal relationships between the two executive teams.", 0.0, 1.0),
    _p("leadership", "relationship_gain", 0.15, FRACTION, "Share of the way to a full relationship each executive gains at a successful joint board meeting.", 0.0, 1.0),
    _p("leadership", "relationship_loss", 0.1, FRACTION, "Share of each executive's relationship lost at a failed joint board meeting.", 0.0, 1.0),
    _p("leadership", "relationship_weight", 2.0, "log-odds per unit", "Effect of the executive teams' mean relationship (above 0.5) on a joint board meeting's success.", 0.0, 20.0),
    # --- partnership -----------------------------------------------------------
    _p("partnership", "bridge_scope", "wide", "-", "Who works across the partnership: leaders only (board meetings), managers, or any staff.", choices=("leaders", "managers", "wide")),
    _p("partnership", "ties_per_100_staff", 4.0, "ties per 100 staff", "Initial cross-organisation ties per 100 staff of the smaller trust, at full proximity and neutral history.", 0.0, 10000.0),
    _p("partnership", "meetings_per_year", 24.0, "per year", "Joint-working contacts per cross-organisation tie per year at full proximity.", 0.0, 365.0),
    _p("partnership", "board_meetings_per_year", 12.0, "per year", "Joint board meetings per year.", 0.0, 52.0),
    _p("partnership", "base_success", 0.85, "probability", "Chance a joint-working encounter succeeds at neutral conditions.", 0.01, 0.99),
    _p("partnership", "success_trust_weight", 3.0, "log-odds per unit", "Effect of the pair's mean partner trust (above 0.5) on success.", 0.0, 20.0),
    _p("partnership", "success_distance_weight", 2.0, "log-odds per unit", "Penalty for the culture distance between the two people (or boards).", 0.0, 20.0),
    _p("partnership", "success_fatigue_weight", 1.5, "log-odds per unit", "Penalty for the pair's mean change fatigue.", 0.0, 20.0),
    _p("partnership", "success_competition_weight", 1.0, "log-odds per unit", "Penalty for competition incentives between the trusts.", 0.0, 20.0),
    _p("partnership", "success_alignment_weight", 1.5, "log-odds per unit", "Effect of regulatory alignment (above 0.5) on success.", 0.0, 20.0),
    _p("partnership", "success_takeover_weight", 1.0, "log-odds per unit", "Penalty for perceived takeover of A by B.", 0.0, 20.0),
    _p("partnership", "contact_rule", "asymmetric", "-", "How an encounter across the partnership turns out: from the pair's trust and the conditions (asymmetric), or from Allport's contact conditions (allport: equal status, common goals, cooperation, authority support).", choices=("asymmetric", "allport")),
    _p("partnership", "conditions_weight", 4.0, "log-odds per unit", "Allport rule: effect of the contact conditions (above 0.5) on an encounter's success.", 0.0, 20.0),
    _p("partnership", "success_process_weight", 1.0, "log-odds per unit", "Effect of the pair's mean trust in the process (above 0.5) on an encounter's success (procedural justice).", 0.0, 20.0),
    _p("partnership", "trust_gain", 0.05, FRACTION, "Share of the remaining distrust removed by a successful encounter.", 0.0, 1.0),
    _p("partnership", "trust_loss", 0.1, FRACTION, "Share of trust lost by a failed encounter (trust is lost faster than gained).", 0.0, 1.0),
    _p("partnership", "tie_gain", 0.2, FRACTION, "Strengthening of a tie by a successful encounter (share of the remainder).", 0.0, 1.0),
    _p("partnership", "tie_decay", 0.02, "per week", "Weakening of a tie in a week without a successful encounter.", 0.0, 1.0),
    _p("partnership", "tie_floor", 0.05, "strength", "A tie weaker than this is lost.", 0.0, 1.0),
    _p("partnership", "tie_initial", 0.5, "strength", "Strength of a new tie.", 0.0, 1.0),
    _p("partnership", "tie_growth_prob", 0.1, "probability", "Chance a successful encounter introduces a colleague of one side to the other person.", 0.0, 1.0),
    _p("partnership", "method_imposition", 0.5, FRACTION, "0 = improvement method co-designed, 1 = B's method imposed on A.", 0.0, 1.0),
    _p("partnership", "engagement_authenticity", 0.6, FRACTION, "How authentic staff engagement is (0 tokenistic, 1 authentic).", 0.0, 1.0),
    _p("partnership", "engagement_per_year", 6.0, "per year", "Engagement activities reaching each member of staff per year.", 0.0, 52.0),
    _p("partnership", "engagement_influence", 0.15, FRACTION, "Share of the gap between trust in the process and authenticity closed per activity.", 0.0, 1.0),
    _p("partnership", "post_exit_contact", 0.3, "multiplier", "Joint working (staff encounters and board meetings) after A exits special measures, relative to before: the buddy steps back.", 0.0, 1.0),
    _p("partnership", "buddy_capacity", 2.0, "encounters per B staff per year", "Support B can give without strain, as joint-working encounters per member of B's staff per year.", 0.01, 1000.0),
    _p("partnership", "strain_weeks", 13.0, "weeks", "Time for B's strain to follow its support load.", 1.0, 520.0),
    _p("partnership", "strain_cost", 0.02, "per week", "Erosion of B's board commitment per week per unit of strain above capacity.", 0.0, 1.0),
    _p("partnership", "success_bonus", 1.0, "commitment per unit quality", "Change in B's board commitment per unit change in A's quality of care: the reward when help produces results, a loss when A declines.", 0.0, 20.0),
    # --- staff -----------------------------------------------------------------
    _p("staff", "partner_trust", 0.45, FRACTION, "Mean initial trust in the partner organisation (before history).", 0.0, 1.0),
    _p("staff", "leader_trust_a", 0.4, FRACTION, "Mean initial trust of A's staff in their leadership and the process.", 0.0, 1.0),
    _p("staff", "leader_trust_b", 0.6, FRACTION, "Mean initial trust of B's staff in their leadership and the process.", 0.0, 1.0),
    _p("staff", "loyalty", 0.6, FRACTION, "Baseline loyalty to own organisation (absent threat).", 0.0, 1.0),
    _p("staff", "newcomer_loyalty", 0.3, FRACTION, "Loyalty of a newly hired member of staff.", 0.0, 1.0),
    _p("staff", "turnover_per_year", 0.12, "per year", "Base leaving rate of staff (trust-level turnover 10-15%/yr).", 0.0, 10.0),
    _p("staff", "turnover_trust_sensitivity", 1.5, "log-rate per unit", "Rise in the leaving rate per unit of trust in leadership below 0.5.", 0.0, 10.0),
    _p("staff", "turnover_fatigue_sensitivity", 1.5, "log-rate per unit", "Rise in the leaving rate per unit of change fatigue above 0.5.", 0.0, 10.0),
    _p("staff", "hire_culture_a", 0.4, FRACTION, "Mean improvement culture of people A recruits.", 0.0, 1.0),
    _p("staff", "hire_culture_b", 0.6, FRACTION, "Mean improvement culture of people B recruits.", 0.0, 1.0),
    _p("staff", "growth_per_year", 0.0, "per year", "Net change of each trust's headcount a year (0.2 = grows 20%/yr; -0.2 = shrinks by not replacing leavers). Not 0: only the demography submodels may be on.", -0.9, 2.0),
    _p("staff", "socialisation_rate", 0.1, "per week", "Pull of the organisation's mean culture on a newcomer in their first week.", 0.0, 1.0),
    _p("staff", "socialisation_weeks", 13.0, "weeks", "Time for socialisation pressure to fall by a factor e.", 0.1, 520.0),
    _p("staff", "union_density", 0.4, FRACTION, "Share of staff who are trade-union members.", 0.0, 1.0),
    _p("staff", "union_stance", "neutral", "-", "Unions' part in the partnership.", choices=("partner", "neutral", "excluded")),
    _p("staff", "union_amplification", 0.5, FRACTION, "How strongly unions amplify engagement (partner) or resistance (excluded).", 0.0, 1.0),
    _p("staff", "resistance_clinical", 0.3, FRACTION, "Resistance to the method among clinicians.", 0.0, 1.0),
    _p("staff", "resistance_managerial", 0.2, FRACTION, "Resistance to the method among managers.", 0.0, 1.0),
    _p("staff", "resistance_support", 0.1, FRACTION, "Resistance to the method among support staff.", 0.0, 1.0),
    # --- initiative ------------------------------------------------------------
    _p("initiative", "simultaneous_changes", 3, "changes", "Improvement initiatives running at once.", 0, 100),
    _p("initiative", "method_difficulty", 0.5, FRACTION, "How hard the improvement method is to use.", 0.0, 1.0),
    _p("initiative", "change_capacity", 3.0, "changes", "Difficulty-weighted changes at which load is one half.", 0.01, 100.0),
    _p("initiative", "fatigue_rate", 0.03, "per week", "Growth of change fatigue under full load.", 0.0, 1.0),
    _p("initiative", "recovery_rate", 0.03, "per week", "Recovery from change fatigue with no load.", 0.0, 1.0),
    _p("initiative", "adoption_rate", 0.05, "per week", "Top weekly chance a non-user adopts the shared method.", 0.0, 1.0),
    _p("initiative", "abandon_rate", 0.02, "per week", "Top weekly chance a user abandons it.", 0.0, 1.0),
    _p("initiative", "adoption_bias", 2.0, "log-odds", "Readiness to adopt of a neutral person with no fatigue or resistance (intercept).", -10.0, 10.0),
    _p("initiative", "adoption_culture_weight", 4.0, "log-odds per unit", "Effect of improvement culture (above 0.5) on readiness to adopt.", 0.0, 20.0),
    _p("initiative", "adoption_trust_weight", 3.0, "log-odds per unit", "Effect of trust in leadership and the process (above 0.5).", 0.0, 20.0),
    _p("initiative", "adoption_fatigue_weight", 3.0, "log-odds per unit", "Penalty for change fatigue.", 0.0, 20.0),
    _p("initiative", "adoption_difficulty_weight", 2.0, "log-odds per unit", "Penalty for the method's difficulty.", 0.0, 20.0),
    _p("initiative", "adoption_resistance_weight", 3.0, "log-odds per unit", "Penalty for resistance (role and union).", 0.0, 20.0),
    _p("initiative", "adoption_alignment_weight", 2.0, "log-odds per unit", "Effect of regulatory alignment (above 0.5).", 0.0, 20.0),
    _p("initiative", "adoption_peer_weight", 3.0, "log-odds per unit", "Effect of the share of a person's contacts (colleagues and partners across the partnership) who use the method (above 0.5).", 0.0, 20.0),
    _p("initiative", "adoption_partner_weight", 1.0, "log-odds per unit", "Effect of trust in the partner (above 0.5): the shared method comes through the partnership.", 0.0, 20.0),
    _p("initiative", "adoption_support_weight", 1.0, "log-odds", "Readiness added while A is in special measures (improvement director, resources, scrutiny), for A's staff.", 0.0, 20.0),
    # --- culture ---------------------------------------------------------------
    _p("culture", "mixing", "network", "-", "Who meets whom for peer influence: the work networks, or random pairs (well mixed).", choices=("network", "well_mixed")),
    _p("culture", "confidence_bound", 0.3, "distance (0-1)", "Deffuant bound d: people influence each other only if their cultures differ by less.", 0.0, 1.0),
    _p("culture", "convergence", 0.3, "fraction 0-0.5", "Deffuant convergence rate mu.", 0.0, 0.5),
    _p("culture", "extended_contact", 0.1, FRACTION, "Share of the difference in trust in the partner closed when two colleagues of the same trust are paired: views of the partner spread from those who work with it (extended contact).", 0.0, 0.5),
    _p("culture", "embedding_weeks", 104.0, "weeks", "Time constant for practising the method to shift a person's culture.", 1.0, 100000.0),
    # --- system ----------------------------------------------------------------
    _p("system", "competition", 0.5, FRACTION, "Strength of competition incentives between the trusts (perverse incentives).", 0.0, 1.0),
    _p("system", "regulatory_alignment", 0.5, FRACTION, "Alignment of the improvement method with the regulators' priorities.", 0.0, 1.0),
    _p("system", "history", 0.0, "-1 to 1", "Local history between the trusts: -1 rivalry, 0 none, +1 goodwill.", -1.0, 1.0),
    _p("system", "history_trust_effect", 0.2, "trust per unit", "Shift of initial partner trust per unit of history.", 0.0, 0.5),
    _p("system", "geographic_proximity", 0.5, FRACTION, "How easily staff of the two trusts can meet (1 = same site).", 0.0, 1.0),
    _p("system", "place_identity", 0.2, FRACTION, "Strength of a shared place-based identity against organisational loyalty.", 0.0, 1.0),
    _p("system", "loyalty_rate", 0.05, "per week", "Speed at which loyalty moves to its threat-driven target.", 0.0, 1.0),
    _p("system", "suspicion_rate", 0.01, "per week", "Erosion of partner trust per unit loyalty x threat.", 0.0, 1.0),
    # --- quality ---------------------------------------------------------------
    _p("quality", "quality_a", 0.3, FRACTION, "Quality of care in A at the start (0 failing, 1 outstanding).", 0.0, 1.0),
    _p("quality", "quality_b", 0.7, FRACTION, "Quality of care in B at the start.", 0.0, 1.0),
    _p("quality", "quality_weeks", 52.0, "weeks", "Time constant for quality of care to follow what the trust's state supports (time for improvement to embed).", 1.0, 1040.0),
    _p("quality", "floor", 0.1, FRACTION, "Quality of care a trust supports with every component at zero.", 0.0, 1.0),
    _p("quality", "ceiling", 0.9, FRACTION, "Quality of care a trust supports with every component at its best.", 0.0, 1.0),
    _p("quality", "weight_adoption", 0.4, "weight", "Weight of the share of staff using the improvement method in the quality a trust supports.", 0.0, 1.0),
    _p("quality", "weight_culture", 0.2, "weight", "Weight of the staff's improvement culture.", 0.0, 1.0),
    _p("quality", "weight_leadership", 0.2, "weight", "Weight of leadership stability (share of executive seats held permanently).", 0.0, 1.0),
    _p("quality", "weight_staffing", 0.2, "weight", "Weight of effective staffing (posts filled and staff not off sick).", 0.0, 1.0),
    _p("quality", "alignment_share", 0.5, FRACTION, "Share of the method's effect on quality that counts only as far as the method is aligned with the regulator's priorities.", 0.0, 1.0),
    _p("quality", "sickness_base", 0.045, FRACTION, "Share of staff off sick with no change fatigue (NHS sickness absence ~4-5%).", 0.0, 0.5),
    _p("quality", "sickness_fatigue", 0.1, FRACTION, "Extra share off sick at full change fatigue.", 0.0, 0.5),
    _p("quality", "strain_weight", 0.3, "quality per unit strain", "Quality B loses per unit of strain above its capacity.", 0.0, 1.0),
    # --- regulator -------------------------------------------------------------
    _p("regulator", "first_inspection_weeks", 52.0, "weeks", "From entering special measures to the first re-inspection (CQC: usually within 12 months).", 1.0, 520.0),
    _p("regulator", "reinspection_weeks", 26.0, "weeks", "Between inspections while in special measures (CQC: 6 more months).", 1.0, 520.0),
    _p("regulator", "monitoring_weeks", 104.0, "weeks", "Between inspections after A has exited special measures.", 1.0, 1040.0),
    _p("regulator", "exit_quality", 0.5, FRACTION, "Judged quality of care at or above which the inspectors recommend exit.", 0.0, 1.0),
    _p("regulator", "progress_quality", 0.05, "quality", "Improvement since entry below which the inspectors find no significant progress (and escalate).", 0.0, 1.0),
    _p("regulator", "reentry_quality", 0.35, FRACTION, "Judged quality below which a trust that has exited is placed back in special measures.", 0.0, 1.0),
    _p("regulator", "inspection_noise", 0.05, "sd (quality)", "Spread of the inspectors' judgement around the true quality of care.", 0.0, 0.5),
    _p("regulator", "escalation_replacements", 3, "executives", "Executives of A replaced (chief executive first) when the inspectors find no significant progress.", 0, 100),
    _p("regulator", "max_escalations", 2, "escalations", "Escalations after which the regulator ends the partnership (A gets a new buddy).", 1, 100),
    # --- outcome ---------------------------------------------------------------
    _p("outcome", "bed_in_trust", 0.55, FRACTION, "Partner trust (lower of the two trusts' staff means) needed to bed in.", 0.0, 1.0),
    _p("outcome", "bed_in_adoption", 0.4, FRACTION, "Adoption of the shared method (lower of the two trusts) needed to bed in.", 0.0, 1.0),
    _p("outcome", "bed_in_weeks", 26, "weeks", "How long both must hold for the partnership to have bedded in.", 1, 5200),
    _p("outcome", "fail_floor", 0.3, FRACTION, "Staff partner trust or board commitment (either trust) below which the partnership is at risk.", 0.0, 1.0),
    _p("outcome", "fail_weeks", 13, "weeks", "How long below the floor before the partnership is dissolved.", 1, 5200),
    _p("outcome", "exodus_rate", 0.3, "per year", "A's staff leaving rate (last 26 weeks, annualised) above which the partnership fails: a staff exodus.", 0.0, 52.0),
    # --- mechanisms ------------------------------------------------------------
    _p("mechanisms", "leadership_turnover", True, "switch", "Executive departures, interims and appointments."),
    _p("mechanisms", "messaging", True, "switch", "Boards' messages about the partnership and their alignment."),
    _p("mechanisms", "engagement", True, "switch", "Staff engagement activities (authentic or tokenistic)."),
    _p("mechanisms", "unions", True, "switch", "Trade unions amplifying engagement or resistance."),
    _p("mechanisms", "initiative_load", True, "switch", "Load of simultaneous changes and change fatigue."),
    _p("mechanisms", "joint_working", True, "switch", "Encounters across the partnership (staff and boards), trust updating, tie dynamics."),
    _p("mechanisms", "competition", True, "switch", "Competition, takeover threat, loyalty and out-group suspicion."),
    _p("mechanisms", "peer_influence", True, "switch", "Bounded-confidence influence on improvement culture (Deffuant)."),
    _p("mechanisms", "adoption", True, "switch", "Adopting and abandoning the shared improvement method."),
    _p("mechanisms", "embedding", True, "switch", "Practising the method slowly shifting culture."),
    _p("mechanisms", "staff_turnover", True, "switch", "Staff leaving, replacement hiring and socialisation."),
    _p("mechanisms", "quality", True, "switch", "Quality of care following what each trust's state supports (adoption, culture, leadership, staffing)."),
    _p("mechanisms", "buddy_support", True, "switch", "B's strain from supporting A, and its board's willingness to continue."),
    _p("mechanisms", "regulator", True, "switch", "The special-measures process: inspections, exit, escalation, re-entry."),
)
# fmt: on

PARAM_BY_KEY: dict[str, Param] = {p.key: p for p in PARAMS}
MECHANISMS: tuple[str, ...] = tuple(p.name for p in PARAMS if p.section == "mechanisms")

# (mean key, sd key) pairs drawn from Beta distributions; checked for feasibility.
_BETA_PAIRS = (
    [(f"organisations.culture_{o}", "organisations.attitude_sd") for o in "ab"]
    + [("staff.partner_trust", "organisations.attitude_sd"), ("staff.loyalty", "organisations.attitude_sd")]
    + [(f"staff.leader_trust_{o}", "organisations.attitude_sd") for o in "ab"]
    + [(f"staff.hire_culture_{o}", "organisations.attitude_sd") for o in "ab"]
    + [(f"leadership.commitment_{o}", "leadership.commitment_sd") for o in "ab"]
)


class Scenario(Mapping[str, Any]):
    """A complete, validated set of parameters (immutable mapping ``key -> value``).

    ``scenario["leadership.turnover_a"]`` reads a value; ``scenario.changes``
    holds only what differs from the defaults; ``scenario.replace(...)`` gives a
    new validated scenario (used by sweeps and the UI).
    """

    def __init__(
        self,
        values: Mapping[str, Any] | None = None,
        *,
        name: str = "defaults",
        source: str = "",
        description: str = "",
        timeline: tuple = (),
    ):
        merged = {p.key: p.default for p in PARAMS}
        for key, value in (values or {}).items():
            merged[key] = check_value(source, key, value)
        _check_cross(source, merged)
        self._values = merged
        self.name = name
        self.source = source
        self.description = description
        self.timeline = tuple(timeline)  # checked [[timeline]] entries (sim.timeline.TimelineEntry)

    # Mapping protocol
    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        extra = f", timeline={len(self.timeline)} entries" if self.timeline else ""
        return f"Scenario({self.name!r}, changes={self.changes!r}{extra})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scenario) and self._values == other._values and self.timeline == other.timeline

    __hash__ = None  # type: ignore[assignment]  # mutable-looking mapping semantics; not hashable

    @property
    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self._values.items() if v != PARAM_BY_KEY[k].default}

    def replace(self, changes: Mapping[str, Any] | None = None, **kw: Any) -> Scenario:
        """A new scenario with ``changes`` (dotted keys) applied; ``kw`` may use ``section__name``."""
        values = dict(self._values)
        for key, value in {**(changes or {}), **{k.replace("__", "."): v for k, v in kw.items()}}.items():
            values[key] = value
        return Scenario(
            values,
            name=self.name,
            source=self.source or "<changes>",
            description=self.description,
            timeline=self.timeline,
        )

    def with_timeline(self, timeline: tuple[Any, ...]) -> Scenario:
        """The same parameters with these timeline entries (already checked: :func:`sim.timeline.parse_entries`)."""
        return Scenario(
            self._values, name=self.name, source=self.source, description=self.description, timeline=timeline
        )

    def to_nested(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {s: {} for s in SECTIONS}
        for key, value in self._values.items():
            section, name = key.split(".", 1)
            out[section][name] = value
        return out

    def to_toml(self, only_changes: bool = True) -> str:
        """Render as a scenario file (by default only what differs from the defaults)."""
        values = self.changes if only_changes else self._values
        lines = [f"# {line}" for line in self.description.splitlines()] if self.description else []
        for section in SECTIONS:
            keys = [k for k in values if k.startswith(section + ".")]
            if not keys:
                continue
            lines.append(f"\n[{section}]")
            for key in keys:
                lines.append(f"{key.split('.', 1)[1]} = {_toml_value(values[key])}")
        for entry in self.timeline:
            lines.append("\n[[timeline]]")
            for key, value in entry.table:
                lines.append(f"{key} = {_toml_value(value)}")
        return "\n".join(lines).lstrip("\n") + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_value(str(k))} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest of ``options`` to ``word``, or '' (for error messages)."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_value(source: str, key: str, value: Any) -> Any:
    """``value`` for parameter ``key``, converted to its type; a :class:`ScenarioError` naming ``source`` and ``key``
    if the key is unknown or the value is not allowed."""
    if not isinstance(key, str) or key not in PARAM_BY_KEY:
        section = key.split(".", 1)[0] if isinstance(key, str) else ""
        if section in SECTIONS:
            names = [p.name for p in PARAMS if p.section == section]
            hint = did_you_mean(key.split(".", 1)[1] if "." in key else "", names)
            if key.endswith(".base"):
                hint = " (a `base = ...` line goes at the top of the file, before any [section])"
            raise ScenarioError(source, key, f"unknown parameter{hint}; `buddysim params` lists them")
        raise ScenarioError(
            source, str(key), f"unknown parameter{did_you_mean(str(key), PARAM_BY_KEY)}; `buddysim params` lists them"
        )
    p = PARAM_BY_KEY[key]
    kind = p.kind
    if kind is bool:
        if not isinstance(value, bool):
            raise ScenarioError(source, key, f"expected true or false, got {_show(value)}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ScenarioError(source, key, f"expected {p.allowed()}, got {_show(value)}")
        if p.choices and value not in p.choices:
            raise ScenarioError(source, key, f"expected {p.allowed()}, got {value!r}{did_you_mean(value, p.choices)}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError(source, key, f"expected {p.allowed()}, got {_show(value)}")
    if kind is int:
        if isinstance(value, float):
            if not value.is_integer():
                raise ScenarioError(source, key, f"expected {p.allowed()}, got {value!r}")
            value = int(value)
    else:
        try:
            value = float(value)
        except OverflowError:  # an integer too large for a float (beyond ~1.8e308) is out of any range
            raise ScenarioError(
                source, key, f"{show_value(value)} is out of range: expected {p.allowed()} ({p.unit})"
            ) from None
        if not math.isfinite(value):
            raise ScenarioError(source, key, f"expected {p.allowed()}, got {value!r}")
    if (p.low is not None and value < p.low) or (p.high is not None and value > p.high):
        raise ScenarioError(source, key, f"{show_value(value)} is out of range: expected {p.allowed()} ({p.unit})")
    return value


def show_value(value: Any, limit: int = 40) -> str:
    """A value as shown in a message: ``repr``, escaped and cut short; an integer of thousands of digits by its
    size (``repr`` itself refuses integers of more than 4,300 digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        n = abs(value)
        digits = int((n.bit_length() - 1) * 0.3010299956639812) + 1
        if n >= 10**digits:
            digits += 1
        elif n < 10 ** (digits - 1):
            digits -= 1
        return f"an integer of {digits:,} digits"
    return printable(repr(value), limit)


def _show(value: Any) -> str:
    kind = {
        bool: "a boolean",
        str: "a string",
        int: "an integer",
        float: "a number",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)
    return f"{kind} ({show_value(value)})"


#: Submodels that may run while headcounts change (the others assume every post is filled; docs/ODD.md 7.10).
GROWTH_MECHANISMS = ("leadership_turnover", "staff_turnover")


def check_combination(source: str, v: Mapping[str, Any]) -> None:
    """Rules across parameters (each value already checked alone by :func:`check_value`); a
    :class:`ScenarioError` naming ``source`` and the key at fault. A sweep checks every design point with it."""
    _check_cross(source, v)


def _check_cross(source: str, v: Mapping[str, Any]) -> None:
    if v["staff.growth_per_year"] != 0.0:
        others = [m for m in MECHANISMS if v[f"mechanisms.{m}"] and m not in GROWTH_MECHANISMS]
        if others:
            raise ScenarioError(
                source,
                "staff.growth_per_year",
                f"growth or decline ({v['staff.growth_per_year']:g}/yr) is implemented for the "
                f"staff-demography submodel only; switch off in [mechanisms]: {', '.join(others)} "
                f"(allowed with growth: {', '.join(GROWTH_MECHANISMS)})",
            )
    share = v["organisations.share_clinical"] + v["organisations.share_managerial"]
    if share > 1.0 + 1e-12:
        raise ScenarioError(
            source,
            "organisations.share_managerial",
            f"share_clinical + share_managerial must not exceed 1 (got {share:g})",
        )
    for mean_key, sd_key in _BETA_PAIRS:
        m, s = v[mean_key], v[sd_key]
        if 0.0 < m < 1.0 and s > 0.0 and s * s >= m * (1.0 - m):
            limit = math.sqrt(m * (1.0 - m))
            raise ScenarioError(
                source,
                sd_key,
                f"{s:g} is too wide for {mean_key} = {m:g}: a 0-1 attitude with that mean needs sd < {limit:.3f}",
            )


def _flatten(source: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section, body in doc.items():
        if section not in SECTIONS:
            raise ScenarioError(
                source,
                section,
                "unknown section"
                + did_you_mean(section, (*SECTIONS, "timeline", "base"))
                + "; sections are "
                + ", ".join(SECTIONS)
                + " (and a top-level base = ..., [[timeline]] entries)",
            )
        if not isinstance(body, dict):
            raise ScenarioError(source, section, f"expected a table [{section}], got {_show(body)}")
        for name, value in body.items():
            flat[f"{section}.{name}"] = value
    return flat


#: Largest scenario file read (a scenario file is ~2 KB); experiment files, which may list many points, pass their own.
MAX_FILE_BYTES = 2**20
_LONG_INT = None  # compiled on first use


def parse_toml(text: str, source: str) -> dict:
    """Parse TOML text (data only, never evaluated) into a dict; a :class:`ScenarioError` naming ``source`` for
    anything that is not a document this tool can read, including what makes the parser itself give up:
    arrays or tables nested hundreds deep, and integers of more than 4,300 digits."""
    global _LONG_INT
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, None, f"not valid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(
            source, None, "not a document this tool reads: arrays or tables nested too deeply (hundreds of levels)"
        ) from None
    except ValueError as exc:  # int(...) refusing a number of more than sys.get_int_max_str_digits() digits
        if "digits" not in str(exc):
            raise ScenarioError(source, None, f"not valid TOML: {exc}") from None
        import re

        _LONG_INT = _LONG_INT or re.compile(r"[0-9][0-9_]{4300,}")
        newline = "\n"
        m = _LONG_INT.search(text)
        line = f" (line {text[: m.start()].count(newline) + 1})" if m else ""
        raise ScenarioError(
            source, None, f"an integer of more than 4,300 digits{line}: no parameter takes a number that large"
        ) from None


def read_text_file(path: str | Path, what: str = "scenario file", max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a small input file; a :class:`ScenarioError` naming the path for every way of not
    being one (missing, a folder, too large, unreadable, not UTF-8, a NUL byte in the path). At most
    ``max_bytes`` are read, so a device or an endless pipe is refused instead of filling memory."""
    source = str(path)
    if "\x00" in source:
        raise ScenarioError(source, None, "the path contains a NUL byte; no file can have that name")
    try:
        with Path(path).open("rb") as f:
            raw = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise ScenarioError(source, None, "no such file") from None
    except IsADirectoryError:
        raise ScenarioError(source, None, f"is a directory, expected a .toml {what}") from None
    except OSError as exc:
        raise ScenarioError(source, None, f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise ScenarioError(source, None, f"is larger than {max_bytes:,} bytes, too large for a {what}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(source, None, f"not UTF-8 text (byte {exc.start})") from None


#: How deep scenario files may build on one another (``base = ...``).
MAX_BASE_DEPTH = 8


def scenario_from_toml(
    text: str,
    *,
    source: str = "<string>",
    name: str | None = None,
    base_dir: str | Path | None = None,
    _chain: tuple[str, ...] = (),
) -> Scenario:
    """Parse and validate scenario TOML text (never evaluated as code), with its ``[[timeline]]`` entries.

    A top-level ``base = "baseline"`` builds on another scenario: a bundled one by name, or a file (relative to
    ``base_dir``, the folder of the file being read); this file's values replace the base's. The bundled
    scenarios all build on the calibrated baseline, so each states only what it changes from it."""
    doc = parse_toml(text, source)
    description = "\n".join(line[1:].strip() for line in text.splitlines()[:12] if line.startswith("#")).strip()
    timeline = doc.pop("timeline", None)
    base = _base_scenario(doc.pop("base"), source, base_dir, _chain) if "base" in doc else None
    values = _flatten(source, doc)
    if base is not None:
        values = {**dict(base), **{k: check_value(source, k, v) for k, v in values.items()}}
    sc = Scenario(values, name=name or "<string>", source=source, description=description)
    if timeline is not None:
        from .timeline import TimelineError, parse_entries  # the timeline module sits beside this one

        try:
            entries = parse_entries(
                timeline,
                horizon=sc["run.steps"],
                exec_team_size=sc["leadership.exec_team_size"],
                check_changes=sc.replace,
            )
        except TimelineError as exc:
            raise ScenarioError(source, exc.key, exc.message) from None
        sc = sc.with_timeline(entries)
    return sc


def _base_scenario(spec: Any, source: str, base_dir: str | Path | None, chain: tuple[str, ...]) -> Scenario:
    """The scenario a file's ``base`` names (checked: a string, found, not a loop, not too deep)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ScenarioError(
            source, "base", f"expected the name of a bundled scenario or the path of a scenario file, got {_show(spec)}"
        )
    if "\x00" in spec:
        raise ScenarioError(source, "base", "the path contains a NUL byte; no file can have that name")
    name = _bare_name(Path(spec))
    bundled = bundled_scenarios()
    if name is not None and name in bundled:
        path = bundled[name]
    else:
        path = (Path(base_dir) if base_dir is not None else Path.cwd()) / spec
        if not _is_file(path):
            hint = did_you_mean(name, bundled) if name is not None else ""
            raise ScenarioError(
                source, "base", f"{printable(spec, 80)!r}: no bundled scenario of that name and no such file{hint}"
            )
    key = str(path.resolve())
    if key in chain:
        raise ScenarioError(
            source, "base", f"{printable(spec, 80)!r} builds on this file again (a loop of base scenarios)"
        )
    if len(chain) >= MAX_BASE_DEPTH:
        raise ScenarioError(source, "base", f"more than {MAX_BASE_DEPTH} scenarios built on one another")
    text = read_text_file(path, "scenario file")
    base = scenario_from_toml(text, source=str(path), name=path.stem, base_dir=path.parent, _chain=(*chain, key))
    if base.timeline:
        raise ScenarioError(
            source, "base", f"{printable(spec, 80)!r} has [[timeline]] entries; they are not inherited: write them here"
        )
    return base


#: The scenarios that ship with buddysim, as package data (in a source checkout, ``scenarios/`` links here).
BUNDLED_DIR = Path(__file__).resolve().parent / "scenarios"


def bundled_scenarios() -> dict[str, Path]:
    """The bundled scenarios, name -> file, in name order: what ``buddysim scenarios`` lists and the UI offers.

    Found inside the installed package, so this works from any folder and from a wheel.
    """
    return {p.stem: p for p in sorted(BUNDLED_DIR.glob("*.toml"))}


def _bare_name(spec: Path) -> str | None:
    """The scenario name ``spec`` could stand for (``baseline`` or ``baseline.toml``), or None if it has a folder."""
    if len(spec.parts) != 1 or spec.suffix not in ("", ".toml"):
        return None
    return spec.stem if spec.suffix else spec.name


def _is_file(path: Path, *, or_folder: bool = False) -> bool:
    """``path.is_file()`` (or ``exists()``), False instead of an error for a name the system cannot look up
    (too long, a NUL byte); reading it then gives the clear error."""
    try:
        return path.exists() if or_folder else path.is_file()
    except (OSError, ValueError):
        return False


def scenario_path(spec: str | Path) -> Path:
    """The file that a scenario argument names: an existing file as given; otherwise, for a bare name
    (``baseline`` or ``baseline.toml``) a bundled scenario of that name; otherwise ``spec`` unchanged
    (for :func:`load_scenario` to report)."""
    path = Path(spec)
    if _is_file(path):
        return path
    name = _bare_name(path)
    bundled = bundled_scenarios()
    if name is not None and name in bundled:
        return bundled[name]
    return path


def load_scenario(path: str | Path | None = None, **changes: Any) -> Scenario:
    """Load a scenario file or a bundled scenario by name (``None`` = all defaults), then apply
    ``section__name=value`` changes."""
    if path is None:
        sc = Scenario(name="defaults")
    else:
        path = scenario_path(path)
        if not _is_file(Path(path), or_folder=True):
            name = _bare_name(Path(path))
            if name is not None and "\x00" not in str(path):
                hint = did_you_mean(name, bundled_scenarios()) or " (`buddysim scenarios` lists them)"
                raise ScenarioError(str(path), None, f"no such file, and no bundled scenario of that name{hint}")
        text = read_text_file(path, "scenario file")
        sc = scenario_from_toml(
            text,
            source=str(path),
            name=Path(path).stem,
            base_dir=Path(path).parent,
            _chain=(str(Path(path).resolve()),),
        )
    return sc.replace(**changes) if changes else sc


def params_table() -> list[dict[str, Any]]:
    """Every parameter as a row: key, default, unit, allowed values, description."""
    return [dict(key=p.key, default=p.default, unit=p.unit, allowed=p.allowed(), doc=p.doc) for p in PARAMS]
