"""Time to embed: practising the method slowly shifts a person's culture.

Evidence: "lack of time for improvement to embed" (briefing); culture change
is slow relative to programme horizons.

``c += adopted * (1 - c) / embedding_weeks``: a user of the method closes
``1/embedding_weeks`` of the gap to a full improvement culture each week.
No randomness.
"""

from __future__ import annotations


def draw(rng, n: int):
    return None


def apply(st, P, ctx, draws) -> None:
    st.culture = st.culture + st.adopted * (1.0 - st.culture) / P["culture.embedding_weeks"]
