"""Mesa agents as thin views onto rows of the model's state arrays.

Reading ``agent.culture`` reads ``model.state.culture[agent.index]``; setting it
writes the array, so user code, Mesa's ``DataCollector`` and the browser UI see
ordinary agents while the submodels work on whole arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import mesa

from .params import ROLES

if TYPE_CHECKING:
    from .model import BuddyingModel


def _view(attr: str, cast: Callable[[Any], object] = float, doc: str = "") -> property:
    """A property reading and writing row ``self.index`` of the state array ``attr`` (as ``cast``)."""

    def get(self: StaffAgent | LeaderAgent) -> object:
        return cast(getattr(self.model.state, attr)[self.index])

    def put(self: StaffAgent | LeaderAgent, value: object) -> None:
        getattr(self.model.state, attr)[self.index] = value

    return property(get, put, doc=doc)


class StaffAgent(mesa.Agent):
    """A member of staff of organisation A or B."""

    model: BuddyingModel

    def __init__(self, model: BuddyingModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    culture = _view("culture", doc="improvement culture, 0-1")
    trust_partner = _view("tp", doc="trust in the partner organisation, 0-1")
    trust_leaders = _view("tl", doc="trust in own leadership and the partnership process, 0-1")
    loyalty = _view("loyalty", doc="loyalty to own organisation, 0-1")
    fatigue = _view("fatigue", doc="change fatigue, 0-1")
    adopted = _view("adopted", bool, "uses the shared improvement method")
    union = _view("union", bool, "trade-union member")
    tenure = _view("tenure", int, "weeks in post")

    @property
    def org(self) -> str:
        return "AB"[int(self.model.state.org[self.index])]

    @property
    def in_post(self) -> bool:
        """False for a vacant post (only while headcounts change: ``staff.growth_per_year`` != 0)."""
        return bool(self.model.state.present[self.index])

    @property
    def role(self) -> str:
        return ROLES[int(self.model.state.role[self.index])]

    def __repr__(self) -> str:
        return f"StaffAgent({self.index}, org={self.org}, role={self.role})"


class LeaderAgent(mesa.Agent):
    """An executive seat (seat 0 = chief executive); ``vacant`` means held by an interim."""

    model: BuddyingModel

    def __init__(self, model: BuddyingModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    commitment = _view("l_commit", doc="commitment to the partnership (board trust), 0-1")
    vacant = _view("l_vacant", bool, "seat held by an interim")
    tenure = _view("l_tenure", int, "weeks in the seat")

    @property
    def org(self) -> str:
        return "AB"[int(self.model.state.l_org[self.index])]

    @property
    def seat(self) -> int:
        return int(self.model.state.l_seat[self.index])

    @property
    def visibility(self) -> float:
        sc = self.model.config
        v = float(sc[f"leadership.visibility_{self.org.lower()}"])
        return v * sc["leadership.interim_visibility"] if self.vacant else v

    def __repr__(self) -> str:
        return f"LeaderAgent({self.org}, seat={self.seat})"
