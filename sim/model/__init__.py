"""The world: state, networks, submodels, engines and outcomes. Knows nothing of files or screens."""

from .model import BuddyingModel
from .outcomes import BEDDED_IN, FAILED, OUTCOMES, UNDECIDED
from .reference import ReferenceModel

__all__ = ["BEDDED_IN", "FAILED", "OUTCOMES", "UNDECIDED", "BuddyingModel", "ReferenceModel"]
