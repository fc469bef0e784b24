"""Result store: Parquet parts written as a sweep goes, a manifest, resume, merge.

Layout of ``results/<experiment>/``::

    experiment.toml        the experiment file as run (its hash guards resumes)
    manifest.json          what was run, with which versions, when, counts
    parts/runs-000012.parquet, parts/series-000012.parquet   one pair per finished chunk
    runs.parquet, series.parquet                              the final tables (after the last chunk)

A chunk's parts are written to a temporary name and renamed (atomic on POSIX),
series first, runs last: a chunk is finished exactly when its runs part
exists. A resume skips finished chunks. The final tables are streamed from the
parts in chunk order (so memory stays flat) and are the same whether the sweep
ran in one go, was resumed, or ran as shards.
"""

from __future__ import annotations

import json
import os
import platform
import re
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .design import Experiment, ExperimentError

PART = re.compile(r"runs-(\d{6})\.parquet$")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def atomic_write_table(path: Path, table: pa.Table) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


class ResultStore:
    def __init__(self, out: Path, experiment: Experiment):
        self.out = Path(out)
        self.exp = experiment
        self.parts = self.out / "parts"

    # --- the guard against resuming into someone else's folder ------------------------------
    def open(self) -> None:
        """Create the folder, or check that it holds this same experiment."""
        try:
            self.parts.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExperimentError(str(self.out), None, f"cannot create the output folder ({exc.strerror})") from None
        saved = self.out / "experiment.toml"
        if saved.exists():
            if saved.read_text(encoding="utf-8") != self.exp.text:
                raise ExperimentError(
                    str(self.out),
                    None,
                    f"holds results of a different experiment file (experiment.toml there has "
                    f"sha256 {_sha(saved.read_text(encoding='utf-8'))[:12]}, yours "
                    f"{self.exp.sha256[:12]}); refusing to mix them. Use another --out, or "
                    f"delete the folder to start again",
                )
        else:
            atomic_write_bytes(saved, self.exp.text.encode())

    # --- parts --------------------------------------------------------------------------------
    def done_chunks(self) -> set[int]:
        if not self.parts.exists():
            return set()
        return {int(m.group(1)) for p in self.parts.iterdir() if (m := PART.match(p.name))}

    def write_chunk(self, chunk: int, runs: pa.Table, series: pa.Table | None) -> None:
        if series is not None:
            atomic_write_table(self.parts / f"series-{chunk:06d}.parquet", series)
        atomic_write_table(self.parts / f"runs-{chunk:06d}.parquet", runs)

    def finalize(self, n_chunks: int) -> dict:
        """Stream the parts, in chunk order, into runs.parquet and series.parquet."""
        done = self.done_chunks()
        missing = sorted(set(range(n_chunks)) - done)
        if missing:
            raise ExperimentError(
                str(self.out),
                None,
                f"{len(missing)} of {n_chunks} chunks are not finished (first: {missing[:5]}); "
                f"run the sweep (or the missing shards) again to finish them",
            )
        counts = {"runs": 0, "failed": 0, "series_rows": 0}
        for kind in ("runs", "series"):
            files = [self.parts / f"{kind}-{c:06d}.parquet" for c in range(n_chunks)]
            files = [f for f in files if f.exists()]
            if not files:
                continue
            target = self.out / f"{kind}.parquet"
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            writer = None
            try:
                for f in files:
                    table = pq.read_table(f)
                    if writer is None:
                        schema = table.schema
                        writer = pq.ParquetWriter(tmp, schema, compression="zstd")
                    writer.write_table(table.cast(schema))
                    if kind == "runs":
                        counts["runs"] += table.num_rows
                        counts["failed"] += sum(1 for s in table.column("status").to_pylist() if s != "ok")
                    else:
                        counts["series_rows"] += table.num_rows
            finally:
                if writer is not None:
                    writer.close()
            os.replace(tmp, target)
        return counts

    def remove_parts(self) -> None:
        for p in self.parts.glob("*.parquet"):
            p.unlink()
        try:
            self.parts.rmdir()
        except OSError:
            pass

    # --- manifest -------------------------------------------------------------------------------
    def write_manifest(self, info: dict, name: str = "manifest.json") -> None:
        atomic_write_bytes(self.out / name, (json.dumps(info, indent=2, default=str) + "\n").encode())

    def read_manifest(self, name: str = "manifest.json") -> dict | None:
        path = self.out / name
        return json.loads(path.read_text()) if path.exists() else None


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def provenance() -> dict:
    """Versions, git commit and machine, for the manifest."""
    from importlib import metadata

    versions = {}
    for dist in (
        "buddysim",
        "numpy",
        "numba",
        "pandas",
        "pyarrow",
        "mesa",
        "networkx",
        "scipy",
        "SALib",
        "dask",
        "distributed",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    root = Path(__file__).resolve().parents[2]
    commit = dirty = None
    try:
        commit = (
            subprocess.run(
                ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
            ).stdout.strip()
            or None
        )
        if commit:
            dirty = bool(
                subprocess.run(
                    ["git", "-C", str(root), "status", "--porcelain", "--", "sim"],
                    capture_output=True,
                    text=True,
                    timeout=5,
                ).stdout.strip()
            )
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "versions": versions,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "git_commit": commit,
        "git_dirty_sim": dirty,
        "time_zone": time.tzname[0],
    }
