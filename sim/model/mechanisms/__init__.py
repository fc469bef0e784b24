"""One module per submodel, in the order they run each week (see docs/ODD.md).

Each module has ``draw(...)``, which takes every random number the submodel
needs this week from the run's single generator, and ``apply(...)``, the
vectorised rule. The reference engine (``sim/model/reference.py``) calls the
same ``draw`` functions and applies the same rules one agent at a time, so the
two engines see identical random numbers and must produce identical states.
"""

from . import (
    adoption,
    competition,
    embedding,
    engagement,
    initiative,
    joint_working,
    leadership,
    messaging,
    peer_influence,
    staff_turnover,
)

# The weekly order is sim.model.engine.PIPELINE (docs/ODD.md, section 3).
