"""Running a design: chunks of runs, on one of several executors, into the result store.

Executors: ``serial`` (this process), ``processes`` (local worker processes, :mod:`sim.sweep.pool`; the
default with more than one worker) and ``dask`` (an existing Dask cluster, through
``Client.get_executor()``). SLURM job arrays run one ``--shard I/N`` each; ``merge`` joins the shards. A
run's result depends only on its parameters and seed, never on the executor, worker count or order, so a
sweep begun on a cluster can be finished locally and the tables are the same.

Every session is recorded in the manifest (start, end, how it ended, host, versions, what it computed and
recomputed), and every way a session can end (finished, Ctrl-C or SIGTERM, a lost cluster, a worker that
keeps dying, a full disk) leaves the manifest saying so; a SIGKILL cannot be recorded by the process that
receives it, so the next session records it ("died"), and :func:`sim.sweep.store.read_status` reports
such a folder as interrupted, not running.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from .chunk import Task, run_chunk
from .design import Experiment, ExperimentError, Plan, design_size, load_saved_experiment, make_plan, run_cost
from .provenance import code_files, code_version, differences, fingerprint, session_info
from .resources import plan_memory
from .store import (
    SETUP_LOCK,
    ChunksDamagedError,
    FinalTableError,
    FolderLock,
    ResultStore,
    SweepError,
    check_sweep_out,
    is_sweep_folder,
    now,
    read_json,
    write_file,
)

#: With the default worker count, a sweep estimated to take less than this on one core runs serially.
SMALL_SWEEP_SECONDS = 5.0
#: Times the final tables are attempted when chunks fail verification while they are made.
FINALIZE_ATTEMPTS = 3


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


def plan(exp: Experiment) -> Plan:
    """The design table and its chunks (a fixed function of the experiment file)."""
    return make_plan(exp)


def _details(exp: Experiment) -> dict:
    return {"experiment_text": exp.text, "base_scenario": dict(exp.base), "code_files": code_files()}


# --- Dask ---------------------------------------------------------------------------------------------------
_ADDRESS = re.compile(r"^(?:(tcp|tls|ws|wss|ucx)://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.\-]+):(\d{1,5})$")


def connect(scheduler: str):
    """A Dask client for ``scheduler`` (an address or a scheduler file); a SweepError saying what is wrong."""
    try:
        from distributed import Client
    except ImportError:
        raise SweepError("--scheduler", None, "a Dask cluster needs Dask: pip install 'buddysim[cluster]'") from None
    shown = scheduler if scheduler.isprintable() else repr(scheduler)
    if scheduler.endswith(".json"):
        if "\x00" in scheduler:
            raise SweepError("--scheduler", None, f"{shown}: the path contains a NUL byte")
        info = read_json(Path(scheduler))
        if info is None:
            exists = Path(scheduler).exists()
            raise SweepError(
                "--scheduler",
                None,
                f"{shown}: " + ("not a readable Dask scheduler file (JSON)" if exists else "no such scheduler file"),
            )
        address = info.get("address")
        if not isinstance(address, str) or not _ADDRESS.match(address):
            raise SweepError("--scheduler", None, f"{shown}: the scheduler file names no valid address")
        kwargs = {"scheduler_file": scheduler}
    else:
        m = _ADDRESS.match(scheduler)
        if not m or not 0 < int(m.group(3)) < 65536:
            raise SweepError(
                "--scheduler",
                None,
                f"{shown} is not a Dask scheduler address: expected tcp://HOST:PORT (or tls://, ws://, wss://, "
                "ucx://), or a scheduler file ending in .json",
            )
        kwargs = {"address": scheduler}
    try:
        return Client(**kwargs)
    except Exception as exc:  # distributed raises OSError, TimeoutError, ValueError, ... for an unreachable one
        raise SweepError(
            "--scheduler",
            None,
            f"cannot reach the Dask scheduler at {shown} ({type(exc).__name__}: {exc}); is it running, and is the "
            "address right? (or run locally: leave out --scheduler and DASK_SCHEDULER_ADDRESS)",
        ) from None


def _dask_results(client, tasks, where: str):
    try:
        n = max(1, sum(client.nthreads().values()))
        yield from _bounded(client.get_executor(pure=False), tasks, 2 * n)
    except (SweepError, KeyboardInterrupt):
        raise
    except Exception as exc:  # a lost scheduler, a worker killed too often (KilledWorker), a cancelled task
        raise SweepError(
            "--scheduler",
            None,
            f"the Dask cluster at {where} failed ({type(exc).__name__}: {exc or 'no details'}); the chunks finished "
            "so far are kept: run the same command again to resume (on the cluster, or locally without "
            "--scheduler: the results are the same)",
        ) from None


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


# --- the sweep ----------------------------------------------------------------------------------------------
def sweep(
    exp: Experiment,
    out: Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    shard: tuple[int, int] | None = None,
    progress: Callable | None = None,
    log=print,
    planned: Plan | None = None,
    force: bool = False,
) -> dict:
    """Run (or resume) an experiment into ``out``; returns the manifest.

    ``planned``: ``plan(exp)``, if already made. ``force``: run a design larger than the limits (design
    size, memory; docs/sweeps.md "Limits"). A SweepError (exit status 2 from the CLI) for a folder in use or
    holding other results, a lost cluster, a worker that keeps dying, a full disk: the manifest then says
    "interrupted" and the same call resumes."""
    out = Path(out)
    check_sweep_out(out)
    _, n_runs = design_size(exp)
    local = scheduler is None
    default_workers = workers is None
    if local and default_workers:
        workers = os.cpu_count() or 1
    workers = plan_memory(
        exp, n_runs, workers=workers, workers_given=not default_workers, local=local, force=force, log=log
    )
    the_plan = planned or make_plan(exp)
    client = connect(scheduler) if scheduler else None  # fail before touching the folder
    try:
        return Session(exp, the_plan, out, shard=shard, log=log).run(
            workers=workers,
            default_workers=default_workers,
            scheduler=scheduler,
            client=client,
            progress=progress,
        )
    finally:
        if client is not None:
            try:
                client.close(timeout=10)
            except Exception:  # a client whose scheduler is gone may fail to close; nothing is lost
                pass


class Session:
    """One session of work on a sweep folder: lock, identity check, verification, compute, finish."""

    def __init__(self, exp: Experiment, plan: Plan, out: Path, *, shard=None, log=print):
        self.exp = exp
        self.plan = plan
        self.out = out
        self.shard = shard
        self.log = log
        self.fp = fingerprint(exp)
        self.store = ResultStore(out, plan, self.fp, log=log)
        self.manifest_name = "manifest.json" if shard is None else f"manifest.shard-{shard[0]}-of-{shard[1]}.json"
        self.manifest: dict = {}
        self.entry: dict = {}
        self._last_write = 0.0

    # --- the whole session -----------------------------------------------------------------------------
    def run(self, *, workers, default_workers, scheduler, client, progress) -> dict:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except (OSError, ValueError) as exc:
            raise SweepError(
                str(self.out), None, f"cannot create the output folder ({getattr(exc, 'strerror', exc)})"
            ) from None
        lock = FolderLock(self.out, self.shard, log=self.log)
        lock.acquire()
        try:
            prior = read_json(self.out / "manifest.json")
            if prior and prior.get("status") == "complete":  # a shard of a merged sweep has nothing to do either
                done = self._already_complete(prior)
                if done is not None:
                    return done
            self._adopt()
            self._begin(workers, default_workers, scheduler)
            try:
                result = self._work(workers, default_workers, scheduler, client, progress)
            except KeyboardInterrupt:
                self._end("interrupted", "stopped by Ctrl-C or SIGTERM")
                raise
            except SweepError as exc:
                self._end("interrupted", str(exc))
                raise
            except Exception as exc:
                self._end("failed", f"{type(exc).__name__}: {exc}")
                raise
            return result
        finally:
            lock.release()

    def _already_complete(self, prior: dict) -> dict | None:
        """The manifest of a complete sweep of this experiment whose tables verify (leftover parts removed), or None:
        then the session goes on (to refuse another experiment, or to compute damaged tables again)."""
        old_fp = prior.get("fingerprint")
        if old_fp is None and (prior.get("experiment") or {}).get("sha256") == self.exp.sha256:
            # Completed by a version of buddysim that recorded no checksums (before issue 13): nothing to verify it
            # against, and computing it again would give the same tables.
            self.log(
                f"{self.out}: already complete (made before tables carried checksums: not verified); nothing to do"
            )
            return prior
        old_fp = old_fp or {}
        if old_fp.get("experiment") != self.fp["experiment"] or old_fp.get("base") != self.fp["base"]:
            return None  # another experiment or base scenario: refused by _adopt
        problems = self.store.verify_final(prior)
        if problems:
            self.log(f"{self.out}: marked complete, but {'; '.join(problems)}: computing the sweep's tables again")
            return None
        if self.store.parts.exists():
            self.store.remove_parts()
            self.log(f"{self.out}: removed the parts left by an interrupted clean-up")
        note = ""
        if prior.get("fingerprint") != self.fp:
            said = differences(
                prior.get("fingerprint") or {}, self.fp, prior.get("provenance_details"), _details(self.exp)
            )
            note = f" (made before {'; '.join(said)}; nothing was computed now)"
        done = prior.get("counts", {}).get("done", "?")
        self.log(
            f"{self.out}: already complete ({done} runs; tables verified against their checksums){note}; nothing to do"
        )
        return prior

    # --- identity: never mix two experiments, base scenarios or code versions in one folder --------------
    def _adopt(self) -> None:
        import fcntl

        out = self.out
        setup = os.open(out / SETUP_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(setup, fcntl.LOCK_EX)  # shards sharing the folder check and write its identity one at a time
            saved_path = out / "experiment.toml"
            try:
                saved = saved_path.read_text(encoding="utf-8") if saved_path.exists() else None
            except (OSError, UnicodeDecodeError):
                saved = ""  # unreadable: treated as a different file
            folder_fp, details, where = self._folder_identity()
            same = (saved is None or saved == self.exp.text) and (folder_fp is None or folder_fp == self.fp)
            if not same:
                if self.store.has_results():
                    old = folder_fp or {"experiment": None}
                    details = dict(details or {})
                    details.setdefault("experiment_text", saved)
                    if folder_fp is None:  # only the saved text differs
                        old = {**self.fp, "experiment": "(saved)"}
                    said = differences(old, self.fp, details, _details(self.exp))
                    first = (
                        "holds results of a different experiment file"
                        if old.get("experiment") != self.fp["experiment"]
                        else "holds results of this experiment computed with another model or base scenario"
                    )
                    raise SweepError(
                        str(out),
                        None,
                        f"{first} ({where}); refusing to mix them in one table. What changed: "
                        + "; ".join(said)
                        + ". Use another --out, or delete the folder to start again",
                    )
                self.log(f"{out}: held the start of another experiment that computed nothing; replacing it")
                for stale in [out / "manifest.json", *out.glob("manifest.shard-*.json")]:
                    stale.unlink(missing_ok=True)  # they describe the other experiment
            if saved != self.exp.text:
                write_file(saved_path, self.exp.text.encode(), sync=True)
        finally:
            os.close(setup)

    def _folder_identity(self) -> tuple[dict | None, dict | None, str]:
        """The fingerprint this folder's results were made with (manifest, a shard's manifest, or a commit record)."""
        candidates = [self.out / "manifest.json", *sorted(self.out.glob("manifest.shard-*.json"))]
        for path in candidates:
            if not path.exists():
                continue
            m = read_json(path)
            if m is None:
                self.log(
                    f"warning: {path} is damaged (not valid JSON); it will be rewritten by this session (the history "
                    "of earlier sessions in it is lost); chunks are checked against their own commit records"
                )
                continue
            if isinstance(m.get("fingerprint"), dict):
                details = dict(m.get("provenance_details") or {})
                details["base_scenario"] = m.get("base_scenario")
                return m["fingerprint"], details, f"see {path.name}"
        for c in self.store.records():
            r = read_json(self.store.record_path(c))
            if r and isinstance(r.get("fingerprint"), dict):
                return r["fingerprint"], None, f"chunk {c}'s commit record"
        return None, None, ""

    # --- the manifest and the session history -------------------------------------------------------------
    def _begin(self, workers, default_workers, scheduler) -> None:
        old = read_json(self.out / self.manifest_name) or {}
        sessions = [s for s in old.get("sessions", []) if isinstance(s, dict)]
        for s in sessions:
            if s.get("status") == "running":  # its process died without a word (we hold the lock now)
                s["status"] = "died"
                s["reason"] = "the process ended without a word (SIGKILL, out of memory, or its machine stopped)"
        info = session_info()
        kind = "dask" if scheduler else ("processes" if (workers or 1) > 1 else "serial")
        self.entry = {
            "session": len(sessions) + 1,
            "started": now(),
            "ended": None,
            "status": "running",
            "reason": None,
            **{k: info[k] for k in ("host", "pid", "user", "python", "code_version", "git_commit", "git_dirty_sim")},
            "versions": info["versions"],
            "executor": {"kind": kind, "workers": workers, "scheduler": scheduler},
            "shard": None if self.shard is None else f"{self.shard[0]}/{self.shard[1]}",
            "runs_computed": 0,
            "chunks_computed": 0,
            "recomputed": [],
            "leftovers_discarded": 0,
            "worker_restarts": 0,
        }
        sessions.append(self.entry)
        exp, p = self.exp, self.plan
        mine = self._mine()
        self.manifest = {
            "format": 2,
            "experiment": {
                "name": exp.name,
                "file": str(exp.path) if exp.path else None,
                "sha256": exp.sha256,
                "design": exp.design,
                "factors": p.keys,
                "replications": exp.replications,
                "seed": exp.seed,
                "common_random_numbers": exp.common_random_numbers,
                "series": exp.series,
                "every": exp.every,
                "final": exp.final,
                "description": exp.description,
            },
            "base_scenario": dict(exp.base),
            "design": {"points": p.points, "runs": p.n_runs, "chunk_size": p.size, "chunks": p.n_chunks},
            "fingerprint": self.fp,
            "provenance_details": {"code_files": code_files()},
            "shard": None if self.shard is None else {"index": self.shard[0], "of": self.shard[1], "chunks": len(mine)},
            "executor": self.entry["executor"],
            "provenance": {**info, "engine": "compiled"},
            "started": old.get("started") or self.entry["started"],
            "finished": None,
            "status": "running",
            "counts": {
                "total": p.n_runs,
                "this_shard": sum(len(p.run_id_range(c)) for c in mine) if self.shard else None,
            },
            "sessions": sessions,
        }
        self._write()

    def _write(self, *, sync: bool = False) -> None:
        self.store.write_manifest(self.manifest, self.manifest_name, sync=sync)
        self._last_write = time.monotonic()

    def _end(self, status: str, reason: str | None) -> None:
        """Record how the session ended (best effort: on a full disk this write may fail too)."""
        self.entry.update(status=status, reason=reason, ended=now())
        self.manifest.update(status=status, finished=self.entry["ended"])
        try:
            self._write()
        except SweepError as exc:
            self.log(f"warning: could not record the session's end in the manifest ({exc})")

    def _mine(self) -> list[int]:
        n = self.plan.n_chunks
        if self.shard is None:
            return list(range(n))
        i, k = self.shard
        return [c for c in range(n) if c % k == i - 1]

    # --- the work ----------------------------------------------------------------------------------------
    def _work(self, workers, default_workers, scheduler, client, progress) -> dict:
        store, p = self.store, self.plan
        mine = self._mine()
        store.remove_stale_tmp(None if self.shard is None else set(mine))
        done, damaged, leftovers = store.scan(mine)
        self._report_damage(damaged)
        self.entry["leftovers_discarded"] = leftovers
        runs_total = sum(len(p.run_id_range(c)) for c in mine)
        todo = [c for c in mine if c not in done]
        runs_done = runs_total - sum(len(p.run_id_range(c)) for c in todo)
        if runs_done:
            self.log(f"resuming: {runs_done} of {runs_total} runs already done (verified)")
        kind = self.entry["executor"]["kind"]
        small = sum(len(p.run_id_range(c)) for c in todo) * run_cost(self.exp) < SMALL_SWEEP_SECONDS
        if kind == "processes" and default_workers and small:
            kind, workers = "serial", 1  # starting worker processes (~2 s) would cost more than it saves
            self.entry["executor"].update(kind=kind, workers=workers)
        bar = progress(total=runs_total, initial=runs_done) if progress else None
        try:
            failed = self._compute(todo, kind, workers, scheduler, client, bar)
            if self.shard is not None:
                return self._finish_shard(failed, runs_total)
            for attempt in range(FINALIZE_ATTEMPTS):
                try:
                    counts, tables = store.finalize()
                    break
                except ChunksDamagedError as exc:
                    self._report_damage(exc.chunks)
                    if attempt == FINALIZE_ATTEMPTS - 1:
                        raise SweepError(
                            str(self.out),
                            None,
                            f"chunks keep failing verification ({sorted(exc.chunks)}); is the disk sound?",
                        ) from None
                    failed += self._compute(sorted(exc.chunks), kind, workers, scheduler, client, None)
                except FinalTableError as exc:
                    raise SweepError(
                        str(self.out),
                        None,
                        f"the merged tables failed their final check: {exc}; nothing was marked complete",
                    ) from None
        finally:
            if bar is not None:
                bar.close()
        if failed:
            self.log(f"{failed} run(s) failed in this session; their errors are in the runs table (status, error)")
        return self._complete(counts, tables)

    def _report_damage(self, damaged: dict[int, str]) -> None:
        for c, reason in sorted(damaged.items()):
            r = self.plan.run_id_range(c)
            self.log(f"chunk {c} (runs {r.start}-{r.stop - 1}): {reason}; computing it again")
            self.entry["recomputed"].append({"chunk": c, "reason": reason})

    def _compute(self, chunks, kind, workers, scheduler, client, bar) -> int:
        """Run ``chunks`` and commit each as it arrives; returns the number of failed runs."""
        p, exp = self.plan, self.exp
        version = code_version()
        tasks = (
            Task(
                c,
                dict(exp.base),
                p.keys,
                p.chunk_rows(c),
                exp.series,
                exp.every,
                exp.final,
                version,
                tuple(exp.base.timeline),
            )
            for c in chunks
        )
        failed = 0
        pool = None
        if kind == "serial":
            results = (run_chunk(t) for t in tasks)
        elif kind == "processes":
            from .pool import LocalPool

            pool = LocalPool(workers, log=self.log)
            results = pool.run(tasks)
        else:
            results = _dask_results(client, tasks, scheduler)
        try:
            for chunk, runs, series in results:
                self.store.commit(chunk, runs, series, session=self.entry["session"])
                n_failed = sum(1 for s in runs.column("status").to_pylist() if s != "ok")
                failed += n_failed
                self.entry["runs_computed"] += runs.num_rows
                self.entry["chunks_computed"] += 1
                if pool is not None:
                    self.entry["worker_restarts"] = pool.restarts
                if bar is not None:
                    bar.update(runs.num_rows)
                if time.monotonic() - self._last_write > 10.0:
                    self.manifest["counts"]["computed_this_session"] = self.entry["runs_computed"]
                    self._write()
        finally:
            if hasattr(results, "close"):
                results.close()
            if pool is not None:
                self.entry["worker_restarts"] = pool.restarts
        return failed

    def _finish_shard(self, failed: int, runs_total: int) -> dict:
        # Shards never finalise: two finishing at once on a shared file system would race. `merge` does it.
        self.entry.update(status="shard complete", ended=now())
        self.manifest.update(status="shard complete", finished=self.entry["ended"])
        self.manifest["counts"].update(done=runs_total - failed, failed=failed)
        self._write(sync=True)
        left = self.plan.n_chunks - len(self.store.records())
        i, n = self.shard
        self.log(
            f"shard {i}/{n} complete; "
            + (
                f"{left} chunk(s) of other shards still to run"
                if left
                else f"all chunks done: run  buddysim merge {self.out}"
            )
        )
        return self.manifest

    def _complete(self, counts: dict, tables: dict) -> dict:
        """Commit the sweep (the manifest says complete, synced), then remove the parts."""
        self.entry.update(status="complete", ended=now())
        self.manifest["counts"].update(
            done=counts["runs"] - counts["failed"], failed=counts["failed"], series_rows=counts["series_rows"]
        )
        self.manifest["counts"].pop("computed_this_session", None)
        self.manifest.update(status="complete", finished=self.entry["ended"], tables=tables)
        self._write(sync=True)
        self.store.remove_parts()
        return self.manifest


# --- merge ------------------------------------------------------------------------------------------------
def merge(out: Path, log=print) -> dict:
    """Join the parts written by shards into the final tables (every chunk must be committed and verify)."""
    out = Path(out)
    if not out.is_dir() or not is_sweep_folder(out):
        raise SweepError(str(out), None, "not a sweep folder (no experiment.toml or manifest)")
    exp = load_saved_experiment(out)
    p = make_plan(exp)
    session = Session(exp, p, out, log=log)
    store = session.store
    lock = FolderLock(out, None, log=log)
    lock.acquire()
    try:
        prior = read_json(out / "manifest.json")
        if prior and prior.get("status") == "complete":
            done = session._already_complete(prior)
            if done is not None:
                return done
        session._adopt()
        shards = sorted(out.glob("manifest.shard-*.json"))
        shard_manifests = [(s, read_json(s)) for s in shards]
        n_shards = next((m.get("shard", {}).get("of") for _, m in shard_manifests if m and m.get("shard")), None)
        store.remove_stale_tmp()
        all_chunks = list(range(p.n_chunks))
        done, damaged, _ = store.scan(all_chunks)
        for c, reason in sorted(damaged.items()):
            log(f"chunk {c}: {reason}; removed (its shard must compute it again)")
        missing = sorted(set(all_chunks) - done)
        if missing:
            raise SweepError(str(out), None, _missing_message(missing, p.n_chunks, n_shards))
        try:
            counts, tables = store.finalize()
        except ChunksDamagedError as exc:
            for c, reason in sorted(exc.chunks.items()):
                log(f"chunk {c}: {reason}; removed (its shard must compute it again)")
            raise SweepError(str(out), None, _missing_message(sorted(exc.chunks), p.n_chunks, n_shards)) from None
        except FinalTableError as exc:
            raise SweepError(str(out), None, f"the merged tables failed their final check: {exc}") from None
        base = prior if prior and isinstance(prior.get("experiment"), dict) else None
        if base is None:
            base = next((m for _, m in shard_manifests if m and isinstance(m.get("experiment"), dict)), {})
        manifest = {k: v for k, v in base.items() if k not in ("shard", "sessions")}
        sessions = []
        for s, m in shard_manifests:
            for entry in (m or {}).get("sessions", []):
                if isinstance(entry, dict):
                    if entry.get("status") == "running":
                        entry = {**entry, "status": "died", "reason": "the process ended without a word"}
                    sessions.append({**entry, "manifest": s.name})
        info = session_info()
        sessions.append(
            {
                "session": len(sessions) + 1,
                "started": now(),
                "ended": now(),
                "status": "complete",
                "reason": "merge",
                "host": info["host"],
                "pid": info["pid"],
                "code_version": info["code_version"],
                "versions": info["versions"],
            }
        )
        manifest.update(
            format=2,
            fingerprint=session.fp,
            provenance_details={"code_files": code_files()},
            shard=None,
            merged_shards=[s.name for s in shards],
            counts={
                "total": p.n_runs,
                "done": counts["runs"] - counts["failed"],
                "failed": counts["failed"],
                "series_rows": counts["series_rows"],
            },
            tables=tables,
            status="complete",
            finished=now(),
            sessions=sessions,
        )
        manifest.setdefault("experiment", {"name": exp.name, "sha256": exp.sha256, "design": exp.design})
        manifest.setdefault("base_scenario", dict(exp.base))
        store.write_manifest(manifest, sync=True)
        store.remove_parts()
        return manifest
    finally:
        lock.release()


def _missing_message(missing: list[int], n_chunks: int, n_shards: int | None) -> str:
    shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
    msg = f"{len(missing)} of {n_chunks} chunks are not done or failed verification (chunks {shown})"
    if n_shards:
        shards = sorted({c % n_shards + 1 for c in missing})
        msg += (
            f"; run shard(s) {', '.join(f'{s}/{n_shards}' for s in shards)} again (they skip what is done), then merge"
        )
    else:
        msg += "; run the sweep (or the missing shards) again to finish them"
    return msg
