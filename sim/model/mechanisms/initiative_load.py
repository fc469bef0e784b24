"""7.4 The initiative itself: difficulty, simultaneous changes and change fatigue.

Evidence: "the initiative itself", "the number of improvements or changes implemented simultaneously"
(briefing; Health Foundation 2015).

Load ``L = n d / (n d + change_capacity)`` with ``n = simultaneous_changes`` and ``d = method_difficulty``.
Each week ``fatigue += fatigue_rate L (1 - fatigue) - recovery_rate (1 - L) fatigue``. No randomness.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...scenario import Scenario
from ..jit import kernel
from ..layout import Mechanism, derived
from ..params import World
from ..types import Floats

if TYPE_CHECKING:
    from ..reference import ReferenceEngine


def load(sc: Scenario, world: World | None = None) -> float:
    """The load of the simultaneous changes, in [0, 1)."""
    demand = sc["initiative.simultaneous_changes"] * sc["initiative.method_difficulty"]
    return float(demand / (demand + sc["initiative.change_capacity"]))


MECHANISM = Mechanism(
    "initiative_load",
    params={
        "load": derived(load, "load of the simultaneous changes"),
        "fatigue_rate": "initiative.fatigue_rate",
        "recovery_rate": "initiative.recovery_rate",
    },
)
P = MECHANISM.P


@kernel
def step(p: Floats, fatigue: Floats) -> None:
    L = p[P.load]
    for i in range(fatigue.size):
        f = fatigue[i]
        fatigue[i] = f + p[P.fatigue_rate] * L * (1.0 - f) - p[P.recovery_rate] * (1.0 - L) * f


def reference(m: ReferenceEngine, t: int) -> None:
    v = m.values(MECHANISM)
    for person in m.people:
        f = person.fatigue
        person.fatigue = f + v.fatigue_rate * v.load * (1.0 - f) - v.recovery_rate * (1.0 - v.load) * f
