"""Will it fit? The memory a run and a sweep need, estimated from the parameters before anything is built.

A run's memory is dominated by its arrays of staff, its networks and its weekly records. The estimate is

    bytes = rows x MEMORY_PER_STAFF                       (state arrays and the team network at degree 6)
          + rows x max(0, degree - 6) / 2 x MEMORY_PER_TEAM_TIE
          + cross ties x MEMORY_PER_CROSS_TIE x CROSS_TIE_HEADROOM
          + (weeks + 1) x MEMORY_PER_WEEK

where ``rows`` is both trusts' staff at the largest headcount the run reaches (growth compounds:
``staff x (1 + growth_per_year) ** (weeks / 52)``, docs/ODD.md 7.10), ``degree`` the team degree rounded
down to even, and ``cross ties`` the initial cross-organisation ties (``ties_per_100_staff`` x the smaller
trust / 100 x proximity x (1 + history)). The constants were measured by ``benchmarks/bench_memory.py``
(peak resident memory of a run in a fresh process, above a warmed-up baseline; 2026-11-28, compiled engine,
400,000 and 800,000 staff, 10 weeks; load ~4 on 2 cores, which does not change memory):

================================  ===========  ================================================
constant                          value        measured
================================  ===========  ================================================
``MEMORY_PER_STAFF``              450 B        443 B (400,000 -> 800,000 staff: +168.8 MiB)
``MEMORY_PER_TEAM_TIE``           80 B         80 B (team degree 6 -> 30 at 400,000 staff)
``MEMORY_PER_CROSS_TIE``          84 B         84 B (4 -> 1,000 ties per 100 staff)
``MEMORY_PER_WEEK``               28 KB        28.0 KB (10 -> 2,600 weeks at 10,000 staff)
``WORKER_MEMORY``                 300 MiB      ~260 MiB: interpreter, imports, compiled kernel
``DESIGN_MEMORY_PER_RUN``         250 B        96 B resident, 222 B at peak while built
================================  ===========  ================================================

Cross ties also form during a run (successful encounters introduce colleagues): ``CROSS_TIE_HEADROOM``
doubles the initial ties to leave room for them. The model is being rebuilt (two engines, new submodels):
re-run the benchmark after changes to the model's state and update the constants.

Two checks, both lifted by ``--force``: a run may need at most :data:`MAX_RUN_MEMORY` (a documented limit
far above any scenario this model is meant for: two trusts of 5 million staff need ~4.5 GB), and the runs
in flight at once (one per worker), the workers themselves and the design table must fit in 80% of the
memory this machine (or its cgroup: a container, a SLURM job) has available now. With the default worker
count, a sweep that would not fit runs on fewer workers instead, and says so.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

from ..scenario import PARAM_BY_KEY, ScenarioError

MEMORY_PER_STAFF = 450
MEMORY_PER_TEAM_TIE = 80
MEMORY_PER_CROSS_TIE = 84
CROSS_TIE_HEADROOM = 2.0
MEMORY_PER_WEEK = 28_000
WORKER_MEMORY = 300 * 2**20
DESIGN_MEMORY_PER_RUN = 250
#: The documented per-run limit (docs/sweeps.md, "Limits"); ``--force`` lifts it.
MAX_RUN_MEMORY = 8 * 2**30
#: Share of the available memory a sweep may plan to use.
HEADROOM = 0.8
#: Parameters the estimate reads (a design varying none of them has the base scenario's estimate at every point).
MEMORY_KEYS = (
    "organisations.staff_a",
    "organisations.staff_b",
    "organisations.team_degree",
    "staff.growth_per_year",
    "run.steps",
    "partnership.ties_per_100_staff",
    "partnership.bridge_scope",
    "system.geographic_proximity",
    "system.history",
)


def gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def run_memory(values: Mapping) -> dict:
    """The estimate for one run of a scenario (any mapping of parameter values): bytes and the sizes behind it."""
    weeks = int(values["run.steps"])
    growth = float(values["staff.growth_per_year"])
    factor = (1.0 + growth) ** (weeks / 52.0) if growth > 0 else 1.0  # floats: no overflow below ~1e308
    staff = (float(values["organisations.staff_a"]), float(values["organisations.staff_b"]))
    rows = sum(s * factor for s in staff)
    degree = (int(values["organisations.team_degree"]) // 2) * 2
    team_extra = rows * max(0, degree - 6) / 2
    cross = 0.0
    if values["partnership.bridge_scope"] != "leaders":
        cross = (
            float(values["partnership.ties_per_100_staff"])
            * min(staff)
            * factor
            / 100.0
            * float(values["system.geographic_proximity"])
            * (1.0 + float(values["system.history"]))
        )
    total = (
        rows * MEMORY_PER_STAFF
        + team_extra * MEMORY_PER_TEAM_TIE
        + cross * MEMORY_PER_CROSS_TIE * CROSS_TIE_HEADROOM
        + (weeks + 1) * MEMORY_PER_WEEK
    )
    return {"bytes": total, "staff": rows, "cross_ties": cross, "weeks": weeks, "growth_factor": factor}


def describe(est: dict) -> str:
    parts = [
        f"{est['staff']:,.0f} staff"
        + (f" (after growth x{est['growth_factor']:,.3g})" if est["growth_factor"] > 1 else "")
    ]
    if est["cross_ties"]:
        parts.append(f"{est['cross_ties']:,.0f} cross-organisation ties")
    parts.append(f"{est['weeks']:,} weeks")
    return f"about {gib(est['bytes'])} ({', '.join(parts)})"


def available_memory() -> int | None:
    """Bytes this process may still use: the machine's MemAvailable, or less if a cgroup (a container, a SLURM
    job) sets a lower limit; None where neither can be read."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    if not found and hasattr(os, "sysconf"):
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError):
            pass
    found += _cgroup_room()
    return min(found) if found else None


def _cgroup_room() -> list[int]:
    out = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":  # cgroup v2
            for root in (Path("/sys/fs/cgroup") / path.lstrip("/"), Path("/sys/fs/cgroup")):
                room = _room(root / "memory.max", root / "memory.current", root / "memory.stat", "inactive_file")
                if room is not None:
                    out.append(room)
                    break
        elif "memory" in controllers.split(","):  # cgroup v1
            for root in (Path("/sys/fs/cgroup/memory") / path.lstrip("/"), Path("/sys/fs/cgroup/memory")):
                room = _room(
                    root / "memory.limit_in_bytes",
                    root / "memory.usage_in_bytes",
                    root / "memory.stat",
                    "total_inactive_file",
                )
                if room is not None:
                    out.append(room)
                    break
    return out


def _room(limit_file: Path, usage_file: Path, stat_file: Path, reclaimable: str) -> int | None:
    try:
        text = limit_file.read_text().strip()
        usage = int(usage_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if text == "max" or not text.isdigit() or int(text) >= 2**60:
        return None  # no limit here
    cache = 0
    try:
        for line in stat_file.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == reclaimable:
                cache = int(value)
    except (OSError, ValueError):
        pass
    return max(0, int(text) - max(0, usage - cache))


# --- experiments ------------------------------------------------------------------------------------
def worst_point(exp) -> dict:
    """Parameter values of the design's most demanding run for memory: each varied parameter the estimate
    reads at the value that makes the estimate largest (it grows with each of them separately)."""
    base = dict(exp.base)
    if exp.design == "table" and exp.points:
        return max(({**base, **p} for p in exp.points), key=lambda v: run_memory(v)["bytes"])
    worst = dict(base)
    for f in exp.factors:
        if f.key not in MEMORY_KEYS:
            continue
        if f.values is not None:
            candidates = list(f.values)
            if len(candidates) > 64 and PARAM_BY_KEY[f.key].kind in (int, float):
                candidates = [min(candidates), max(candidates)]
        else:
            candidates = [f.low, f.high]
            if PARAM_BY_KEY[f.key].kind is int:
                candidates = [math.floor(f.low), math.ceil(f.high)]
        worst[f.key] = max(candidates, key=lambda v, k=f.key: run_memory({**base, k: v})["bytes"])
    return worst


def plan_memory(
    exp,
    runs: int,
    *,
    workers: int | None,
    workers_given: bool,
    local: bool,
    force: bool,
    log=print,
) -> int | None:
    """Check a sweep's memory before anything is built; returns the worker count to use (fewer than the default
    when the default would not fit). An ExperimentError if it cannot fit, unless ``force``."""
    from .design import ExperimentError

    source = str(exp.path) if exp.path else exp.name
    worst = run_memory(worst_point(exp))
    design = runs * DESIGN_MEMORY_PER_RUN
    if force:
        return workers
    if worst["bytes"] > MAX_RUN_MEMORY:
        raise ExperimentError(
            source,
            "experiment",
            f"its largest run needs {describe(worst)}, more than the {gib(MAX_RUN_MEMORY)} a run may use "
            "(docs/sweeps.md, 'Limits'); use --force if you mean it",
        )
    avail = available_memory()
    if avail is None:
        return workers
    budget = avail * HEADROOM
    concurrent = 1 if not local else (workers or 1)
    per_worker = worst["bytes"] + (WORKER_MEMORY if local and concurrent > 1 else 0)

    def need(k: int) -> float:
        return design + k * per_worker

    if need(concurrent) <= budget:
        return workers
    fits = int((budget - design) // per_worker) if budget > design else 0
    if local and not workers_given and fits >= 1:
        log(
            f"memory: {concurrent} workers would need {gib(need(concurrent))} (a run: {describe(worst)}); "
            f"{gib(avail)} is available, so using {fits} worker(s)"
        )
        return fits
    hint = f"; try --workers {fits}" if local and fits >= 1 else ""
    raise ExperimentError(
        source,
        "experiment",
        f"needs about {gib(need(concurrent))} at once ({concurrent} run(s) in flight, each {describe(worst)}; "
        f"the design table {gib(design)}), more than the {gib(budget)} (80% of {gib(avail)} available) this "
        f"machine has now{hint}; or --force if you mean it",
    )


def check_run_memory(scenario, *, force: bool, source: str = "") -> dict:
    """For ``buddysim run``: a ScenarioError if one run of ``scenario`` would not fit (unless ``force``)."""
    est = run_memory(scenario)
    if force:
        return est
    if est["bytes"] > MAX_RUN_MEMORY:
        raise ScenarioError(
            source,
            None,
            f"a run of this scenario needs {describe(est)}, more than the {gib(MAX_RUN_MEMORY)} a run may use "
            "(docs/sweeps.md, 'Limits'); use --force if you mean it",
        )
    avail = available_memory()
    if avail is not None and est["bytes"] > avail * HEADROOM:
        raise ScenarioError(
            source,
            None,
            f"a run of this scenario needs {describe(est)}; this machine has {gib(avail)} available now; "
            "use --force if you mean it",
        )
    return est
