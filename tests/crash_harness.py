"""Crash-test harness: kill a sweep at each of its file-system calls in turn, resume it, compare.

The sweep runs in a forked child process whose ``os`` functions that change the store (``replace``,
``rename``, ``unlink``, ``remove``, ``rmdir``, ``mkdir``, ``fsync``; pathlib goes through them) are wrapped:
the first run records every call on a path inside the sweep's folder (the trace); then, for each call k of
the trace, a fresh child sends itself SIGKILL just before call k. The kill is real (no ``finally`` runs, no
buffer is flushed), and the points come from the sweep's own behaviour rather than from marks in the store's
code, so the harness tests any version of the store (it found the clean-up hole of issue 13 in the old one).

After each kill the parent resumes the sweep (or the merge) in-process, as a user would, and classifies:

- ``identical``: the resumed sweep completed with tables equal to the uninterrupted sweep's;
- ``detected-and-recomputed``: the same, and the resume reported a committed chunk that failed verification
  and computed it again;
- ``refused``: the resume stopped with a clear error (a SweepError);
- ``WRONG``: anything else (tables that differ, a missing row, a traceback): a failure.

``python -m tests.crash_harness`` prints the matrix (one row per kind of point) in Markdown.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import warnings
from collections import Counter
from pathlib import Path

import pandas as pd

OPS = ("replace", "rename", "unlink", "remove", "rmdir", "mkdir", "fsync")


def _path_of(arg) -> str | None:
    if isinstance(arg, int):  # fsync(fd)
        try:
            return str(Path(f"/proc/self/fd/{arg}").readlink())
        except OSError:
            return None
    try:
        return os.fspath(arg)
    except TypeError:
        return None


def _install(folder: str, on_call) -> None:
    """Wrap the ``os`` functions that change files so that ``on_call(op, relpath)`` runs before each call on a
    path inside ``folder`` (called in the child only)."""
    root = os.path.realpath(folder)
    for op in OPS:
        original = getattr(os, op)

        def wrapper(*args, _original=original, _op=op, **kwargs):
            path = _path_of(args[0]) if args else None
            if path is not None:
                full = os.path.realpath(path) if _op != "fsync" else path
                if full == root or full.startswith(root + os.sep):
                    rel = os.path.relpath(full, root)
                    if _op in ("replace", "rename") and len(args) > 1:
                        rel += " -> " + os.path.relpath(os.path.realpath(_path_of(args[1])), root)
                    on_call(_op, rel)
            return _original(*args, **kwargs)

        setattr(os, op, wrapper)


def _fork(child_body) -> int:
    """Run ``child_body()`` in a forked child; returns its wait status. The child never returns to the caller."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with Arrow's threads: the child only sweeps
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            child_body()
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return status


def trace(folder: Path, action) -> list[tuple[str, str]]:
    """The file-system calls ``action()`` makes on ``folder``, in order (run in a child)."""
    r, w = os.pipe()

    def body():
        os.close(r)
        out = os.fdopen(w, "w")

        def note(op, rel):
            out.write(f"{op}\t{rel}\n")
            out.flush()

        _install(str(folder), note)
        action()
        out.close()

    status = _fork(body)
    os.close(w)
    with os.fdopen(r) as f:
        lines = [tuple(line.rstrip("\n").split("\t", 1)) for line in f if line.strip()]
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        raise RuntimeError(f"the traced action failed (wait status {status})")
    return lines


def kill_at(folder: Path, action, k: int) -> bool:
    """Run ``action()`` in a child that SIGKILLs itself just before its k-th (0-based) call on ``folder``.
    True if it was killed there (False: it finished first)."""

    def body():
        seen = [0]

        def maybe_die(op, rel):
            if seen[0] == k:
                os.kill(os.getpid(), signal.SIGKILL)
            seen[0] += 1

        _install(str(folder), maybe_die)
        action()

    status = _fork(body)
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def first_call_of_chunk(calls, chunk: int) -> int:
    """Index of the first call on any file of ``chunk``: a kill there leaves the chunks before it finished and
    this one not begun, whatever the store's protocol (so the tests also run against other versions)."""
    tag = f"{chunk:06d}"
    return next(k for k, (_, rel) in enumerate(calls) if tag in rel)


def commit_points(calls) -> list[int]:
    """Indices of the calls that commit a chunk (the rename of its commit record into place)."""
    return [k for k, (op, rel) in enumerate(calls) if op in ("replace", "rename") and " -> parts/commit-" in rel]


def point_kind(op: str, rel: str) -> str:
    """A point's kind: the call and the file with chunk numbers and temporary-name tags generalised."""
    rel = re.sub(r"\d{6}", "N", rel)
    rel = re.sub(r"\.[^./ ]+-\d+\.tmp\b", ".<tmp>", rel)
    rel = re.sub(r"\.\d+\.tmp\b", ".<tmp>", rel)
    return f"{op} {rel}"


def tables(out: Path):
    runs = pd.read_parquet(out / "runs.parquet").drop(columns=["seconds"])
    series = pd.read_parquet(out / "series.parquet") if (out / "series.parquet").exists() else None
    return runs, series


def same_tables(a: Path, b: Path) -> bool:
    ra, sa = tables(a)
    rb, sb = tables(b)
    try:
        pd.testing.assert_frame_equal(ra, rb, check_exact=True)
        if sa is None or sb is None:
            return sa is None and sb is None
        pd.testing.assert_frame_equal(sa, sb, check_exact=True)
    except AssertionError:
        return False
    return True


def classify(out: Path, reference: Path, resume) -> tuple[str, list[str]]:
    """Resume (``resume(log)``) and classify the outcome; returns (outcome, log lines)."""
    lines: list[str] = []
    try:
        resume(lines.append)
    except Exception as exc:
        from sim.scenario import ScenarioError

        if isinstance(exc, ScenarioError) and type(exc).__name__ == "SweepError":
            return "refused", [*lines, str(exc)]
        return "WRONG", [*lines, f"{type(exc).__name__}: {exc}"]
    try:
        ok = same_tables(out, reference)
    except Exception as exc:
        return "WRONG", [*lines, f"cannot read the tables: {type(exc).__name__}: {exc}"]
    if not ok:
        return "WRONG", [*lines, "the tables differ from the uninterrupted sweep's"]
    manifest = _manifest(out)
    if manifest.get("status") != "complete":
        return "WRONG", [*lines, f"manifest status {manifest.get('status')!r}"]
    if any("computing it again" in line or "removed (its shard" in line for line in lines):
        return "detected-and-recomputed", lines
    return "identical", lines


def _manifest(out: Path) -> dict:
    import json

    try:
        return json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


def leftovers(out: Path) -> str:
    """What a kill left in the folder, in words (for the matrix)."""
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    kinds = Counter(re.sub(r"\d{6}", "N", re.sub(r"\.[^./]+-\d+\.tmp$", ".<tmp>", n)) for n in names)
    status = _manifest(out).get("status", "no manifest")
    return f"manifest {status}; " + ", ".join(f"{k} x{v}" if v > 1 else k for k, v in sorted(kinds.items()))


# --- the two scenarios the tests run ------------------------------------------------------------------------
def sweep_matrix(experiment_path: Path, work: Path, *, quiet=lambda *a: None):
    """Kill a serial sweep at each of its store calls; returns (reference folder, rows of (k, op, rel, outcome,
    log, left))."""
    from sim.sweep import load_experiment, sweep

    exp = load_experiment(experiment_path)
    reference = work / "reference"
    sweep(exp, reference, workers=1, log=quiet)
    probe = work / "probe"
    calls = trace(probe, lambda: sweep(load_experiment(experiment_path), probe, workers=1, log=quiet))
    rows = []
    for k, (op, rel) in enumerate(calls):
        out = work / f"k{k:03d}"
        killed = kill_at(out, lambda out=out: sweep(load_experiment(experiment_path), out, workers=1, log=quiet), k)
        left = leftovers(out) if killed else "(finished before the point)"
        outcome, lines = classify(
            out, reference, lambda log, out=out: sweep(load_experiment(experiment_path), out, workers=1, log=log)
        )
        rows.append((k, op, rel, outcome, lines, left))
    return reference, rows


def merge_matrix(experiment_path: Path, work: Path, shards: int = 2, *, quiet=lambda *a: None):
    """Run every shard, then kill ``merge`` at each of its store calls and merge again."""
    import shutil

    from sim.sweep import load_experiment, merge, sweep

    reference = work / "reference"
    sweep(load_experiment(experiment_path), reference, workers=1, log=quiet)
    sharded = work / "sharded"
    for i in range(1, shards + 1):
        sweep(load_experiment(experiment_path), sharded, workers=1, shard=(i, shards), log=quiet)
    probe = work / "probe"
    shutil.copytree(sharded, probe)
    calls = trace(probe, lambda: merge(probe, log=quiet))
    rows = []
    for k, (op, rel) in enumerate(calls):
        out = work / f"m{k:03d}"
        shutil.copytree(sharded, out)
        killed = kill_at(out, lambda out=out: merge(out, log=quiet), k)
        left = leftovers(out) if killed else "(finished before the point)"
        outcome, lines = classify(out, reference, lambda log, out=out: merge(out, log=log))
        rows.append((k, op, rel, outcome, lines, left))
    return reference, rows


def matrix_markdown(rows) -> str:
    """One line per kind of point: how many kills, and their outcomes."""
    by_kind: dict[str, Counter] = {}
    order = []
    for _, op, rel, outcome, _, _ in rows:
        kind = point_kind(op, rel)
        if kind not in by_kind:
            by_kind[kind] = Counter()
            order.append(kind)
        by_kind[kind][outcome] += 1
    lines = [
        "| killed just before | kills | identical | detected-and-recomputed | refused | wrong |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind in order:
        c = by_kind[kind]
        lines.append(
            f"| `{kind}` | {sum(c.values())} | {c['identical']} | {c['detected-and-recomputed']} | {c['refused']} | {c['WRONG']} |"
        )
    return "\n".join(lines)


def main() -> None:  # pragma: no cover - a report, run by hand
    import tempfile

    from tests.test_crash import write_experiment

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = write_experiment(tmp)
        _, rows = sweep_matrix(path, tmp / "sweep")
        print("## sweep, killed at each store call, then resumed\n")
        print(matrix_markdown(rows))
        _, mrows = merge_matrix(path, tmp / "merge")
        print("\n## merge of two shards, killed at each store call, then merged again\n")
        print(matrix_markdown(mrows))
        bad = [r for r in rows + mrows if r[3] == "WRONG"]
        for k, op, rel, _, lines, left in bad:
            print(f"\nWRONG at {k} {op} {rel}: left {left}\n  " + "\n  ".join(lines[-3:]))
        with contextlib.suppress(Exception):
            sys.stdout.flush()


if __name__ == "__main__":  # pragma: no cover
    main()
