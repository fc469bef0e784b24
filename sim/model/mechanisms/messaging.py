"""Each board's weekly message about the partnership, and its alignment across the two.

Evidence: "clear and consistent messaging across partner organisations";
"lack of strong leadership and shared vision" as a barrier (briefing).

Board stance ``C_o`` is the mean commitment over the organisation's seats.
Message ``m_o = clip(a * (C_A + C_B)/2 + (1 - a) * (C_o + noise * eps_o), 0, 1)``
with ``a = message_alignment``. The gap ``g = |m_A - m_B|``; a gap above
``conflict_threshold`` is a message conflict (logged when a spell starts).
A member of staff hears their own board's message with probability
``V_o = visibility_o * mean(1 or interim_visibility over seats)``, and then
``tl += r(1-g)(m_o - tl) - k g tl`` and ``tp += r(1-g)(m_o - tp)``
(``r = message_influence``, ``k = conflict_cost``): consistent messages pull
trust toward the boards' stance, inconsistent ones cost trust in the process.
"""

from __future__ import annotations

import numpy as np


def draw(rng: np.random.Generator, n: int):
    return rng.standard_normal(2), rng.random(n)


def board_stance(st) -> np.ndarray:
    """Mean commitment of each organisation's seats (seats of A come first, then B)."""
    return st.l_commit.reshape(2, -1).mean(axis=1)


def org_visibility(st, P) -> np.ndarray:
    per_seat = np.where(st.l_vacant, P["leadership.interim_visibility"], 1.0)
    return P.visibility * per_seat.reshape(2, -1).mean(axis=1)


def messages(st, P, eps) -> tuple[np.ndarray, float]:
    c = board_stance(st)
    a = P["leadership.message_alignment"]
    m = np.clip(a * (c[0] + c[1]) / 2.0 + (1.0 - a) * (c + P["leadership.message_noise"] * eps), 0.0, 1.0)
    return m, abs(float(m[0]) - float(m[1]))


def apply(st, P, ctx, draws) -> None:
    eps, hear = draws
    m, gap = messages(st, P, eps)
    ctx.note_gap(gap, P["leadership.conflict_threshold"])
    vis = org_visibility(st, P)
    n_a = P.n_a
    heard = np.flatnonzero(np.concatenate([hear[:n_a] < vis[0], hear[n_a:] < vis[1]]))
    r = P["leadership.message_influence"] * (1.0 - gap)
    k = P["leadership.conflict_cost"] * gap
    mo = np.where(heard < n_a, m[0], m[1])
    tl, tp = st.tl[heard], st.tp[heard]
    st.tl[heard] = tl + r * (mo - tl) - k * tl
    st.tp[heard] = tp + r * (mo - tp)
