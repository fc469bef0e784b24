"""7.1 Leadership turnover, interim periods and what a departure does to staff trust.

Evidence: "stable and visible leadership across both organisations" (briefing); chief executives' median
tenure ~11 months in inadequate-rated trusts against > 7 years in outstanding ones (HSJ 2017); 7 of 24
trusts in special measures in 2013 had interim chief executives.

Each permanent executive leaves in a week with probability ``1 - exp(-turnover_o/52)``. A vacated seat is
held by an interim (commitment ``interim_commitment``, visibility scaled by ``interim_visibility``) until
a permanent appointment, which happens with weekly probability ``1/interim_weeks`` (immediately if
``interim_weeks`` is 0). A new permanent leader's commitment is ``clip(commitment_o + commitment_sd z)``.
Each departure multiplies the trust of the organisation's staff in their leadership by
``1 - departure_shock w`` (``w = ceo_multiplier`` for seat 0, else 1).

Draws (slot = seat): ``leave``, ``appoint``, ``commitment`` (standard normal, used only when appointing).
"""

from __future__ import annotations

from .. import streams
from ..jit import kernel
from ..layout import BOOL, INT, Event, Mechanism, derived, emit, per_org
from ..params import weekly_prob


def _appoint_prob(sc, world) -> float:
    weeks = sc["leadership.interim_weeks"]
    return 1.0 if weeks <= 0 else min(1.0, 1.0 / weeks)


MECHANISM = Mechanism(
    "leadership_turnover",
    params={
        "leave_prob": per_org(
            derived(lambda sc, w: weekly_prob(sc["leadership.turnover_a"])),
            derived(lambda sc, w: weekly_prob(sc["leadership.turnover_b"])),
        ),
        "appoint_prob": derived(_appoint_prob, "weekly chance an interim seat is filled (1 = immediately)"),
        "commitment": per_org("leadership.commitment_a", "leadership.commitment_b"),
        "commitment_sd": "leadership.commitment_sd",
        "interim_commitment": "leadership.interim_commitment",
        "departure_shock": "leadership.departure_shock",
        "ceo_multiplier": "leadership.ceo_multiplier",
    },
    draws=("leave", "appoint", "commitment"),
    events=(Event("departure", (("seat", INT), ("interim", BOOL))), Event("appointment", (("seat", INT),))),
)
P, D, E = MECHANISM.P, MECHANISM.D, MECHANISM.E


@kernel
def step(t, p, keys, ev, n_ev, org, tl, l_org, l_seat, l_commit, l_vacant, l_tenure):
    h_leave = streams.week_key(keys[D.leave], t)
    h_appoint = streams.week_key(keys[D.appoint], t)
    h_commit = streams.week_key(keys[D.commitment], t)
    immediate = p[P.appoint_prob] >= 1.0
    factor_a = 1.0
    factor_b = 1.0
    for s in range(l_org.size):
        o = l_org[s]
        vacant0 = l_vacant[s]
        appoint = vacant0 and streams.uniform(h_appoint, s) < p[P.appoint_prob]
        leave = (not vacant0) and streams.uniform(h_leave, s) < p[P.leave_prob + o]
        if appoint or (leave and immediate):
            z = streams.normal(h_commit, s)
            l_commit[s] = min(max(p[P.commitment + o] + p[P.commitment_sd] * z, 0.0), 1.0)
        if not immediate:
            if leave:
                l_commit[s] = p[P.interim_commitment]
            l_vacant[s] = (vacant0 and not appoint) or leave
        if appoint or leave:
            l_tenure[s] = 0
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


def reference(m, t) -> None:
    """One executive at a time."""
    v = m.values(MECHANISM)
    immediate = v.appoint_prob >= 1.0
    factor = [1.0, 1.0]
    for s, ld in enumerate(m.leaders):
        if ld.vacant:
            if m.uniform(MECHANISM, "appoint", t, s) < v.appoint_prob:
                ld.vacant = False
                ld.tenure = 0
                z = m.normal(MECHANISM, "commitment", t, s)
                ld.commit = min(1.0, max(0.0, v.commitment[ld.org] + v.commitment_sd * z))
                m.event(MECHANISM, "appointment", ld.org, seat=ld.seat)
            else:
                ld.tenure += 1
        elif m.uniform(MECHANISM, "leave", t, s) < v.leave_prob[ld.org]:
            ld.tenure = 0
            if immediate:
                z = m.normal(MECHANISM, "commitment", t, s)
                ld.commit = min(1.0, max(0.0, v.commitment[ld.org] + v.commitment_sd * z))
            else:
                ld.vacant = True
                ld.commit = v.interim_commitment
            weight = v.ceo_multiplier if ld.seat == 0 else 1.0
            factor[ld.org] *= 1.0 - v.departure_shock * weight
            m.event(MECHANISM, "departure", ld.org, seat=ld.seat, interim=not immediate)
        else:
            ld.tenure += 1
    if factor != [1.0, 1.0]:
        for person in m.people:
            person.tl = person.tl * factor[person.org]
