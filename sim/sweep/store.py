"""Result store: chunks committed with checksums, verified before use, merged into checked final tables.

Layout of ``results/<experiment>/``::

    .buddysim.lock                 the folder lock (an OS lock, held while a sweep writes here)
    experiment.toml                the experiment file as run
    manifest.json                  identity (fingerprint), design, status, counts, checksums, session history
    parts/series-000012.parquet    a chunk's series part
    parts/runs-000012.parquet      a chunk's runs part
    parts/commit-000012.json       the chunk's commit record: each part's SHA-256, size and rows, the chunk's
                                   run_ids, a digest of its design rows and the sweep's fingerprint
    runs.parquet, series.parquet   the final tables

The commit protocol (docs/sweeps.md, "How the store keeps its promise", has the table of what a crash at
each step leaves):

1. A chunk's parts are serialised in memory, hashed, written to temporary names and renamed: series part,
   runs part, then the commit record. **The rename of the commit record commits the chunk**; parts without
   a record are leftovers of a crash and are discarded.
2. A chunk counts as done only if its record parses, names this chunk, this design and this fingerprint,
   and both parts exist with the recorded size and SHA-256. Every session verifies every chunk it skips;
   a chunk that fails is deleted, reported, and computed again.
3. Finishing reads each part once, checks its hash again on the very bytes it merges, checks its contents
   (the chunk's run_ids and seeds, the expected series rows of every run), streams it into temporary final
   tables, then re-reads those tables: run_id exactly 0..N-1 in order, no duplicates, every run's series
   rows. Only then are they renamed into place, synced, their SHA-256 written into the manifest with status
   "complete" (synced). **That manifest write commits the sweep.**
4. Then the parts are removed, commit records first, so at no moment does a chunk look done without its
   data; a crash during removal leaves a complete sweep whose leftovers the next session removes.

A later session on a complete folder checks the final tables against the recorded checksums.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import socket
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .design import ExperimentError

LOCK = ".buddysim.lock"
SETUP_LOCK = ".buddysim-setup.lock"
RECORD = re.compile(r"commit-(\d{6})\.json$")
PART = re.compile(r"(runs|series)-(\d{6})\.parquet$")
TMP = re.compile(r"^\.(.+)\.[^.]+\.tmp$")
#: Files `buddysim run` writes into its folder (a sweep refuses to write into such a folder).
RUN_FOLDER_FILES = ("summary.json", "events.csv")
#: Files that make a folder a sweep's.
SWEEP_FOLDER_FILES = ("experiment.toml", "manifest.json", "parts", LOCK)
HEARTBEAT_SECONDS = 10.0


class SweepError(ExperimentError):
    """A sweep that cannot go on (a folder in use, a damaged store, a lost cluster, a full disk): one message
    naming the folder and what to do, exit status 2; everything committed so far is kept."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _tag() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{_tag()}.tmp")


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes, *, sync: bool = False) -> None:
    """Write ``data`` to a temporary name, then rename it to ``path`` (atomic on POSIX): a reader sees the old
    file or the new one, never half of one. On failure (a full disk) the temporary file is removed."""
    tmp = tmp_name(path)
    try:
        with tmp.open("wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _io_error(path, exc) from None
    if sync:
        fsync_dir(path.parent)


def _io_error(path: Path, exc: OSError) -> SweepError:
    what = exc.strerror or str(exc)
    hint = ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        hint = "; free some space (or raise the quota), then run the same command again to resume"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "; choose a folder you can write to (--out)"
    return SweepError(str(path), None, f"cannot write ({what}){hint}; the chunks committed so far are kept")


def table_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def read_json(path: Path) -> dict | None:
    """A JSON object from ``path``; None if missing or damaged (not JSON, not an object, nested absurdly)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


# --- what kind of folder is this? -------------------------------------------------------------------------
def _is_sweep_file(name: str) -> bool:
    """The one rule for what marks a sweep's folder: its files, or any of its locks (present from the moment a
    sweep starts, before anything else is written)."""
    return name in SWEEP_FOLDER_FILES or name.startswith(".buddysim")


def is_sweep_folder(path: Path) -> bool:
    try:
        return path.is_dir() and any(_is_sweep_file(p.name) for p in path.iterdir())
    except OSError:
        return False


def check_sweep_out(out: Path) -> None:
    """``out`` may take a sweep: new, empty, or a sweep folder (a SweepError otherwise).

    Judged from one listing of the folder: a sweep starting there at the same moment creates its lock files
    between two looks, and must not make the folder look foreign (the lock then decides who writes)."""
    if "\x00" in str(out):
        raise SweepError(repr(str(out))[1:-1], None, "the path contains a NUL byte; no folder can have that name")
    if out.exists() and not out.is_dir():
        raise SweepError(str(out), None, "exists and is not a folder (--out needs a folder)")
    if not out.is_dir():
        return
    try:
        names = [p.name for p in out.iterdir()]  # one listing: a second look could see a sweep start
    except FileNotFoundError:
        return  # removed since: a new folder
    except OSError as exc:
        raise SweepError(str(out), None, f"cannot read the folder ({exc.strerror})") from None
    if any(_is_sweep_file(n) for n in names):
        return
    if any(n in RUN_FOLDER_FILES for n in names):
        raise SweepError(
            str(out),
            None,
            "holds the results of `buddysim run` (summary.json), not a sweep; a sweep would mix its tables with "
            "them: choose another --out",
        )
    if names:
        raise SweepError(
            str(out),
            None,
            f"is not empty and holds no sweep ({', '.join(sorted(names)[:3])}{', ...' if len(names) > 3 else ''}); "
            "a sweep writes into a new or empty folder, or resumes its own: choose another --out",
        )


# --- the folder lock --------------------------------------------------------------------------------------
class FolderLock:
    """An OS lock (flock) on ``<folder>/.buddysim.lock``, held for a sweep's life and released by the kernel
    when the process ends however it ends. A sweep or merge holds it exclusively; a shard holds it shared
    (shards of one sweep run side by side) plus its own shard lock exclusively."""

    def __init__(self, folder: Path, shard: tuple[int, int] | None = None, log=print):
        self.folder = folder
        self.shard = shard
        self.log = log
        self.fds: list[int] = []

    def acquire(self) -> None:
        mode = fcntl.LOCK_SH if self.shard else fcntl.LOCK_EX
        self._lock(self.folder / LOCK, mode, self._busy_message)
        if self.shard:
            i, n = self.shard
            self._lock(
                self.folder / f".buddysim-shard-{i}-of-{n}.lock",
                fcntl.LOCK_EX,
                lambda holder: f"shard {i}/{n} is already running here ({holder}); each shard runs once at a time",
            )
        self._write_holder()

    def _lock(self, path: Path, mode: int, busy) -> None:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _io_error(path, exc) from None
        for attempt in range(20):  # a reader's probe (read_status) holds the lock for microseconds: retry ~2 s
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                self.fds.append(fd)
                return
            except BlockingIOError:
                if attempt == 19:
                    holder = _holder(path)
                    os.close(fd)
                    raise SweepError(str(self.folder), None, busy(holder)) from None
                import time

                time.sleep(0.1)
            except OSError as exc:
                if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                    self.log(
                        f"warning: {self.folder}: the file system does not support locks ({exc.strerror}); make sure "
                        "only one sweep writes to this folder"
                    )
                    self.fds.append(fd)
                    return
                os.close(fd)
                raise _io_error(path, exc) from None

    def _busy_message(self, holder: str) -> str:
        if self.shard:
            return f"a sweep or merge ({holder}) is writing to this folder; shards run only when no whole sweep does"
        return (
            f"another sweep, merge or shard is writing to this folder ({holder}); wait for it to finish, or stop it, "
            "then run the command again"
        )

    def _write_holder(self) -> None:
        info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": now(), "shard": self.shard})
        fd = self.fds[-1]  # the shard's own lock, or the folder's exclusive lock
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, info.encode(), 0)

    def release(self) -> None:
        while self.fds:
            with contextlib.suppress(OSError):
                os.close(self.fds.pop())


def _holder(path: Path) -> str:
    info = read_json(path)
    holders = []
    if info and info.get("pid"):
        holders.append(f"pid {info['pid']} on {info.get('host')}, since {info.get('since')}")
    for shard_lock in sorted(path.parent.glob(".buddysim-shard-*.lock")):
        if _held(shard_lock):
            i = read_json(shard_lock) or {}
            holders.append(f"shard {'/'.join(map(str, i.get('shard') or ['?']))} pid {i.get('pid')} on {i.get('host')}")
    return "; ".join(holders) or "a process that did not say who it is"


def _held(path: Path, mode: int = fcntl.LOCK_SH) -> bool:
    """Whether another process holds a lock on ``path`` that conflicts with ``mode`` (probe; not kept)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def read_status(folder: str | Path) -> dict | None:
    """The manifest of a sweep folder with its status told truthfully: a manifest left saying "running" by a
    process that died (SIGKILL, a lost node) reads "interrupted", since no process holds the folder's lock."""
    folder = Path(folder)
    manifest = read_json(folder / "manifest.json")
    if manifest is None:
        return None
    if manifest.get("status") == "running" and not _held(folder / LOCK):
        manifest["status"] = "interrupted"
        manifest["status_note"] = "the sweeping process ended without a word (killed, or its machine stopped)"
    return manifest


# --- the store --------------------------------------------------------------------------------------------
class ResultStore:
    """Parts, commit records, verification, final tables and the manifest of one sweep folder."""

    def __init__(self, out: Path, plan, fingerprint: dict, *, log=print):
        self.out = Path(out)
        self.plan = plan
        self.fp = fingerprint
        self.parts = self.out / "parts"
        self.log = log

    # --- paths ------------------------------------------------------------------------------------------
    def record_path(self, chunk: int) -> Path:
        return self.parts / f"commit-{chunk:06d}.json"

    def part_path(self, kind: str, chunk: int) -> Path:
        return self.parts / f"{kind}-{chunk:06d}.parquet"

    def has_results(self) -> bool:
        return (self.out / "runs.parquet").exists() or bool(self.records())

    def records(self) -> list[int]:
        if not self.parts.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self.parts.iterdir() if (m := RECORD.match(p.name)))

    # --- leftovers --------------------------------------------------------------------------------------
    def remove_stale_tmp(self, chunks: set[int] | None = None) -> int:
        """Remove temporary files left by crashed sessions (all of them, or those of ``chunks`` for a shard)."""
        n = 0
        for folder in (self.out, self.parts):
            if not folder.is_dir():
                continue
            for p in folder.iterdir():
                m = TMP.match(p.name)
                if not m:
                    continue
                if chunks is not None:
                    pm = PART.match(m.group(1)) or RECORD.match(m.group(1))
                    if not pm or int(pm.groups()[-1]) not in chunks:
                        continue
                with contextlib.suppress(OSError):
                    p.unlink()
                    n += 1
        return n

    def delete_chunk(self, chunk: int) -> None:
        """Un-commit a chunk: its record first (from then on it is not done), then its parts."""
        for path in (self.record_path(chunk), self.part_path("runs", chunk), self.part_path("series", chunk)):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise _io_error(path, exc) from None

    # --- commit -----------------------------------------------------------------------------------------
    def commit(self, chunk: int, runs: pa.Table, series: pa.Table | None, session: int | None = None) -> None:
        self.parts.mkdir(parents=True, exist_ok=True)
        record = {
            "chunk": chunk,
            "run_ids": list(self.plan.run_id_range(chunk)),
            "design": self.plan.chunk_digest(chunk),
            "fingerprint": self.fp,
            "committed": now(),
            "session": session,
        }
        for kind, table in (("series", series), ("runs", runs)):
            if table is None:
                record[kind] = None
                continue
            data = table_bytes(table)
            write_file(self.part_path(kind, chunk), data)
            record[kind] = {"sha256": sha256_bytes(data), "bytes": len(data), "rows": table.num_rows}
        write_file(self.record_path(chunk), (json.dumps(record, indent=1) + "\n").encode())

    # --- verify -----------------------------------------------------------------------------------------
    def check_record(self, chunk: int, record: dict | None) -> str | None:
        """Why the chunk's record does not describe this chunk of this sweep (None if it does)."""
        if record is None:
            return "its commit record is missing or not valid JSON"
        if record.get("chunk") != chunk:
            return f"its commit record describes chunk {record.get('chunk')!r} (a copied or swapped file)"
        if record.get("design") != self.plan.chunk_digest(chunk):
            return "its commit record was made for other design rows (the design changed)"
        if record.get("fingerprint") != self.fp:
            return "its commit record was made by another experiment, base scenario or code version"
        if (record.get("series") is None) != (not self.plan.series):
            return "its commit record does not match what this experiment records"
        return None

    def verify_chunk(self, chunk: int) -> str | None:
        """None if the chunk is committed and intact; otherwise the reason it is not."""
        record = read_json(self.record_path(chunk))
        problem = self.check_record(chunk, record)
        if problem:
            return problem
        for kind in ("runs", "series"):
            meta = record.get(kind)
            if meta is None:
                continue
            path = self.part_path(kind, chunk)
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                return f"its {kind} part is missing"
            if not isinstance(meta, dict) or size != meta.get("bytes"):
                return f"its {kind} part has {size} bytes, not the {meta.get('bytes') if isinstance(meta, dict) else '?'} committed"
            if sha256_file(path) != meta.get("sha256"):
                return f"its {kind} part does not match the SHA-256 recorded at commit (damaged)"
        return None

    def scan(self, chunks: list[int], *, delete: bool = True) -> tuple[set[int], dict[int, str], int]:
        """Verify ``chunks``: (done, damaged -> reason, uncommitted leftovers removed). Damaged chunks and parts
        without a commit record are deleted (so they are computed again)."""
        done: set[int] = set()
        damaged: dict[int, str] = {}
        recorded = set(self.records())
        for c in chunks:
            if c in recorded:
                problem = self.verify_chunk(c)
                if problem is None:
                    done.add(c)
                    continue
                damaged[c] = problem
                if delete:
                    self.delete_chunk(c)
        leftovers = 0
        if self.parts.is_dir():
            mine = set(chunks)
            for p in list(self.parts.iterdir()):
                m = PART.match(p.name)
                if m and int(m.group(2)) in mine and int(m.group(2)) not in done and delete:
                    with contextlib.suppress(FileNotFoundError):
                        p.unlink()
                        leftovers += 1
        return done, damaged, leftovers

    # --- finish -----------------------------------------------------------------------------------------
    def finalize(self) -> tuple[dict, dict]:
        """Merge every chunk into checked final tables; returns (counts, tables). A ChunksDamagedError error lists
        chunks that failed verification here (they are deleted; the caller computes them again)."""
        plan = self.plan
        kinds = ["runs"] + (["series"] if plan.series else [])
        tmps = {k: tmp_name(self.out / f"{k}.parquet") for k in kinds}
        damaged: dict[int, str] = {}
        counts = {"runs": 0, "failed": 0, "series_rows": 0}
        writers: dict[str, pq.ParquetWriter] = {}
        schemas = {"runs": plan.runs_schema(), "series": plan.series_schema()}
        try:
            for c in range(plan.n_chunks):
                tables, problem = self._read_chunk(c)
                if problem:
                    damaged[c] = problem
                    continue
                if damaged:
                    continue  # keep checking the rest, write nothing more
                for k in kinds:
                    if k not in writers:
                        writers[k] = pq.ParquetWriter(tmps[k], schemas[k], compression="zstd")
                    writers[k].write_table(tables[k].cast(schemas[k]))
                runs = tables["runs"]
                counts["runs"] += runs.num_rows
                counts["failed"] += sum(1 for s in runs.column("status").to_pylist() if s != "ok")
                if plan.series:
                    counts["series_rows"] += tables["series"].num_rows
            for w in writers.values():
                w.close()
            writers.clear()
            if damaged:
                for c in damaged:
                    self.delete_chunk(c)
                raise ChunksDamagedError(damaged)
            for k in kinds:
                _fsync_file(tmps[k])
            self._check_final(tmps)
            tables_info = {}
            for k in kinds:
                tables_info[f"{k}.parquet"] = {"sha256": sha256_file(tmps[k]), "bytes": tmps[k].stat().st_size}
            tables_info["runs.parquet"]["rows"] = counts["runs"]
            if plan.series:
                tables_info["series.parquet"]["rows"] = counts["series_rows"]
            for k in kinds:
                os.replace(tmps.pop(k), self.out / f"{k}.parquet")
            if not plan.series:
                with contextlib.suppress(FileNotFoundError):
                    (self.out / "series.parquet").unlink()
            fsync_dir(self.out)
            return counts, tables_info
        except OSError as exc:  # Arrow's write errors name no file: name the table being written
            raise _io_error(self.out / f"{kinds[-1] if len(writers) > 1 else 'runs'}.parquet", exc) from None
        finally:
            for w in writers.values():
                with contextlib.suppress(Exception):
                    w.close()
            for t in tmps.values():
                with contextlib.suppress(OSError):
                    t.unlink()

    def _read_chunk(self, c: int) -> tuple[dict, str | None]:
        """A chunk's tables, read from the very bytes whose hash is checked; or the reason they cannot be used."""
        plan = self.plan
        record = read_json(self.record_path(c))
        problem = self.check_record(c, record)
        if problem:
            return {}, problem if record is not None else "it has no commit record (never finished)"
        tables = {}
        for kind in ("runs", "series"):
            meta = record.get(kind)
            if meta is None:
                continue
            try:
                data = self.part_path(kind, c).read_bytes()
            except FileNotFoundError:
                return {}, f"its {kind} part is missing"
            if not isinstance(meta, dict) or sha256_bytes(data) != meta.get("sha256"):
                return {}, f"its {kind} part does not match the SHA-256 recorded at commit (damaged)"
            try:
                tables[kind] = pq.read_table(pa.BufferReader(data))
            except (pa.ArrowException, OSError) as exc:
                return {}, f"its {kind} part cannot be read ({exc})"
        problem = plan.check_chunk_tables(c, tables["runs"], tables.get("series"))
        return tables, problem

    def _check_final(self, tmps: dict[str, Path]) -> None:
        """Read the merged tables back: run_id 0..N-1 in order, no duplicates; every run's series rows."""
        plan = self.plan
        expected = 0
        status_ok = []
        f = pq.ParquetFile(tmps["runs"])
        for batch in f.iter_batches(columns=["run_id", "status"], batch_size=65536):
            ids = batch.column(0).to_numpy(zero_copy_only=False)
            n = len(ids)
            import numpy as np

            if not np.array_equal(ids, np.arange(expected, expected + n)):
                raise FinalTableError("runs.parquet: run_id is not 0..N-1 in order (a duplicate or a gap)")
            status_ok.append(np.asarray(batch.column(1).to_pylist(), dtype=object) == "ok")
            expected += n
        if expected != plan.n_runs:
            raise FinalTableError(f"runs.parquet has {expected} runs, the design {plan.n_runs}")
        if not plan.series:
            return
        import numpy as np

        ok = np.concatenate(status_ok) if status_ok else np.zeros(0, bool)
        want = np.where(ok, plan.expected_series_rows_all(), 0)
        seen = np.zeros(plan.n_runs, np.int64)
        last = -1
        f = pq.ParquetFile(tmps["series"])
        for batch in f.iter_batches(columns=["run_id"], batch_size=65536):
            ids = batch.column(0).to_numpy(zero_copy_only=False)
            if len(ids) and (ids[0] < last or np.any(np.diff(ids) < 0)):
                raise FinalTableError("series.parquet: rows are not in run_id order")
            if len(ids) and (ids.min() < 0 or ids.max() >= plan.n_runs):
                raise FinalTableError("series.parquet: a run_id outside the design")
            np.add.at(seen, ids, 1)
            if len(ids):
                last = int(ids[-1])
        if not np.array_equal(seen, want):
            bad = int(np.flatnonzero(seen != want)[0])
            raise FinalTableError(
                f"series.parquet: run {bad} has {seen[bad]} rows, expected {want[bad]} (a run's series is incomplete)"
            )

    def verify_final(self, manifest: dict) -> list[str]:
        """Problems with the final tables of a complete sweep, against the checksums its manifest recorded."""
        problems = []
        tables = manifest.get("tables")
        if not isinstance(tables, dict) or "runs.parquet" not in tables:
            return ["the manifest records no checksums for the final tables"]
        for name, meta in tables.items():
            path = self.out / name
            if not path.exists():
                problems.append(f"{name} is missing")
            elif not isinstance(meta, dict) or path.stat().st_size != meta.get("bytes"):
                problems.append(f"{name} does not have the size recorded at completion")
            elif sha256_file(path) != meta.get("sha256"):
                problems.append(f"{name} does not match the SHA-256 recorded at completion (damaged)")
        return problems

    def remove_parts(self) -> None:
        """After the sweep is committed complete: records first, then parts, then the folder."""
        if not self.parts.is_dir():
            return
        for c in self.records():
            with contextlib.suppress(FileNotFoundError):
                self.record_path(c).unlink()
        for p in sorted(self.parts.iterdir()):
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                p.unlink()
        with contextlib.suppress(OSError):
            self.parts.rmdir()

    # --- manifest ---------------------------------------------------------------------------------------
    def write_manifest(self, info: dict, name: str = "manifest.json", *, sync: bool = False) -> None:
        write_file(self.out / name, (json.dumps(info, indent=2, default=str) + "\n").encode(), sync=sync)


class ChunksDamagedError(Exception):
    """Chunks that failed verification while the final tables were being made (deleted; compute them again)."""

    def __init__(self, chunks: dict[int, str]):
        self.chunks = chunks
        super().__init__(f"{len(chunks)} chunk(s) failed verification")


class FinalTableError(Exception):
    """The merged tables failed their final check (a bug, or damage while merging): nothing was renamed."""


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
