"""7.6 Competition incentives, takeover threat, organisational loyalty and out-group suspicion.

Evidence: the 2012 Act "prioritised competition over collaboration", "perverse incentives",
organisational loyalties against a place-based culture and "relative power/size"; "a compatible culture
and aligned values matter more than similar size or structure" (briefing). Social identity theory: threat
strengthens in-group identification and out-group distrust (Tajfel & Turner 1979).

Takeover threat felt in A: ``T_A = method_imposition (1 + dominance)/2`` with
``dominance = max(0, (N_B - N_A)/(N_A + N_B))``; ``T_B = 0``. Threat ``h_o = competition + T_o -
competition T_o``. Loyalty moves toward ``L*_o = (1 - place_identity)(loyalty + (1 - loyalty) h_o)`` at
``loyalty_rate`` per week, and partner trust erodes, ``tp *= 1 - suspicion_rate loyalty h_o`` (loyalty
at the start of the week). The same switch removes competition and takeover from joint working (7.5).
No randomness.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...scenario import Scenario
from ..jit import kernel
from ..layout import Mechanism, derived, per_org
from ..types import Floats, Int8s

if TYPE_CHECKING:
    from ..reference import ReferenceEngine


def takeover_a(sc: Scenario) -> float:
    """Perceived takeover of A by B (0 when the competition submodel is off)."""
    if not sc["mechanisms.competition"]:
        return 0.0
    n_a, n_b = sc["organisations.staff_a"], sc["organisations.staff_b"]
    dominance = max(0.0, (n_b - n_a) / (n_a + n_b))
    return float(sc["partnership.method_imposition"] * (0.5 + 0.5 * dominance))


def competition(sc: Scenario) -> float:
    """Competition incentives as felt (0 when the competition submodel is off)."""
    return float(sc["system.competition"]) if sc["mechanisms.competition"] else 0.0


def threat(sc: Scenario, o: int) -> float:
    comp, take = competition(sc), (takeover_a(sc) if o == 0 else 0.0)
    return comp + take - comp * take


def loyalty_target(sc: Scenario, o: int) -> float:
    l0 = sc["staff.loyalty"]
    return float((1.0 - sc["system.place_identity"]) * (l0 + (1.0 - l0) * threat(sc, o)))


MECHANISM = Mechanism(
    "competition",
    params={
        "threat": per_org(derived(lambda sc, w: threat(sc, 0)), derived(lambda sc, w: threat(sc, 1))),
        "loyalty_target": per_org(
            derived(lambda sc, w: loyalty_target(sc, 0)), derived(lambda sc, w: loyalty_target(sc, 1))
        ),
        "loyalty_rate": "system.loyalty_rate",
        "suspicion_rate": "system.suspicion_rate",
    },
)
P = MECHANISM.P


@kernel
def step(p: Floats, org: Int8s, loyalty: Floats, tp: Floats) -> None:
    for i in range(org.size):
        o = org[i]
        loy0 = loyalty[i]
        loyalty[i] = loy0 + p[P.loyalty_rate] * (p[P.loyalty_target + o] - loy0)
        tp[i] = tp[i] * (1.0 - p[P.suspicion_rate] * loy0 * p[P.threat + o])


def reference(m: ReferenceEngine, t: int) -> None:
    v = m.values(MECHANISM)
    for person in m.people:
        loy0 = person.loyalty
        person.loyalty = loy0 + v.loyalty_rate * (v.loyalty_target[person.org] - loy0)
        person.tp = person.tp * (1.0 - v.suspicion_rate * loy0 * v.threat[person.org])
