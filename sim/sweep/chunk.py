"""One chunk of runs, as a worker runs it: the task, the two tables it makes, and what they must hold.

This module (with the design) decides what a sweep records, so it is part of the code version
(:mod:`sim.sweep.provenance`); the executors and the store are not.
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass

import pyarrow as pa

from ..model.metrics import METRICS
from ..run import outcome_event_kinds, run
from ..scenario import PARAM_BY_KEY, Scenario
from .faults import failpoint

_ARROW = {float: pa.float64(), int: pa.int64(), str: pa.string(), bool: pa.bool_()}
#: Columns of the runs table before the varied parameters, and after them (then metrics, then statistics).
ID_COLUMNS = ("run_id", "point", "replication", "seed")
RESULT_COLUMNS = ("status", "error", "outcome", "outcome_step", "reason", "seconds")


def runs_schema(param_keys: list[str], final: list[str] = ()) -> pa.Schema:
    fields = [(c, pa.int64()) for c in ID_COLUMNS]
    fields += [(k, _ARROW[PARAM_BY_KEY[k].kind]) for k in param_keys]
    fields += [
        ("status", pa.string()),
        ("error", pa.string()),
        ("outcome", pa.string()),
        ("outcome_step", pa.int64()),
        ("reason", pa.string()),
        ("seconds", pa.float64()),
    ]
    fields += [(f"week_{k}", pa.int64()) for k in outcome_event_kinds()]  # first week of each outcome event
    fields += [(m, pa.float64()) for m in METRICS]
    fields += [(f, pa.float64()) for f in final if f not in METRICS]
    names = [name for name, _ in fields]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"runs table would have two columns named {', '.join(dup)}")
    return pa.schema(fields)


def series_schema(metrics: list[str]) -> pa.Schema:
    names = ["run_id", "step", *metrics]
    if len(set(names)) != len(names):
        raise ValueError("series table would have two columns with one name")
    return pa.schema([("run_id", pa.int64()), ("step", pa.int64())] + [(m, pa.float64()) for m in metrics])


def recorded_steps(steps: int, every: int) -> int:
    """Rows a run of ``steps`` weeks leaves in the series table: weeks 0, every, 2 every, ... and the last."""
    return steps // every + 1 + (1 if steps % every else 0)


@dataclass
class Task:
    """Everything a worker needs for one chunk (small, picklable, no file access)."""

    chunk: int
    base: dict
    param_keys: list
    rows: list  # (run_id, point, replication, seed, params tuple)
    series: list
    every: int
    final: list = ()
    code_version: str | None = None  # the sweep's; a worker with other code refuses the task
    timeline: tuple = ()  # the base scenario's [[timeline]] entries (checked), applied in every run


class CodeMismatchError(RuntimeError):
    """A worker whose installed model code differs from the sweeping process's."""


def run_chunk(task: Task) -> tuple[int, pa.Table, pa.Table | None]:
    """Run one chunk; a failing run is recorded with its error and does not stop the others."""
    failpoint(f"worker.chunk.{task.chunk}")
    if task.code_version is not None:
        from .provenance import code_version

        mine = code_version()
        if mine != task.code_version:
            import socket

            raise CodeMismatchError(
                f"the worker on {socket.gethostname()} runs other model code (code version {mine}; the sweep's is "
                f"{task.code_version}): install the same buddysim on the workers"
            )
    cols: dict[str, list] = {f.name: [] for f in runs_schema(task.param_keys, task.final)}
    scols: dict[str, list] = {f.name: [] for f in series_schema(task.series)}
    for run_id, point, rep, seed, params in task.rows:
        values = dict(zip(task.param_keys, params))
        t0 = time.perf_counter()
        rec = {"run_id": run_id, "point": point, "replication": rep, "seed": seed, **values}
        try:
            scenario = Scenario({**task.base, **values}, name="sweep")
            if task.timeline:
                scenario = scenario.with_timeline(task.timeline)
            result = run(scenario, seed, statistics=task.final)
            final = result.series.iloc[-1]
            rec.update(
                status="ok",
                error="",
                outcome=result.outcome,
                outcome_step=result.outcome_step,
                reason=result.reason,
                **{f"week_{k}": w for k, w in result.event_weeks().items()},
                **{m: float(final[m]) for m in METRICS},
                **result.statistics,
            )
            if task.series:
                s = result.series
                last = int(s["step"].iloc[-1])
                keep = s[(s["step"] % task.every == 0) | (s["step"] == last)]
                scols["run_id"].extend([run_id] * len(keep))
                scols["step"].extend(keep["step"].astype(int).tolist())
                for m in task.series:
                    scols[m].extend(keep[m].astype(float).tolist())
        except Exception as exc:
            tb = traceback.format_exception(exc)
            rec.update(
                status="failed",
                error=f"{type(exc).__name__}: {exc}\n{''.join(tb[-3:])}",
                outcome=None,
                outcome_step=None,
                reason=None,
                **dict.fromkeys((*METRICS, *task.final), math.nan),
            )
        rec["seconds"] = time.perf_counter() - t0
        for name in cols:
            cols[name].append(rec.get(name))
    runs = pa.table(cols, schema=runs_schema(task.param_keys, task.final))
    series = pa.table(scols, schema=series_schema(task.series)) if task.series else None
    return task.chunk, runs, series
