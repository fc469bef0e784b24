"""7.1 Leadership turnover, succession, interim periods and what a departure does to staff trust.

Evidence: "stable and visible leadership across both organisations" (briefing); chief executives' median
tenure ~11 months in inadequate-rated trusts against > 7 years in outstanding ones (HSJ 2017); 7 of 24
trusts in special measures in 2013 had interim chief executives. Succession: a change of leader disrupts
the organisation (Grusky 1960, 1963); whether a successor continues or breaks with the board's line depends
on whether they come from inside or outside (insiders continue, outsiders change course: Helmich & Brown
1972; Shen & Cannella 2002); personal relationships between leadership teams leave with the people who
built them (briefing: "the importance of building strong personal relationships across leadership teams").

Each permanent executive leaves in a week with probability ``1 - exp(-turnover_o/52)``. A vacated seat is
held by an interim (visibility scaled by ``interim_visibility``) until a permanent appointment, which
happens with weekly probability ``1/interim_weeks`` (immediately if ``interim_weeks`` is 0). What the
newcomer brings to the board's commitment to the partnership is the *succession* rule (a scenario choice;
the data choose between them, docs/validation.md):

* ``fresh``: an interim brings ``interim_commitment``; a permanent appointee ``clip(commitment_o +
  commitment_sd z)``. Churn resets a board whose commitment joint working has eroded.
* ``inherited`` (organisational memory): both bring the board's current mean commitment ``C_o`` (a
  permanent appointee ``clip(C_o + commitment_sd z)``).
* ``insider_outsider``: each appointee is an insider with probability ``insider_share`` (inherits) or an
  outsider (fresh).

Every newcomer starts with no personal relationship with the partner's executives (``l_rel = 0``, 7.5).
Each departure multiplies the trust of the organisation's staff in their leadership by
``1 - departure_shock w`` (``w = ceo_multiplier`` for seat 0, else 1).

Draws (slot = seat): ``leave``, ``appoint``, ``commitment`` (standard normal), ``insider``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

from ...scenario import Scenario
from .. import streams
from ..jit import inline_kernel, kernel
from ..layout import BOOL, INT, Declaration, Event, Mechanism, choice, derived, emit, per_org, running_sum
from ..params import World, weekly_prob
from ..types import Bools, Floats, Int8s, Ints, Keys

if TYPE_CHECKING:
    from ..reference import ReferenceEngine

SUCCESSION = {"fresh": 0, "inherited": 1, "insider_outsider": 2}
INHERITED, INSIDER_OUTSIDER = SUCCESSION["inherited"], SUCCESSION["insider_outsider"]

#: The succession rule's parameters; the regulator (7.14) replaces executives by the same rule and declares them.
SUCCESSION_PARAMS: dict[str, Declaration] = {
    "succession": choice("leadership.succession", SUCCESSION),
    "insider_share": "leadership.insider_share",
    "commitment": per_org("leadership.commitment_a", "leadership.commitment_b"),
    "commitment_sd": "leadership.commitment_sd",
    "interim_commitment": "leadership.interim_commitment",
    "departure_shock": "leadership.departure_shock",
    "ceo_multiplier": "leadership.ceo_multiplier",
}


def _appoint_prob(sc: Scenario, world: World) -> float:
    weeks: float = sc["leadership.interim_weeks"]
    return 1.0 if weeks <= 0 else min(1.0, 1.0 / weeks)


MECHANISM = Mechanism(
    "leadership_turnover",
    params={
        "leave_prob": per_org(
            derived(lambda sc, w: weekly_prob(sc["leadership.turnover_a"])),
            derived(lambda sc, w: weekly_prob(sc["leadership.turnover_b"])),
        ),
        "appoint_prob": derived(_appoint_prob, "weekly chance an interim seat is filled (1 = immediately)"),
        **SUCCESSION_PARAMS,
    },
    draws=("leave", "appoint", "commitment", "insider"),
    events=(Event("departure", (("seat", INT), ("interim", BOOL))), Event("appointment", (("seat", INT),))),
)
P, D, E = MECHANISM.P, MECHANISM.D, MECHANISM.E


@inline_kernel
def inherits(rule: float, insider_share: float, u: float) -> bool:
    """Whether a successor brings the board's current commitment (the succession rule)."""
    return rule == INHERITED or (rule == INSIDER_OUTSIDER and u < insider_share)


@inline_kernel
def successor_commitment(
    inherit: bool,
    permanent: bool,
    board_mean: float,
    commitment_o: float,
    interim_commitment: float,
    sd: float,
    z: float,
) -> float:
    """Commitment of a newcomer to a seat: permanent appointees vary around their base, interims do not."""
    base = board_mean if inherit else (commitment_o if permanent else interim_commitment)
    if not permanent:
        return base
    return min(max(base + sd * z, 0.0), 1.0)


@inline_kernel
def board_means(l_org: Int8s, l_commit: Floats) -> tuple[float, float]:
    """Mean commitment of A's and of B's seats (seats of A come first)."""
    k = l_org.size // 2
    a = 0.0
    b = 0.0
    for s in range(k):
        a += l_commit[s]
    for s in range(k, 2 * k):
        b += l_commit[s]
    return a / k, b / k


@kernel
def step(
    t: int,
    p: Floats,
    keys: Keys,
    ev: Floats,
    n_ev: Ints,
    org: Int8s,
    tl: Floats,
    l_org: Int8s,
    l_seat: Ints,
    l_commit: Floats,
    l_vacant: Bools,
    l_tenure: Ints,
    l_rel: Floats,
) -> None:
    h_leave = streams.week_key(keys[D.leave], t)
    h_appoint = streams.week_key(keys[D.appoint], t)
    h_commit = streams.week_key(keys[D.commitment], t)
    h_insider = streams.week_key(keys[D.insider], t)
    immediate = p[P.appoint_prob] >= 1.0
    mean_a, mean_b = board_means(l_org, l_commit)  # the boards as they stand at the start of the week
    factor_a = 1.0
    factor_b = 1.0
    for s in range(l_org.size):
        o = l_org[s]
        vacant0 = l_vacant[s]
        appoint = vacant0 and streams.uniform(h_appoint, s) < p[P.appoint_prob]
        leave = (not vacant0) and streams.uniform(h_leave, s) < p[P.leave_prob + o]
        if appoint or leave:
            inherit = inherits(p[P.succession], p[P.insider_share], streams.uniform(h_insider, s))
            permanent = appoint or immediate
            z = streams.normal(h_commit, s) if permanent else 0.0
            l_commit[s] = successor_commitment(
                inherit, permanent, mean_a if o == 0 else mean_b, p[P.commitment + o], p[P.interim_commitment],
                p[P.commitment_sd], z,
            )  # fmt: skip
            l_vacant[s] = not permanent
            l_tenure[s] = 0
            l_rel[s] = 0.0
        else:
            l_tenure[s] += 1
        if leave:
            w = p[P.ceo_multiplier] if l_seat[s] == 0 else 1.0
            if o == 0:
                factor_a *= 1.0 - p[P.departure_shock] * w
            else:
                factor_b *= 1.0 - p[P.departure_shock] * w
            emit(ev, n_ev, E.departure, o, l_seat[s], 0.0 if immediate else 1.0)
        elif appoint:
            emit(ev, n_ev, E.appointment, o, l_seat[s], 0.0)
    if factor_a != 1.0 or factor_b != 1.0:
        for i in range(org.size):
            tl[i] = tl[i] * (factor_a if org[i] == 0 else factor_b)


def inherits_reference(v: SimpleNamespace, u: float) -> bool:
    return bool(v.succession == INHERITED or (v.succession == INSIDER_OUTSIDER and u < v.insider_share))


def successor_commitment_reference(
    v: SimpleNamespace, inherit: bool, permanent: bool, board_mean: float, org: int, z: float
) -> float:
    base = board_mean if inherit else (v.commitment[org] if permanent else v.interim_commitment)
    return base if not permanent else min(1.0, max(0.0, base + v.commitment_sd * z))


def reference(m: ReferenceEngine, t: int) -> None:
    """One executive at a time."""
    v = m.values(MECHANISM)
    immediate = v.appoint_prob >= 1.0
    seats = len(m.leaders) // 2
    board_mean = [running_sum(ld.commit for ld in m.leaders if ld.org == o) / seats for o in (0, 1)]
    factor = [1.0, 1.0]
    for s, ld in enumerate(m.leaders):
        if ld.vacant:
            arrives = m.uniform(MECHANISM, "appoint", t, s) < v.appoint_prob
            leaves = False
        else:
            arrives = False
            leaves = m.uniform(MECHANISM, "leave", t, s) < v.leave_prob[ld.org]
        if not (arrives or leaves):
            ld.tenure += 1
            continue
        inherit = inherits_reference(v, m.uniform(MECHANISM, "insider", t, s))
        permanent = arrives or immediate
        z = m.normal(MECHANISM, "commitment", t, s) if permanent else 0.0
        ld.commit = successor_commitment_reference(v, inherit, permanent, board_mean[ld.org], ld.org, z)
        ld.vacant = not permanent
        ld.tenure = 0
        ld.rel = 0.0
        if leaves:
            factor[ld.org] *= 1.0 - v.departure_shock * (v.ceo_multiplier if ld.seat == 0 else 1.0)
            m.event(MECHANISM, "departure", ld.org, seat=ld.seat, interim=not immediate)
        else:
            m.event(MECHANISM, "appointment", ld.org, seat=ld.seat)
    if factor != [1.0, 1.0]:
        for person in m.people:
            person.tl = person.tl * factor[person.org]


#: Draw sites of an executive replaced by a scenario's timeline (keys: ``site_key(seed, "timeline", site)``, slot =
#: the seat's row), so that a replacement leaves every submodel's own numbers where they were.
TIMELINE_SITES = ("commitment", "insider")


def replacement_commitment(
    v: SimpleNamespace, org: int, board_mean: float, u_insider: float, z: float, interim: bool
) -> float:
    """What a successor put in by a timeline action brings (the succession rule, as for any newcomer)."""
    inherit = inherits_reference(v, u_insider)
    return successor_commitment_reference(v, inherit, not interim, board_mean, org, z)


def departure_factor(v: SimpleNamespace, seat: int) -> float:
    """The factor on the org's staff trust in leadership when the executive in ``seat`` goes."""
    return float(1.0 - v.departure_shock * (v.ceo_multiplier if seat == 0 else 1.0))
