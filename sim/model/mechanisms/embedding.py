"""7.9 Time to embed: practising the method slowly shifts a person's culture.

Evidence: "lack of time for improvement to embed" (briefing); culture change is slow relative to programme
horizons.

``c += adopted (1 - c) / embedding_weeks``: a user of the method closes ``1/embedding_weeks`` of the gap to a
full improvement culture each week. No randomness.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..jit import kernel
from ..layout import Mechanism
from ..types import Bools, Floats

if TYPE_CHECKING:
    from ..reference import ReferenceEngine

MECHANISM = Mechanism("embedding", params={"embedding_weeks": "culture.embedding_weeks"})
P = MECHANISM.P


@kernel
def step(p: Floats, culture: Floats, adopted: Bools) -> None:
    for i in range(culture.size):
        if adopted[i]:
            culture[i] = culture[i] + (1.0 - culture[i]) / p[P.embedding_weeks]


def reference(m: ReferenceEngine, t: int) -> None:
    tau = m.values(MECHANISM).embedding_weeks
    for person in m.people:
        if person.adopted:
            person.culture = person.culture + (1.0 - person.culture) / tau
