"""The submodels, one module each, run every week in the order of the ``[mechanisms]`` switches of the schema.

A submodel's module is named after its switch and holds (docs/ODD.md section 7 and CONTRIBUTING.md):

* its ODD section as the module docstring (equations, evidence, draws);
* ``MECHANISM``: its declaration (:class:`sim.model.layout.Mechanism`): parameters, draws, counters,
  outputs, memory, events, the switches that modify it;
* ``step(...)``: the rule as a numba kernel, called by the generated week kernel (its argument names say
  what it reads and writes: see :mod:`sim.model.compiled`);
* ``reference(m, t)``: the same rule one agent at a time, for the reference engine.

Switches that modify a submodel rather than run on their own (``unions``) are listed as its ``modifiers``.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING

from ...scenario import MECHANISMS

if TYPE_CHECKING:
    from ..layout import Mechanism
    from ..state import StaffVariable


@cache
def modules() -> tuple[ModuleType, ...]:
    """The submodels' modules in weekly order (the schema's order of switches, modifiers left out)."""
    modifiers: set[str] = set()
    out = []
    unowned = []
    for name in MECHANISMS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            unowned.append(name)  # must be some submodel's modifier
            continue
        declared = module.MECHANISM
        if declared.name != name:
            raise RuntimeError(f"sim/model/mechanisms/{name}.py declares the mechanism {declared.name!r}")
        modifiers.update(declared.modifiers)
        out.append(module)
    missing = [name for name in unowned if name not in modifiers]
    if missing:
        raise RuntimeError(
            f"[mechanisms] switches in sim/scenario.py with no submodel sim/model/mechanisms/<name>.py that no "
            f"submodel lists as a modifier: {', '.join(missing)}"
        )
    return tuple(out)


def declarations() -> tuple[Mechanism, ...]:
    """The :class:`~sim.model.layout.Mechanism` of every submodel, in weekly order."""
    return tuple(m.MECHANISM for m in modules())


def staff_variables() -> tuple[StaffVariable, ...]:
    """Every staff attitude: the core ones (sim.model.state) and any a submodel declares (``STAFF``)."""
    from ..state import CORE_STAFF

    extra = tuple(v for m in modules() for v in getattr(m, "STAFF", ()))
    return CORE_STAFF + extra
