"""Running a design: chunks of runs, on one of several executors, into the result store.

Executors: ``serial`` (this process), ``processes`` (local worker processes,
the default with more than one worker) and ``dask`` (an existing Dask
cluster, through ``Client.get_executor()``, the standard
``concurrent.futures`` interface). SLURM job arrays run one ``--shard I/N``
each; ``merge`` joins the shards. A run's result depends only on its
parameters and seed, never on the executor, worker count or order.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ..model.metrics import METRICS
from ..run import outcome_event_kinds, run
from ..scenario import PARAM_BY_KEY, Scenario
from .design import Experiment, ExperimentError, chunk_size, run_cost
from .store import ResultStore, now, provenance

#: With the default worker count, a sweep estimated to take less than this on one core runs serially.
SMALL_SWEEP_SECONDS = 5.0
_ARROW = {float: pa.float64(), int: pa.int64(), str: pa.string(), bool: pa.bool_()}
INT_METRICS = {
    "interim_seats_a",
    "interim_seats_b",
    "headcount_a",
    "headcount_b",
    "cross_ties",
    "message_conflict",
    "encounters",
    "successes",
    "ties_formed",
    "ties_lost",
    "leavers_a",
    "leavers_b",
    "influence_pairs",
}


def runs_schema(param_keys: list[str], final: list[str] = ()) -> pa.Schema:
    fields = [("run_id", pa.int64()), ("point", pa.int64()), ("replication", pa.int64()), ("seed", pa.int64())]
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
    return pa.schema(fields)


def series_schema(metrics: list[str]) -> pa.Schema:
    return pa.schema([("run_id", pa.int64()), ("step", pa.int64())] + [(m, pa.float64()) for m in metrics])


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


def run_chunk(task: Task) -> tuple[int, pa.Table, pa.Table | None]:
    """Run one chunk; a failing run is recorded with its error and does not stop the others."""
    cols: dict[str, list] = {f.name: [] for f in runs_schema(task.param_keys, task.final)}
    scols: dict[str, list] = {f.name: [] for f in series_schema(task.series)}
    for run_id, point, rep, seed, params in task.rows:
        values = dict(zip(task.param_keys, params))
        t0 = time.perf_counter()
        rec = {"run_id": run_id, "point": point, "replication": rep, "seed": seed, **values}
        try:
            result = run(Scenario({**task.base, **values}, name="sweep"), seed, statistics=task.final)
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


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ExperimentError("--shard", None, f"expected I/N such as 3/10, got {text!r}") from None
    if not (n >= 1 and 1 <= i <= n):
        raise ExperimentError("--shard", None, f"expected 1 <= I <= N, got {text!r}")
    return i, n


def plan(exp: Experiment):
    """The design table and its chunks (a fixed function of the experiment file)."""
    table = exp.design_table()
    keys = [f.key for f in exp.factors]
    size = chunk_size(exp, len(table))
    rows = list(
        zip(
            table["run_id"].tolist(),
            table["point"].tolist(),
            table["replication"].tolist(),
            table["seed"].tolist(),
            zip(*[table[k].tolist() for k in keys]) if keys else [()] * len(table),
        )
    )
    rows = [(a, b, c, d, tuple(e)) for a, b, c, d, e in rows]
    chunks = [rows[i : i + size] for i in range(0, len(rows), size)]
    return table, keys, size, chunks


def sweep(
    exp: Experiment,
    out: Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    shard: tuple[int, int] | None = None,
    progress: Callable | None = None,
    log=print,
    planned=None,
) -> dict:
    """Run (or resume) an experiment into ``out``; returns the manifest. ``planned``: ``plan(exp)``, if made."""
    table, keys, size, chunks = planned or plan(exp)
    store = ResultStore(out, exp)
    store.open()
    existing = store.read_manifest()
    if existing and existing.get("status") == "complete" and shard is None:
        log(f"{out}: already complete ({existing['counts']['done']} runs); nothing to do")
        return existing
    mine = [c for c in range(len(chunks)) if shard is None or c % shard[1] == shard[0] - 1]
    done = store.done_chunks()
    todo = [c for c in mine if c not in done]
    runs_total = sum(len(chunks[c]) for c in mine)
    runs_done = runs_total - sum(len(chunks[c]) for c in todo)

    if scheduler:
        executor_kind = "dask"
    elif workers is None:
        workers = os.cpu_count() or 1
        if sum(len(chunks[c]) for c in todo) * run_cost(exp) < SMALL_SWEEP_SECONDS:
            workers = 1  # starting worker processes (~2 s) would cost more than it saves
        executor_kind = "processes" if workers > 1 else "serial"
    else:
        executor_kind = "processes" if workers > 1 else "serial"
    manifest = {
        "experiment": {
            "name": exp.name,
            "file": str(exp.path) if exp.path else None,
            "sha256": exp.sha256,
            "design": exp.design,
            "factors": keys,
            "replications": exp.replications,
            "seed": exp.seed,
            "common_random_numbers": exp.common_random_numbers,
            "series": exp.series,
            "every": exp.every,
            "final": exp.final,
            "description": exp.description,
        },
        "base_scenario": dict(exp.base),
        "design": {
            "points": int(table["point"].nunique()) if len(table) else 0,
            "runs": len(table),
            "chunk_size": size,
            "chunks": len(chunks),
        },
        "shard": None if shard is None else {"index": shard[0], "of": shard[1], "chunks": len(mine)},
        "executor": {"kind": executor_kind, "workers": workers, "scheduler": scheduler, "engine": "compiled"},
        "provenance": provenance(),
        "started": (existing or {}).get("started", now()) if shard is None else now(),
        "resumed": bool(done & set(mine)),
        "finished": None,
        "status": "running",
        "counts": {"total": len(table), "this_shard": runs_total if shard else None},
    }
    manifest_name = "manifest.json" if shard is None else f"manifest.shard-{shard[0]}-of-{shard[1]}.json"
    store.write_manifest(manifest, manifest_name)
    if runs_done:
        log(f"resuming: {runs_done} of {runs_total} runs already done")

    tasks = (Task(c, dict(exp.base), keys, chunks[c], exp.series, exp.every, exp.final) for c in todo)
    bar = progress(total=runs_total, initial=runs_done) if progress else None
    failed = 0
    try:
        for chunk, runs, series in _execute(tasks, executor_kind, workers, scheduler):
            store.write_chunk(chunk, runs, series)
            failed += sum(1 for s in runs.column("status").to_pylist() if s != "ok")
            if bar is not None:
                bar.update(runs.num_rows)
    except KeyboardInterrupt:
        manifest.update(status="interrupted", finished=now())
        store.write_manifest(manifest, manifest_name)
        raise
    finally:
        if bar is not None:
            bar.close()
    if failed:
        log(f"{failed} run(s) failed in this session; their errors are in the runs table (status, error)")

    manifest["finished"] = now()
    if shard is not None:
        # Shards never finalise: two finishing at once on a shared file system would race. `merge` does it.
        manifest["status"] = "shard complete"
        manifest["counts"].update(done=runs_total - failed, failed=failed)
        store.write_manifest(manifest, manifest_name)
        left = len(chunks) - len(store.done_chunks())
        log(
            f"shard {shard[0]}/{shard[1]} complete; "
            + (
                f"{left} chunk(s) of other shards still to run"
                if left
                else f"all chunks done: run  buddysim merge {out}"
            )
        )
        return manifest
    return finish(store, len(chunks), manifest)


def finish(store: ResultStore, n_chunks: int, manifest: dict) -> dict:
    counts = store.finalize(n_chunks)
    store.remove_parts()
    manifest["counts"].update(
        done=counts["runs"] - counts["failed"], failed=counts["failed"], series_rows=counts["series_rows"]
    )
    manifest["status"] = "complete"
    manifest["finished"] = manifest.get("finished") or now()
    store.write_manifest(manifest)
    return manifest


def merge(out: Path, log=print) -> dict:
    """Join the parts written by shards into the final tables (all chunks must be finished)."""
    import json

    from .design import load_saved_experiment

    out = Path(out)
    exp = load_saved_experiment(out)
    store = ResultStore(out, exp)
    _, _, _, chunks = plan(exp)
    shards = sorted(out.glob("manifest.shard-*.json"))
    manifest = store.read_manifest()
    if manifest and manifest.get("status") == "complete":
        log(f"{out}: already complete")
        return manifest
    if manifest is None:
        manifest = {k: v for k, v in json.loads(shards[0].read_text()).items() if k != "shard"} if shards else {}
    manifest["counts"] = {"total": sum(len(c) for c in chunks)}
    manifest["merged_shards"] = [s.name for s in shards]
    manifest["shard"] = None
    manifest["finished"] = now()
    return finish(store, len(chunks), manifest)


def _execute(tasks, kind: str, workers: int | None, scheduler: str | None):
    """Yield chunk results as they finish, keeping a bounded number of tasks in flight."""
    if kind == "serial":
        for task in tasks:
            yield run_chunk(task)
        return
    if kind == "processes":
        ctx = multiprocessing.get_context("spawn")
        pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_ignore_sigint)
        finished = False
        try:
            yield from _bounded(pool, tasks, 2 * workers)
            finished = True
        finally:
            if finished:
                pool.shutdown(wait=True)
            else:  # Ctrl-C, SIGTERM or an error: do not wait for chunks in flight; a resume redoes them
                procs = list((getattr(pool, "_processes", None) or {}).values())
                pool.shutdown(wait=False, cancel_futures=True)
                for proc in procs:
                    proc.terminate()
        return
    from distributed import Client

    if scheduler.endswith(".json") and Path(scheduler).exists():
        client = Client(scheduler_file=scheduler, timeout="30s")
    else:
        client = Client(scheduler, timeout="30s")
    try:
        n = max(1, sum(client.nthreads().values()))
        yield from _bounded(client.get_executor(pure=False), tasks, 2 * n)
    finally:
        client.close()


def _ignore_sigint() -> None:
    """Worker processes leave Ctrl-C to the sweeping process, which saves state and stops them."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _bounded(executor, tasks, limit: int):
    pending = set()
    tasks = iter(tasks)
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < limit:
                try:
                    pending.add(executor.submit(run_chunk, next(tasks)))
                except StopIteration:
                    exhausted = True
            if not pending:
                return
            finished, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                yield fut.result()
    finally:
        for fut in pending:
            fut.cancel()
