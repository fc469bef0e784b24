"""Competition incentives, takeover threat, organisational loyalty and out-group suspicion.

Evidence: the 2012 Act "prioritised competition over collaboration", "perverse
incentives", organisational loyalties against a place-based culture and
"relative power/size"; "a compatible culture and aligned values matter more
than similar size or structure" (briefing). Social identity theory: threat
strengthens in-group identification and out-group distrust (Tajfel & Turner 1979).

Takeover threat felt in A: ``T_A = method_imposition (1 + dominance)/2`` with
``dominance = max(0, (N_B - N_A)/(N_A + N_B))``; ``T_B = 0``. Threat
``h_o = competition + T_o - competition T_o``. Loyalty moves toward
``L*_o = (1 - place_identity)(loyalty + (1 - loyalty) h_o)`` at
``loyalty_rate`` per week, and partner trust erodes,
``tp *= 1 - suspicion_rate * loyalty * h_o`` (loyalty at the start of the week).
The same switch removes competition and takeover from joint working.
"""

from __future__ import annotations


def draw(rng, n: int):
    return None


def apply(st, P, ctx, draws) -> None:
    h = P.threat[st.org]
    loy0 = st.loyalty
    st.loyalty = loy0 + P["system.loyalty_rate"] * (P.loyalty_target[st.org] - loy0)
    st.tp = st.tp * (1.0 - P["system.suspicion_rate"] * loy0 * h)
