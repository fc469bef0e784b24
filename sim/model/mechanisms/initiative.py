"""The initiative itself: difficulty, simultaneous changes and change fatigue.

Evidence: "the initiative itself", "the number of improvements or changes
implemented simultaneously" (briefing; Health Foundation 2015).

Load ``L = n d / (n d + capacity)`` with ``n = simultaneous_changes`` and
``d = method_difficulty``. Each week
``fatigue += fatigue_rate * L * (1 - fatigue) - recovery_rate * (1 - L) * fatigue``.
No randomness.
"""

from __future__ import annotations


def draw(rng, n: int):
    return None


def apply(st, P, ctx, draws) -> None:
    L = P.load
    f = st.fatigue
    st.fatigue = f + P["initiative.fatigue_rate"] * L * (1.0 - f) - P["initiative.recovery_rate"] * (1.0 - L) * f
