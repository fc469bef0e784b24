"""What a sweep's results depend on, recorded so that a resume never mixes two models in one table.

The **fingerprint** of a sweep has four parts, each compared on resume:

- ``experiment``: the SHA-256 of the experiment file's text;
- ``base``: the SHA-256 of the resolved base scenario (every parameter's value after the base scenario file
  and ``[set]``), so an edited base scenario file is caught even though the experiment file is unchanged;
- ``code``: the **code version**, a digest of the installed sources that decide a run's result
  (:data:`CODE_PATHS`: the model, the scenario schema, ``run``, the design and the chunk runner), so any edit
  to the model changes it; the manifest also keeps one digest per file, so a refusal can say which changed;
- ``libraries``: the versions of the libraries whose numbers enter the results (random streams, samplers).

The manifest keeps the parts and their details; every chunk's commit record keeps the parts too, so the
guard holds even if the manifest is lost.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import subprocess
import time
from functools import cache
from pathlib import Path

#: Sources (relative to the installed ``sim`` package) whose text decides what a run computes and records.
#: The faces (CLI, UI), the analysis and the store's own machinery are left out: editing them cannot change
#: a result, and a resume should not be refused for it.
CODE_PATHS = (
    "__init__.py",
    "scenario.py",
    "run.py",
    "model",
    "sweep/design.py",
    "sweep/chunk.py",
)
#: Libraries whose versions can change the numbers: the random streams (numpy, and numba's copy of them in the
#: compiled engine) and the design samplers (scipy's Latin hypercube, SALib's Sobol and Morris).
RESULT_LIBRARIES = ("numpy", "numba", "scipy", "SALib")
#: Other versions recorded in each session (for the record; they do not guard resumes).
RECORDED_LIBRARIES = ("buddysim", "pandas", "pyarrow", "mesa", "networkx", "dask", "distributed")


def package_root() -> Path:
    return Path(__file__).resolve().parents[1]


def code_files(root: Path | None = None) -> dict[str, str]:
    """The digest (first 16 hex digits; :func:`sim.run.code_file_digest`: docstrings, annotations and layout do not
    count) of each source file under :data:`CODE_PATHS`, by path relative to the package."""
    from ..run import code_file_digest

    root = Path(root) if root else package_root()
    files: dict[str, str] = {}
    for rel in CODE_PATHS:
        path = root / rel
        found = sorted(path.rglob("*.py")) if path.is_dir() else ([path] if path.exists() else [])
        for f in found:
            if "_generated" in f.parts:
                continue
            files[f.relative_to(root).as_posix()] = code_file_digest(f)[:16]
    return dict(sorted(files.items()))


def code_version_of(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]


@cache
def code_version() -> str:
    """The digest of the installed model code (:data:`CODE_PATHS`); cached per process."""
    return code_version_of(code_files())


@cache
def _installed_code_files() -> tuple:
    return tuple(code_files().items())


def installed_code_files() -> dict[str, str]:
    return dict(_installed_code_files())


def library_versions(names=RESULT_LIBRARIES) -> dict[str, str | None]:
    return {name: _version(name) for name in names}


@cache
def _version(name: str) -> str | None:
    from importlib import metadata  # ~7 ms a lookup: cached per process

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def base_digest(base: dict) -> str:
    return hashlib.sha256(json.dumps(dict(base), sort_keys=True, default=repr).encode()).hexdigest()[:16]


def fingerprint(exp) -> dict:
    """The four parts compared on resume (see the module's docstring)."""
    return {
        "experiment": exp.sha256[:16],
        "base": base_digest(exp.base),
        "code": code_version(),
        "libraries": library_versions(),
    }


def differences(old: dict, new: dict, old_details: dict | None, new_details: dict) -> list[str]:
    """What changed between two fingerprints, in words (``details``: the manifest's record of the parts)."""
    old_details = old_details or {}
    said = []
    if old.get("experiment") != new["experiment"]:
        said.append(_experiment_change(old_details.get("experiment_text"), new_details.get("experiment_text")))
    if old.get("base") != new["base"]:
        said.append(_base_change(old_details.get("base_scenario"), new_details.get("base_scenario")))
    if old.get("code") != new["code"]:
        said.append(
            _code_change(old.get("code"), new["code"], old_details.get("code_files"), new_details["code_files"])
        )
    if old.get("libraries") != new["libraries"]:
        libs = old.get("libraries") or {}
        changes = [f"{k} {libs.get(k)} -> {v}" for k, v in new["libraries"].items() if libs.get(k) != v] or [
            "(versions not recorded)"
        ]
        said.append("the libraries that decide the numbers changed: " + ", ".join(changes))
    return said


def _experiment_change(old_text: str | None, new_text: str | None) -> str:
    msg = "the experiment file changed (a different experiment file from the one this folder holds)"
    if old_text is None or new_text is None:
        return msg
    import difflib

    lines = [
        line
        for line in difflib.unified_diff(old_text.splitlines(), new_text.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    shown = "; ".join(line[:80] for line in lines[:6]) + ("; ..." if len(lines) > 6 else "")
    return f"{msg}: {shown}" if shown else msg


def _base_change(old: dict | None, new: dict | None) -> str:
    msg = "the resolved base scenario changed (the base scenario file, or [set], was edited)"
    if not old or not new:
        return msg
    changed = [
        f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
    ]
    return f"{msg}: " + "; ".join(changed[:8]) + ("; ..." if len(changed) > 8 else "")


def _code_change(old_version, new_version, old_files: dict | None, new_files: dict) -> str:
    msg = f"the model's code changed (code version {old_version} -> {new_version})"
    if not old_files:
        return msg
    changed = [f for f in sorted(set(old_files) | set(new_files)) if old_files.get(f) != new_files.get(f)]
    words = [
        f"sim/{f} " + ("added" if f not in old_files else "removed" if f not in new_files else "edited")
        for f in changed
    ]
    return f"{msg}: " + ", ".join(words[:10]) + (", ..." if len(words) > 10 else "")


def session_info() -> dict:
    """Who is running this session: host, process, Python, versions, git commit of the sources."""
    commit, dirty = _git()
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "user": _user(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": library_versions(RESULT_LIBRARIES + RECORDED_LIBRARIES),
        "code_version": code_version(),
        "git_commit": commit,
        "git_dirty_sim": dirty,
        "time_zone": time.tzname[0],
    }


@cache
def _git() -> tuple[str | None, bool | None]:
    """The git commit of the sources and whether sim/ has uncommitted changes (None outside a checkout)."""
    root = package_root().parent
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
    return commit, dirty


def _user() -> str | None:
    try:
        import getpass

        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return None
