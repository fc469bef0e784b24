"""One module per submodel, in the order they run each week (see docs/ODD.md).

Each module has ``draw(...)``, which takes every random number the submodel
needs this week from the run's single generator, and ``apply(...)``, the
vectorised rule. The reference engine (``sim/model/reference.py``) calls the
same ``draw`` functions and applies the same rules one agent at a time, so the
two engines see identical random numbers and must produce identical states.
"""

from . import (adoption, competition, embedding, engagement, initiative, joint_working, leadership,
               messaging, peer_influence, staff_turnover)

#: (scenario switch, module) in the fixed weekly order.
ORDER = (
    ("leadership_turnover", leadership),
    ("messaging", messaging),
    ("engagement", engagement),
    ("initiative_load", initiative),
    ("joint_working", joint_working),
    ("competition", competition),
    ("peer_influence", peer_influence),
    ("adoption", adoption),
    ("embedding", embedding),
    ("staff_turnover", staff_turnover),
)
