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

import numba

OPTIONS = {"error_model": "numpy"}


def inline_kernel(f):
    return numba.njit(inline="always", **OPTIONS)(f)


def kernel(f):
    return numba.njit(**OPTIONS)(f)


def cached_kernel(f):
    return numba.njit(cache=True, **OPTIONS)(f)
