"""How the model's numba functions are compiled.

* ``inline_kernel``: tiny helpers (the random streams' hash, a logistic) inlined into their callers.
* ``kernel``: a submodel's rule, compiled as part of the week kernel that calls it (not cached on its own:
  numba's cache is keyed on one source file and would not notice a change in a file it depends on).
* ``cached_kernel``: a function whose code depends only on its own file, compiled once and cached next to
  it (``__pycache__``).

The week kernel itself is generated from the declared submodels and cached under a name that is a digest
of every source file it depends on (:mod:`sim.model.compiled`), so a change anywhere in the model
recompiles it instead of loading stale machine code.

IEEE arithmetic throughout (no fastmath), with numpy's rules for division by zero, so that the compiled
engine and the one-agent-at-a-time reference agree to the last bit wherever they add in the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numba
from numba.core.dispatcher import Dispatcher

# Each decorator returns numba's ``Dispatcher`` of the function, which numba's own type stubs make callable
# with the function's parameters and return type: a call between kernels is checked against the callee's
# annotations (numba itself ignores them).

ERROR_MODEL: Final = "numpy"  # numpy's rules for division by zero (see above)


def inline_kernel[F: Callable[..., object]](f: F) -> Dispatcher[F]:
    return numba.njit(inline="always", error_model=ERROR_MODEL)(f)


def kernel[F: Callable[..., object]](f: F) -> Dispatcher[F]:
    return numba.njit(error_model=ERROR_MODEL)(f)


def cached_kernel[F: Callable[..., object]](f: F) -> Dispatcher[F]:
    return numba.njit(cache=True, error_model=ERROR_MODEL)(f)
