"""7.10 Staff turnover, replacement hiring and socialisation of newcomers.

Evidence: trust-level staff turnover ~10-15% a year; culture as the balance of who is hired, who leaves and
how newcomers are socialised (Harrison & Carroll 1991); leaving rises with low trust and high fatigue.

A member of staff leaves this week with probability ``1 - exp(-lambda_i)``,
``lambda_i = (turnover_per_year/52) exp(b_t (0.5 - tl) + b_f (fatigue - 0.5))``. The post is filled at once
(headcount is conserved) by a newcomer in the same team and role: union member with probability
``union_density``, each attitude drawn as its declaration's newcomer rule says (culture from
Beta(hire_culture_o), partner trust and leadership trust from the initial distributions, loyalty
``newcomer_loyalty``, no fatigue; docs/ODD.md 2), not using the method, tenure 0, and none of the leaver's
cross-organisation ties. Everyone who stays is socialised toward their organisation's mean culture (computed
before the replacements), ``c += socialisation_rate exp(-tenure/socialisation_weeks) (mean_o - c)``, and
gains a week of tenure.

Growth and decline (``staff.growth_per_year`` = g, not 0): trust o aims at ``round(H_o (1+g)^(t/52))``
staff in post after week t (at least 1). Leavers leave as above; their posts fall vacant; then vacant posts,
lowest row first, are filled by newcomers until the target is met. A shrinking trust therefore declines by
not replacing leavers (no redundancies), and a trust cannot shrink faster than its staff leave. Means are
taken over the staff in post.

Draws (slot = the post's row, so a newcomer draws from the post's slot): ``leave``, ``union``, and one
stream per attitude for what a newcomer brings (``newcomer.<attitude>``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .. import streams
from ..jit import kernel
from ..layout import Mechanism, derived, lane_sum, org_count, org_sum
from ..params import WEEKS_PER_YEAR, target_headcount
from ..types import Bools, Floats, Int8s, Ints, Keys

if TYPE_CHECKING:
    from ..reference import ReferenceEngine

MECHANISM = Mechanism(
    "staff_turnover",
    params={
        "leave_rate_week": derived(lambda sc, w: sc["staff.turnover_per_year"] / WEEKS_PER_YEAR),
        "turnover_trust_sensitivity": "staff.turnover_trust_sensitivity",
        "turnover_fatigue_sensitivity": "staff.turnover_fatigue_sensitivity",
        "socialisation_rate": "staff.socialisation_rate",
        "socialisation_weeks": "staff.socialisation_weeks",
        "union_density": "staff.union_density",
        "growing": derived(lambda sc, w: 0.0 if w.headcount0 is None else 1.0, "1 when headcounts change"),
        "headcount0_a": derived(lambda sc, w: 0.0 if w.headcount0 is None else float(w.headcount0[0])),
        "headcount0_b": derived(lambda sc, w: 0.0 if w.headcount0 is None else float(w.headcount0[1])),
        "growth_week": derived(lambda sc, w: w.growth_week, "weekly factor of the target headcount"),
    },
    draws=("leave", "union"),
    counters=("leavers_a", "leavers_b", "ties_lost"),
    returns=("x_u", "x_v", "x_w"),
)
P, D, C = MECHANISM.P, MECHANISM.D, MECHANISM.C

#: The stream of what a newcomer brings, one per attitude (keys made by the engine from these sites).
NEWCOMER_SITE = "newcomer.{}"


@kernel
def step(
    t: int,
    n_a: int,
    p: Floats,
    keys: Keys,
    counts: Ints,
    newcomer_spec: Floats,
    newcomer_keys: Keys,
    staff: Floats,
    culture: Floats,
    tl: Floats,
    fatigue: Floats,
    org: Int8s,
    union: Bools,
    tenure: Ints,
    adopted: Bools,
    present: Bools,
    x_u: Ints,
    x_v: Ints,
    x_w: Floats,
) -> tuple[Ints, Ints, Floats]:
    n = org.size
    h_leave = streams.week_key(keys[D.leave], t)
    # socialisation targets: each organisation's mean culture over the staff in post, before anyone leaves
    mean_a = org_sum(culture, present, 0, n_a) / org_count(present, present, 0, n_a)
    mean_b = org_sum(culture, present, n_a, n) / org_count(present, present, n_a, n)
    leave = np.zeros(n, np.bool_)
    n_left_a = 0
    n_left_b = 0
    for i in range(n):
        lam = p[P.leave_rate_week] * math.exp(
            p[P.turnover_trust_sensitivity] * (0.5 - tl[i]) + p[P.turnover_fatigue_sensitivity] * (fatigue[i] - 0.5)
        )
        if present[i] and streams.uniform(h_leave, i) < 1.0 - math.exp(-lam):
            leave[i] = True
            if i < n_a:
                n_left_a += 1
            else:
                n_left_b += 1
        pull = p[P.socialisation_rate] * math.exp(-tenure[i] / p[P.socialisation_weeks])
        target = mean_a if org[i] == 0 else mean_b
        culture[i] = culture[i] + pull * (target - culture[i])
        tenure[i] += 1
    # who is hired: into every leaver's post, or (growth and decline) vacant posts up to the target headcount
    if p[P.growing] != 0.0:
        for i in range(n):
            if leave[i]:
                present[i] = False
        hired = np.empty(n, np.int64)
        n_hired = 0
        for o in range(2):
            lo = 0 if o == 0 else n_a
            hi = n_a if o == 0 else n
            h0 = p[P.headcount0_a] if o == 0 else p[P.headcount0_b]
            want = max(np.rint(h0 * p[P.growth_week] ** float(t)), 1.0)
            have = 0
            for i in range(lo, hi):
                if present[i]:
                    have += 1
            short = int(want) - have
            for i in range(lo, hi):
                if short <= 0:
                    break
                if not present[i]:
                    hired[n_hired] = i
                    n_hired += 1
                    short -= 1
        idx = hired[:n_hired]
        for i in idx:
            present[i] = True
    else:
        idx = np.flatnonzero(leave)
    h_union = streams.week_key(keys[D.union], t)
    for k in range(newcomer_spec.shape[0]):
        h_new = streams.week_key(newcomer_keys[k], t)
        beta = newcomer_spec[k, 0] != 0.0
        for i in idx:
            mean = newcomer_spec[k, 1] if org[i] == 0 else newcomer_spec[k, 2]
            staff[k, i] = streams.beta_mean_sd(h_new, i, mean, newcomer_spec[k, 3]) if beta else mean
    for i in idx:
        union[i] = streams.uniform(h_union, i) < p[P.union_density]
        tenure[i] = 0
        adopted[i] = False
    counts[C.leavers_a] += n_left_a
    counts[C.leavers_b] += n_left_b
    if x_u.size == 0 or n_left_a + n_left_b == 0:
        return x_u, x_v, x_w
    n_keep = 0
    for q in range(x_u.size):
        if not (leave[x_u[q]] or leave[x_v[q]]):
            n_keep += 1
    counts[C.ties_lost] += x_u.size - n_keep
    new_u = np.empty(n_keep, np.int64)
    new_v = np.empty(n_keep, np.int64)
    new_w = np.empty(n_keep)
    j = 0
    for q in range(x_u.size):
        if not (leave[x_u[q]] or leave[x_v[q]]):
            new_u[j] = x_u[q]
            new_v[j] = x_v[q]
            new_w[j] = x_w[q]
            j += 1
    return new_u, new_v, new_w


def reference(m: ReferenceEngine, t: int) -> None:
    """Leaving and socialisation person by person, then hiring post by post."""
    v = m.values(MECHANISM)
    people = m.people
    mean = []
    for o, lo in ((0, 0), (1, m.world.n_a)):
        here = [p for p in people if p.org == o and p.present]
        mean.append(lane_sum(((p.index, p.culture) for p in here), lo) / len(here))
    leavers = []
    for p in people:
        lam = v.leave_rate_week * math.exp(
            v.turnover_trust_sensitivity * (0.5 - p.tl) + v.turnover_fatigue_sensitivity * (p.fatigue - 0.5)
        )
        if p.present and m.uniform(MECHANISM, "leave", t, p.index) < 1.0 - math.exp(-lam):
            leavers.append(p)
        # Everyone is socialised (a leaver's values are overwritten if the post is refilled, and an empty
        # post's values are never read).
        pull = v.socialisation_rate * math.exp(-p.tenure / v.socialisation_weeks)
        p.culture = p.culture + pull * (mean[p.org] - p.culture)
        p.tenure += 1
    if not v.growing:
        hired = leavers  # every post is refilled at once
    else:
        for p in leavers:
            p.present = False
        headcount0 = m.world.headcount0
        assert headcount0 is not None  # p[P.growing] is 1 exactly when the world has headcounts
        target = target_headcount(headcount0, m.world.growth_week, t)
        hired = []
        for o in (0, 1):
            short = int(target[o]) - sum(1 for p in people if p.org == o and p.present)
            for p in people:
                if short <= 0:
                    break
                if p.org == o and not p.present:
                    p.present = True
                    hired.append(p)
                    short -= 1
    for p in sorted(hired, key=lambda p: p.index):
        m.hire(p, t)
        p.union = m.uniform(MECHANISM, "union", t, p.index) < v.union_density
        p.tenure, p.adopted = 0, False
    if leavers and m.ties:
        gone = {p.index for p in leavers}
        kept = [tie for tie in m.ties if tie.u not in gone and tie.v not in gone]
        m.count(MECHANISM, "ties_lost", len(m.ties) - len(kept))
        m.ties = kept
    m.count(MECHANISM, "leavers_a", sum(1 for p in leavers if p.org == 0))
    m.count(MECHANISM, "leavers_b", sum(1 for p in leavers if p.org == 1))
