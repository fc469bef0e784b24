"""7.12 Quality of care: what each trust's state supports, reached slowly.

Evidence: the regime judges "sufficient and sustainable improvements" in the quality of care (CQC 2014);
the barriers to improvement are a lack of an improvement culture, of strong and stable leadership and of
time for improvement to embed (briefing; Health Foundation 2015); staffing and sickness absence track
quality (the rapid evaluation of the special-measures regime, Fulop et al. 2023, followed performance and
workforce indicators). How strongly each component counts is not known: the weights are calibrated.

Each week, for each trust o, the quality its state supports is
``T_o = floor + (ceiling - floor) S_o`` with ``S_o`` the weighted mean (weights ``weight_*``) of
* the share of staff using the method, counted at ``(1 - alignment_share) + alignment_share a`` where ``a``
  is the method's ``regulatory_alignment`` (improvement the regulator does not look for counts less);
* the staff's mean improvement culture;
* leadership stability: the share of executive seats held permanently (not by interims);
* effective staffing: the share of posts filled times ``1 - sickness``, sickness
  ``sickness_base + sickness_fatigue * mean fatigue`` (change load shows as sickness absence);
B's is lowered by ``strain_weight * max(0, strain_B - 1)`` when supporting A strains it beyond its capacity
(7.13). Quality moves toward it, ``Q_o += (T_o - Q_o) / quality_weeks``: time for improvement to embed.
No randomness.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

from ..jit import inline_kernel, kernel
from ..layout import Mechanism, lane_sum, org_count, org_sum
from ..state import W
from ..types import Bools, Floats, Int8s

if TYPE_CHECKING:
    from ..reference import ReferenceEngine

MECHANISM = Mechanism(
    "quality",
    params={
        "quality_weeks": "quality.quality_weeks",
        "floor": "quality.floor",
        "ceiling": "quality.ceiling",
        "weight_adoption": "quality.weight_adoption",
        "weight_culture": "quality.weight_culture",
        "weight_leadership": "quality.weight_leadership",
        "weight_staffing": "quality.weight_staffing",
        "alignment_share": "quality.alignment_share",
        "regulatory_alignment": "system.regulatory_alignment",
        "sickness_base": "quality.sickness_base",
        "sickness_fatigue": "quality.sickness_fatigue",
        "strain_weight": "quality.strain_weight",
    },
)
P = MECHANISM.P


def supported(v: SimpleNamespace, adoption: float, culture: float, leadership: float, staffing: float) -> float:
    """``S_o``: the weighted mean of the components (0 when every weight is 0). ``v``: the values by name."""
    total = v.weight_adoption + v.weight_culture + v.weight_leadership + v.weight_staffing
    if total <= 0.0:
        return 0.0
    aligned = (1.0 - v.alignment_share) + v.alignment_share * v.regulatory_alignment
    s: float = (
        v.weight_adoption * adoption * aligned
        + v.weight_culture * culture
        + v.weight_leadership * leadership
        + v.weight_staffing * staffing
    ) / total
    return s


@inline_kernel
def supported_kernel(p: Floats, adoption: float, culture: float, leadership: float, staffing: float) -> float:
    total = p[P.weight_adoption] + p[P.weight_culture] + p[P.weight_leadership] + p[P.weight_staffing]
    if total <= 0.0:
        return 0.0
    aligned = (1.0 - p[P.alignment_share]) + p[P.alignment_share] * p[P.regulatory_alignment]
    s: float = (
        p[P.weight_adoption] * adoption * aligned
        + p[P.weight_culture] * culture
        + p[P.weight_leadership] * leadership
        + p[P.weight_staffing] * staffing
    ) / total
    return s


@kernel
def step(
    n_a: int,
    p: Floats,
    org: Int8s,
    culture: Floats,
    fatigue: Floats,
    adopted: Bools,
    present: Bools,
    l_org: Int8s,
    l_vacant: Bools,
    world: Floats,
) -> None:
    n = org.size
    k = l_org.size // 2
    for o in range(2):
        lo = 0 if o == 0 else n_a
        hi = n_a if o == 0 else n
        head = org_count(present, present, lo, hi)
        c = org_sum(culture, present, lo, hi)
        f = org_sum(fatigue, present, lo, hi)
        a = org_count(adopted, present, lo, hi)
        permanent = 0.0
        for s in range(o * k, (o + 1) * k):
            if not l_vacant[s]:
                permanent += 1.0
        sickness = min(1.0, p[P.sickness_base] + p[P.sickness_fatigue] * (f / head))
        staffing = (head / (hi - lo)) * (1.0 - sickness)
        target = p[P.floor] + (p[P.ceiling] - p[P.floor]) * supported_kernel(
            p, a / head, c / head, permanent / k, staffing
        )
        if o == 1:
            target -= p[P.strain_weight] * max(0.0, world[W.strain_b] - 1.0)
        q = W.quality_a if o == 0 else W.quality_b
        world[q] = min(max(world[q] + (target - world[q]) / p[P.quality_weeks], 0.0), 1.0)


def reference(m: ReferenceEngine, t: int) -> None:
    v = m.values(MECHANISM)
    seats = len(m.leaders) // 2
    for o, name in ((0, "quality_a"), (1, "quality_b")):
        staff = [p for p in m.people if p.org == o]
        here = [p for p in staff if p.present]
        head = float(len(here))
        lo = 0 if o == 0 else m.world.n_a
        adoption = float(sum(1 for p in here if p.adopted)) / head
        culture = lane_sum(((p.index, p.culture) for p in here), lo) / head
        fatigue = lane_sum(((p.index, p.fatigue) for p in here), lo) / head
        leadership = sum(1 for ld in m.leaders if ld.org == o and not ld.vacant) / seats
        sickness = min(1.0, v.sickness_base + v.sickness_fatigue * fatigue)
        staffing = (head / len(staff)) * (1.0 - sickness)
        target = v.floor + (v.ceiling - v.floor) * supported(v, adoption, culture, leadership, staffing)
        if o == 1:
            target -= v.strain_weight * max(0.0, m.world_value("strain_b") - 1.0)
        q = m.world_value(name)
        m.set_world(name, min(1.0, max(0.0, q + (target - q) / v.quality_weeks)))
