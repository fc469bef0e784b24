"""The project around the code: one version everywhere, the licence, the lock, and a wheel that works on its own."""

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import sim

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_version_has_one_source():
    """pyproject.toml takes the version from sim.__version__; CITATION.cff and the installed metadata agree."""
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "sim.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]\d+|rc\d+)?(\.dev\d+)?", sim.__version__)
    cited = re.search(r'^version:\s*"?([^"\n]+)"?\s*$', (ROOT / "CITATION.cff").read_text(), re.M)
    assert cited and cited.group(1) == sim.__version__, "CITATION.cff's version must equal sim.__version__"
    assert metadata.version("buddysim") == sim.__version__, "reinstall (pip install -e .) after changing the version"


def test_licence_file_matches_the_metadata():
    assert PYPROJECT["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "license: MIT" in (ROOT / "CITATION.cff").read_text()


def _requirements() -> list[Requirement]:
    project = PYPROJECT["project"]
    extras = [r for extra in project["optional-dependencies"].values() for r in extra]
    return [Requirement(r) for r in [*project["dependencies"], *extras]]


def test_the_lock_pins_every_dependency_and_extra():
    """requirements/lock.txt (what CI installs) pins every requirement of pyproject.toml, extras included, to a
    version the requirement allows: a dependency added or raised without regenerating the lock (.ci/lock)
    fails here rather than on a user's machine."""
    pins = {}
    for line in (ROOT / "requirements" / "lock.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if m:
            pins[canonicalize_name(m.group(1))] = m.group(2)
    assert "numba" in pins and "numpy" in pins  # the two whose upgrades can change random streams
    problems = []
    for req in _requirements():
        pin = pins.get(canonicalize_name(req.name))
        if pin is None:
            problems.append(f"{req.name} is not pinned")
        elif not req.specifier.contains(pin, prereleases=True):
            problems.append(f"{req.name}=={pin} does not satisfy {req}")
    assert not problems, "; ".join(problems) + " in requirements/lock.txt: regenerate it with .ci/lock"


def test_git_hooks_run_the_ruff_that_ci_runs():
    lock = re.search(r"^ruff==(\S+)", (ROOT / "requirements" / "lock.txt").read_text(), re.M)
    hooks = set(re.findall(r"ruff==([^\"'\s]+)", (ROOT / ".pre-commit-config.yaml").read_text()))
    assert lock and hooks == {lock.group(1)}, f"lock: {lock and lock.group(1)}, hooks: {hooks}; run .ci/lock"


@pytest.mark.slow
def test_the_wheel_ships_the_scenarios_and_runs_outside_the_checkout(tmp_path):
    """Build the wheel (offline) from a copy of the sources, unpack it as an install would, and use it from a
    folder with no scenarios/ in it."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "sim", src / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    dist = tmp_path / "dist"
    p = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, src],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    (wheel,) = dist.glob("buddysim-*.whl")
    assert wheel.name.startswith(f"buddysim-{sim.__version__}-")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("sim/scenarios/") and n.endswith(".toml"))
    assert shipped == sorted(f.name for f in (ROOT / "scenarios").glob("*.toml"))
    assert not any(n.startswith(("tests/", "scenarios/", "validation/")) for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}

    def buddysim(*args):
        return subprocess.run(
            [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=elsewhere, env=env, timeout=300
        )

    p = subprocess.run(
        [sys.executable, "-c", "import sim; print(sim.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=elsewhere,
    )
    assert Path(p.stdout.strip()).is_relative_to(site), "the test must use the unpacked wheel, not the checkout"
    p = buddysim("scenarios")
    assert p.returncode == 0 and p.stdout.split()[0] == "baseline" and str(site) in p.stdout, p.stderr
    p = buddysim("validate", "baseline", "unions_excluded.toml")
    assert p.returncode == 0 and p.stdout.count("ok: ") == 2, p.stderr
    p = buddysim("run", "high_competition", "--steps", "3", "--engine", "reference", "--no-plots", "-q")
    assert p.returncode == 0, p.stderr
    assert (elsewhere / "results" / "high_competition" / "summary.json").exists()


# -- imports go one way ------------------------------------------------------------------------------------
#: The layers, lowest first (CONTRIBUTING.md, "House rules"): a module may import its own layer and the ones
#: below it, never one above. The faces (command line, page) sit on top of everything.
LAYERS = (
    ("schema", ("sim.scenario", "sim.timeline")),
    ("model", ("sim.model",)),
    ("run", ("sim.run",)),
    ("sweep", ("sim.sweep",)),
    ("analysis", ("sim.analysis",)),
    ("validation", ("sim.validation",)),
    ("faces", ("sim.cli", "sim.ui", "sim.app", "sim.__main__", "sim.ui_assets")),
)
#: Imports against the layers that are deliberate, each with its reason. A timeline condition names metrics,
#: so checking one reads the model's list of metric names (imported inside the check, never at import time).
ALLOWED_UPWARDS = {("sim.timeline", "sim.model.metrics")}


def _layer(module: str) -> int | None:
    for rank, (_name, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    return None  # the package's own __init__ (its version and lazy re-exports)


def _imports(path: Path, module: str) -> list[tuple[str, bool]]:
    """(imported module, at import time?) for every ``sim`` import in a file; "at import time" excludes
    imports inside functions and under ``if TYPE_CHECKING:``."""
    import ast

    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, bool]] = []

    def visit(node, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            in_function = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if in_function or (isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test)):
                visit(child, False)
            elif isinstance(child, ast.Import):
                found.extend((a.name, top) for a in child.names if a.name.split(".")[0] == "sim")
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - child.level + 1])
                    target = f"{base}.{child.module}" if child.module else base
                else:
                    target = child.module or ""
                if target.split(".")[0] != "sim":
                    continue
                if child.module is None:  # from . import a, b: each name is a module of the package
                    found.extend((f"{target}.{a.name}", top) for a in child.names)
                else:
                    found.append((target, top))
            else:
                visit(child, top)

    visit(ast.parse(path.read_text()), True)
    return found


def _import_graph() -> dict[str, list[tuple[str, bool]]]:
    graph = {}
    for path in sorted((ROOT / "sim").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        if "_generated" in rel.parts:
            continue
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        module = ".".join(parts)
        graph[module] = _imports(path, module)
    return graph


def test_imports_go_one_way_down_the_layers():
    graph = _import_graph()
    assert {"sim.scenario", "sim.model.simulation", "sim.sweep.store", "sim.cli"} <= set(graph)
    upwards = []
    for module, imports in graph.items():
        mine = _layer(module)
        for target, _top in imports:
            theirs = _layer(target)
            if mine is None or theirs is None or (module, target) in ALLOWED_UPWARDS:
                continue
            if theirs > mine:
                upwards.append(f"{module} ({LAYERS[mine][0]}) imports {target} ({LAYERS[theirs][0]})")
    assert not upwards, "imports against the layers:\n" + "\n".join(sorted(upwards))


def test_no_import_cycle_at_import_time():
    graph = _import_graph()
    edges = {m: sorted({t for t, top in imports if top and t in graph and t != m}) for m, imports in graph.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def walk(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in edges[node]:
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt] if nxt in path else [*path, nxt]
            if nxt not in state and (cycle := walk(nxt, [*path, nxt])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := walk(start, [start])):
            pytest.fail("import cycle at import time: " + " -> ".join(cycle))
