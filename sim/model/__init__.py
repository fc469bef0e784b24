"""The world: state, networks, submodels, engines and outcomes. Knows nothing of files or screens.

``Simulation`` is one run on either engine (no Mesa); ``BuddyingModel`` is the same as a ``mesa.Model`` with
agent views (imported on first use, so batch runs do not import Mesa).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .outcomes import BEDDED_IN, FAILED, OUTCOMES, UNDECIDED
from .simulation import ENGINES, ReferenceModel, Simulation

if TYPE_CHECKING:
    from .model import BuddyingModel

__all__ = ["BEDDED_IN", "ENGINES", "FAILED", "OUTCOMES", "UNDECIDED", "BuddyingModel", "ReferenceModel", "Simulation"]


def __getattr__(name: str) -> type[BuddyingModel]:
    if name == "BuddyingModel":
        from .model import BuddyingModel

        return BuddyingModel
    raise AttributeError(name)
