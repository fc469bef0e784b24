"""7.3 Staff engagement (authentic or tokenistic), resistance, and trade unions.

Evidence: "authentic engagement with staff groups"; "resistance from clinicians and managers", "a lack of
trust in the process" (briefing); the open question of the role of trade unions.

Each week a member of staff is reached by an engagement activity with probability
``1 - exp(-engagement_per_year/52)``. If reached, ``tl += q_i (target_i - tl)`` where
``q_i = engagement_influence (1 - rho_i)``. ``target`` is the authenticity ``e``; ``rho_i`` is the
resistance of the person's role. Unions (the ``unions`` switch, a modifier of this submodel and of
adoption, 7.8) amplify for their members, with ``u = union_amplification``: as partners,
``target = e + u(1-e)`` and ``rho = rho_role (1-u)``; excluded, ``target = e(1-u)`` and
``rho = rho_role + u(1-rho_role)``; neutral, no change.

Draws: ``reach`` (slot = staff row).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

from .. import streams
from ..jit import inline_kernel, kernel
from ..layout import Declaration, Mechanism, derived, per_role, switch
from ..params import STANCES, weekly_prob
from ..types import Bools, Floats, Int8s, Keys

if TYPE_CHECKING:
    from ..reference import ReferenceEngine

#: The resistance rule's parameters (role and union), shared with adoption (7.8), which declares them too.
RESISTANCE_PARAMS: dict[str, Declaration] = {
    "resistance": per_role("staff.resistance_clinical", "staff.resistance_managerial", "staff.resistance_support"),
    "union_stance": derived(lambda sc, w: STANCES[sc["staff.union_stance"]], "partner 1, neutral 0, excluded -1"),
    "union_amplification": "staff.union_amplification",
    "unions_on": switch("unions"),
}

MECHANISM = Mechanism(
    "engagement",
    params={
        "reach_prob": derived(lambda sc, w: weekly_prob(sc["partnership.engagement_per_year"])),
        "engagement_authenticity": "partnership.engagement_authenticity",
        "engagement_influence": "partnership.engagement_influence",
        **RESISTANCE_PARAMS,
    },
    draws=("reach",),
    modifiers=("unions",),
)
P, D = MECHANISM.P, MECHANISM.D


@inline_kernel
def union_terms(e: float, rho: float, member: bool, stance: float, ua: float, unions_on: float) -> tuple[float, float]:
    """(engagement target, resistance) of a person: the unions' amplification for members (kernel form)."""
    if unions_on != 0.0 and member and stance != 0.0:
        if stance > 0.0:
            return e + ua * (1.0 - e), rho * (1.0 - ua)
        return e * (1.0 - ua), rho + ua * (1.0 - rho)
    return e, rho


def union_terms_reference(e: float, rho: float, member: bool, v: SimpleNamespace) -> tuple[float, float]:
    """The same rule for one person, for the reference engine (``v``: a submodel's values)."""
    if v.unions_on and member and v.union_stance != 0:
        u = v.union_amplification
        if v.union_stance > 0:
            return e + u * (1.0 - e), rho * (1.0 - u)
        return e * (1.0 - u), rho + u * (1.0 - rho)
    return e, rho


@kernel
def step(t: int, p: Floats, keys: Keys, role: Int8s, union: Bools, tl: Floats) -> None:
    h = streams.week_key(keys[D.reach], t)
    e = p[P.engagement_authenticity]
    for i in range(role.size):
        if streams.uniform(h, i) < p[P.reach_prob]:
            target, rho = union_terms(
                e, p[P.resistance + role[i]], union[i], p[P.union_stance], p[P.union_amplification], p[P.unions_on]
            )
            x = tl[i]
            tl[i] = x + p[P.engagement_influence] * (1.0 - rho) * (target - x)


def reference(m: ReferenceEngine, t: int) -> None:
    v = m.values(MECHANISM)
    for person in m.people:
        if m.uniform(MECHANISM, "reach", t, person.index) < v.reach_prob:
            target, rho = union_terms_reference(v.engagement_authenticity, v.resistance[person.role], person.union, v)
            person.tl = person.tl + v.engagement_influence * (1.0 - rho) * (target - person.tl)
