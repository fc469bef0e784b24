"""7.14 The special-measures process: inspections, exit, escalation, re-entry.

Evidence (docs/ODD.md section 1, FACTS of the record): the CQC usually re-inspects within 12 months, then
after 6 more months; exit needs "sufficient and sustainable improvements"; where there is no significant
progress the regime escalates (changes to the board, a different partner); of the 11 trusts placed in
special measures in July 2013, 5 exited after about a year, 1 had made no significant progress, all had
left by 2017 and 2 were placed back later (CQC 2014; HSJ 2017; NHS Providers 2017).

A starts in special measures with quality ``Q_entry = Q_A``. An inspection is due at week
``first_inspection_weeks``; it judges ``J = Q_A + inspection_noise z``. In special measures:

* ``J >= exit_quality``: A *exits*. The buddy steps back (joint-working contact x ``post_exit_contact``,
  7.5) and A is inspected every ``monitoring_weeks``.
* else ``J - Q_entry < progress_quality`` (no significant progress, logged): the regime *escalates*: the chief
  executive and the next ``escalation_replacements - 1`` executives of A are replaced by interims (the
  succession rule of 7.1 says what they bring; relationships start at 0; each replacement shocks staff trust
  in their leadership as a departure does). At ``max_escalations`` escalations the regulator ends the
  partnership (A gets a new buddy: the partnership has failed, 7.11). Next inspection in
  ``reinspection_weeks``.
* else A stays in special measures; next inspection in ``reinspection_weeks``.

After exit, ``J < reentry_quality`` places A back in special measures (*re-entry*: ``Q_entry = Q_A``, the
buddy re-engages, the first re-inspection is again ``first_inspection_weeks`` away); otherwise the next
monitoring inspection is ``monitoring_weeks`` away.

Draws: ``judgement`` (standard normal, slot 0: at most one inspection a week), and for replaced executives
(slot = seat) ``commitment`` and ``insider``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import streams
from ..jit import kernel
from ..layout import BOOL, FLOAT, INT, Event, Mechanism, emit, running_sum
from ..state import W
from ..types import Bools, Floats, Int8s, Ints, Keys
from .leadership_turnover import (
    SUCCESSION_PARAMS,
    board_means,
    inherits,
    inherits_reference,
    successor_commitment,
    successor_commitment_reference,
)

if TYPE_CHECKING:
    from ..reference import ReferenceEngine

MECHANISM = Mechanism(
    "regulator",
    params={
        "first_inspection_weeks": "regulator.first_inspection_weeks",
        "reinspection_weeks": "regulator.reinspection_weeks",
        "monitoring_weeks": "regulator.monitoring_weeks",
        "exit_quality": "regulator.exit_quality",
        "progress_quality": "regulator.progress_quality",
        "reentry_quality": "regulator.reentry_quality",
        "inspection_noise": "regulator.inspection_noise",
        "escalation_replacements": "regulator.escalation_replacements",
        "max_escalations": "regulator.max_escalations",
        "post_exit_contact": "partnership.post_exit_contact",
        **SUCCESSION_PARAMS,
    },
    draws=("judgement", "commitment", "insider"),
    events=(
        Event("inspection", (("quality", FLOAT), ("special_measures", BOOL))),
        Event("exited_special_measures", (("quality", FLOAT),)),
        Event("reentered_special_measures", (("quality", FLOAT),)),
        Event("no_significant_progress", (("quality", FLOAT), ("escalation", INT))),
        Event("executive_replaced", (("seat", INT),)),
        Event("partnership_ended_by_regulator", (("escalations", INT),)),
    ),
)
P, D, E = MECHANISM.P, MECHANISM.D, MECHANISM.E


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
    world: Floats,
) -> None:
    if t < world[W.next_inspection]:
        return
    judged = world[W.quality_a] + p[P.inspection_noise] * streams.normal(streams.week_key(keys[D.judgement], t), 0)
    if world[W.special_measures] == 0.0:
        if judged < p[P.reentry_quality]:
            world[W.special_measures] = 1.0
            world[W.quality_entry] = world[W.quality_a]
            world[W.contact_scale] = 1.0
            world[W.next_inspection] = t + p[P.first_inspection_weeks]
            emit(ev, n_ev, E.reentered_special_measures, 0, judged, 0.0)
        else:
            world[W.next_inspection] = t + p[P.monitoring_weeks]
            emit(ev, n_ev, E.inspection, 0, judged, 0.0)
        return
    if judged >= p[P.exit_quality]:
        world[W.special_measures] = 0.0
        world[W.contact_scale] = p[P.post_exit_contact]
        world[W.next_inspection] = t + p[P.monitoring_weeks]
        emit(ev, n_ev, E.exited_special_measures, 0, judged, 0.0)
        return
    world[W.next_inspection] = t + p[P.reinspection_weeks]
    if judged - world[W.quality_entry] >= p[P.progress_quality]:
        emit(ev, n_ev, E.inspection, 0, judged, 1.0)
        return
    world[W.escalations] += 1.0
    emit(ev, n_ev, E.no_significant_progress, 0, judged, world[W.escalations])
    # the board changes: A's chief executive first, then the next seats, replaced by interims
    mean_a, _ = board_means(l_org, l_commit)
    h_insider = streams.week_key(keys[D.insider], t)
    factor = 1.0
    for s in range(min(int(p[P.escalation_replacements]), l_org.size // 2)):
        inherit = inherits(p[P.succession], p[P.insider_share], streams.uniform(h_insider, s))
        l_commit[s] = successor_commitment(
            inherit, False, mean_a, p[P.commitment], p[P.interim_commitment], p[P.commitment_sd], 0.0
        )
        l_vacant[s] = True
        l_tenure[s] = 0
        l_rel[s] = 0.0
        factor *= 1.0 - p[P.departure_shock] * (p[P.ceo_multiplier] if l_seat[s] == 0 else 1.0)
        emit(ev, n_ev, E.executive_replaced, 0, l_seat[s], 0.0)
    if factor != 1.0:
        for i in range(org.size):
            if org[i] == 0:
                tl[i] = tl[i] * factor
    if world[W.escalations] >= p[P.max_escalations] and world[W.partnership_active] != 0.0:
        world[W.partnership_active] = 0.0
        emit(ev, n_ev, E.partnership_ended_by_regulator, -1, world[W.escalations], 0.0)


def reference(m: ReferenceEngine, t: int) -> None:
    v = m.values(MECHANISM)
    if t < m.world_value("next_inspection"):
        return
    judged = m.world_value("quality_a") + v.inspection_noise * m.normal(MECHANISM, "judgement", t, 0)
    if m.world_value("special_measures") == 0.0:
        if judged < v.reentry_quality:
            m.set_world("special_measures", 1.0)
            m.set_world("quality_entry", m.world_value("quality_a"))
            m.set_world("contact_scale", 1.0)
            m.set_world("next_inspection", t + v.first_inspection_weeks)
            m.event(MECHANISM, "reentered_special_measures", 0, quality=judged)
        else:
            m.set_world("next_inspection", t + v.monitoring_weeks)
            m.event(MECHANISM, "inspection", 0, quality=judged, special_measures=False)
        return
    if judged >= v.exit_quality:
        m.set_world("special_measures", 0.0)
        m.set_world("contact_scale", v.post_exit_contact)
        m.set_world("next_inspection", t + v.monitoring_weeks)
        m.event(MECHANISM, "exited_special_measures", 0, quality=judged)
        return
    m.set_world("next_inspection", t + v.reinspection_weeks)
    if judged - m.world_value("quality_entry") >= v.progress_quality:
        m.event(MECHANISM, "inspection", 0, quality=judged, special_measures=True)
        return
    escalations = m.world_value("escalations") + 1.0
    m.set_world("escalations", escalations)
    m.event(MECHANISM, "no_significant_progress", 0, quality=judged, escalation=escalations)
    seats = len(m.leaders) // 2
    mean_a = running_sum(ld.commit for ld in m.leaders if ld.org == 0) / seats
    factor = 1.0
    for s in range(min(int(v.escalation_replacements), seats)):
        ld = m.leaders[s]
        inherit = inherits_reference(v, m.uniform(MECHANISM, "insider", t, s))
        ld.commit = successor_commitment_reference(v, inherit, False, mean_a, 0, 0.0)
        ld.vacant, ld.tenure, ld.rel = True, 0, 0.0
        factor *= 1.0 - v.departure_shock * (v.ceo_multiplier if ld.seat == 0 else 1.0)
        m.event(MECHANISM, "executive_replaced", 0, seat=ld.seat)
    if factor != 1.0:
        for person in m.people:
            if person.org == 0:
                person.tl = person.tl * factor
    if escalations >= v.max_escalations and m.world_value("partnership_active") != 0.0:
        m.set_world("partnership_active", 0.0)
        m.event(MECHANISM, "partnership_ended_by_regulator", None, escalations=escalations)
