"""Work networks inside each trust and the ties across the partnership.

Inside a trust: staff sit in teams of ``team_size``; each team is a ring
lattice in which everyone has ``team_degree`` colleagues, and each tie is
rewired with probability ``rewire_prob`` to a random colleague in the same
department (``teams_per_department`` teams). That is the Watts & Strogatz
(1998) small world built team by team, so it has the high clustering and
short paths of real workplace contact networks, with department structure
(a stochastic-block flavour). It is generated with numpy rather than with
networkx generators so that a million-staff network builds in seconds;
:func:`to_networkx` exports it for analysis and the tests measure it with
networkx (degree, clustering).

Across the partnership: a sparse list of ties between staff of A and staff
of B, each with a strength in (0, 1]; see ``mechanisms/joint_working.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # networkx is imported only when a graph is made; the state module imports this one
    import networkx as nx

    from .state import State


def team_small_world(
    rng: np.random.Generator, n: int, offset: int, team_size: int, half_degree: int, teams_per_dept: int, rewire: float
) -> tuple[np.ndarray, np.ndarray]:
    """Edges (u, v), u < v, of one organisation's network (global indices)."""
    local = np.arange(n, dtype=np.int64)
    team = local // team_size
    team_start = team * team_size
    team_len = np.minimum(team_size, n - team_start)
    pos = local - team_start
    us, vs = [], []
    for j in range(1, half_degree + 1):
        keep = j < team_len  # a team smaller than the lattice simply gets fewer ties
        u = local[keep]
        v = team_start[keep] + (pos[keep] + j) % team_len[keep]
        us.append(u)
        vs.append(v)
    u = np.concatenate(us) if us else np.empty(0, np.int64)
    v = np.concatenate(vs) if vs else np.empty(0, np.int64)
    # Rewire within the department.
    dept_span = team_size * teams_per_dept
    dept_start = (u // dept_span) * dept_span
    dept_len = np.minimum(dept_span, n - dept_start)
    do = rng.random(u.size) < rewire
    target = dept_start + np.floor(rng.random(u.size) * dept_len).astype(np.int64)
    v = np.where(do, target, v)
    keep = u != v
    u, v = u[keep], v[keep]
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    key = np.sort(lo * n + hi)  # sorted distinct keys: np.unique's result, without its hash
    key = key[np.concatenate(([True], key[1:] != key[:-1]))] if key.size else key  # table (3x slower at 1M)
    return key // n + offset, key % n + offset


def incidence(n: int, eu: np.ndarray, ev: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR incidence: for node i, edges ``inc_edge[ptr[i]:ptr[i+1]]`` and neighbours ``nbr[...]``."""
    ends = np.concatenate([eu, ev])
    others = np.concatenate([ev, eu])
    eids = np.concatenate([np.arange(eu.size), np.arange(eu.size)])
    order = np.argsort(ends, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends, minlength=n), out=ptr[1:])
    return ptr, eids[order], others[order]


def to_networkx(state: State, *, include_cross: bool = True) -> nx.Graph:
    """The current networks as a ``networkx.Graph`` (node attribute ``org``; edge attribute ``cross``)."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from((i, {"org": "AB"[o]}) for i, o in enumerate(state.org.tolist()))
    g.add_edges_from(zip(state.e_u.tolist(), state.e_v.tolist()), cross=False)
    if include_cross:
        g.add_edges_from(
            (
                (u, v, {"cross": True, "strength": w})
                for u, v, w in zip(state.x_u.tolist(), state.x_v.tolist(), state.x_w.tolist())
            )
        )
    return g
