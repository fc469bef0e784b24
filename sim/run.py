"""One scenario and one seed in, one :class:`RunResult` out; and replications of that."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .scenario import Scenario

if TYPE_CHECKING:  # imported where used: `import sim` and the light CLI commands stay fast
    import pandas as pd


@dataclass
class RunResult:
    """What one run produced.

    ``series`` has one row per week (0 = initial state) and one column per
    metric; ``events`` is the run's event log (dicts with ``step``, ``kind``,
    ``org`` and details).
    """

    scenario: Scenario
    seed: int
    outcome: str
    outcome_step: int | None
    reason: str
    series: pd.DataFrame
    events: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    engine: str = "compiled"
    replication: int | None = None
    statistics: dict = field(default_factory=dict)  # end-of-run statistics asked for (sim.model.statistics)

    @property
    def final(self) -> dict:
        return self.series.iloc[-1].to_dict()

    def summary(self) -> dict:
        """A JSON-ready summary: outcome, timing, end-of-run metrics and event counts."""
        import numpy as np

        kinds: dict[str, int] = {}
        for e in self.events:
            kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
        final = {
            k: (
                None
                if isinstance(v, float) and np.isnan(v)
                else (int(v) if float(v).is_integer() and k not in _FLOAT_METRICS else round(float(v), 6))
            )
            for k, v in self.final.items()
            if k != "step"
        }
        return {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "replication": self.replication,
            "outcome": self.outcome,
            "outcome_step": self.outcome_step,
            "reason": self.reason,
            "steps": int(self.series["step"].iloc[-1]),
            "seconds": round(self.seconds, 4),
            "engine": self.engine,
            "final": final,
            "event_counts": kinds,
            "event_weeks": self.event_weeks(),
        }

    def events_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.events, columns=None if self.events else ["step", "kind", "org"])

    def event_weeks(self, kinds: Iterable[str] | None = None) -> dict[str, int | None]:
        """Week of the first event of each outcome-event kind (None: not by the horizon); see :func:`outcome_event_kinds`."""
        return event_weeks(self.events, kinds)


_FLOAT_METRICS = {
    f"{m}_{o}"
    for m in ("culture", "partner_trust", "leader_trust", "loyalty", "fatigue", "adoption", "board_commitment")
    for o in "ab"
} | {"message_gap", "trust_min", "adoption_min", "board_min"}


def model_code_digest() -> str:
    """A digest of the code that decides a run's results for a given scenario and seed: the model
    (sim/model), the schema (sim/scenario.py) and this module (replication seeds). Saved results (validation
    steps, calibration databases) are reused only for the same digest; the faces, analyses and docs can change
    without invalidating them. Each file counts by :func:`code_file_digest`, so documentation, typing and
    formatting do not count as a change of model. (Sweeps add their design and chunk runner:
    sim.sweep.provenance.)"""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted([*(root / "model").rglob("*.py"), root / "scenario.py", root / "run.py"]):
        if "_generated" in f.parts:
            continue
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + code_file_digest(f).encode())
    return h.hexdigest()


def code_file_digest(path: str | Path) -> str:
    """SHA-256 of a Python file's syntax tree without docstrings and type annotations: what the file computes,
    not how it is documented or laid out (the one rule for "is this the same code")."""
    import ast

    tree = _without_docs_and_types(ast.parse(Path(path).read_bytes()))
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def _without_docs_and_types(tree):
    """The tree without docstrings, annotations, ``if TYPE_CHECKING:`` blocks and bare declarations
    (``x: int``): none of them changes what the code computes."""
    import ast

    class Strip(ast.NodeTransformer):
        def visit_If(self, node: ast.If) -> ast.AST | None:
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
            if name == "TYPE_CHECKING" and not node.orelse:
                return None
            return self.generic_visit(node)

        def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST | None:
            if node.value is None:
                return None  # a declaration: nothing happens at run time
            return ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno)

    tree = Strip().visit(tree)
    for node in ast.walk(tree):
        if (
            isinstance(
                node,
                (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.If, ast.For, ast.While, ast.With, ast.Try),
            )
            and not node.body
        ):
            node.body = [ast.Pass()]
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body:
            first = body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
            for a in (
                *node.args.posonlyargs,
                *node.args.args,
                *node.args.kwonlyargs,
                node.args.vararg,
                node.args.kwarg,
            ):
                if a is not None:
                    a.annotation = None
    return tree


def replication_seed(seed: int, replication: int) -> int:
    """The integer seed of replication ``r`` of a run seeded ``seed`` (independent streams via SeedSequence)."""
    import numpy as np

    state = np.random.SeedSequence(int(seed), spawn_key=(int(replication),)).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


def run(
    scenario: Scenario | None = None,
    seed: int | None = None,
    *,
    steps: int | None = None,
    engine: str = "compiled",
    replication: int | None = None,
    statistics: Iterable[str] = (),
) -> RunResult:
    """Run one scenario once.

    ``seed`` defaults to the scenario's ``run.seed``; ``steps`` overrides
    ``run.steps``; ``engine`` is ``"compiled"`` (the default: one numba call a week) or
    ``"reference"`` (one agent at a time): same rules, same random numbers, same result; ``statistics`` names end-of-run
    statistics of the final state (:data:`sim.model.statistics.STATISTICS`).
    """
    import pandas as pd

    from .model import ENGINES, Simulation
    from .model.statistics import STATISTICS, compute

    statistics = list(statistics)
    unknown = [s for s in statistics if s not in STATISTICS]
    if unknown:
        raise ValueError(f"unknown statistic(s) {', '.join(unknown)}; known: {', '.join(STATISTICS)}")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(repr(e) for e in ENGINES)}, not {engine!r}")
    sc = scenario if scenario is not None else Scenario()
    if steps is not None:
        sc = sc.replace({"run.steps": int(steps)})
    seed = int(sc["run.seed"] if seed is None else seed)
    t0 = time.perf_counter()
    model = Simulation(sc, seed, engine=engine)
    model.run_to_end()
    seconds = time.perf_counter() - t0
    stats = compute(statistics, model.state, model.world) if statistics else {}
    series = pd.DataFrame.from_records(model.records)
    series = series[["step"] + [c for c in series.columns if c != "step"]]
    return RunResult(
        scenario=sc,
        seed=seed,
        outcome=model.outcome,
        outcome_step=model.outcome_step,
        reason=model.tracker.reason,
        series=series,
        events=list(model.events),
        seconds=seconds,
        engine=engine,
        replication=replication,
        statistics=stats,
    )


def iter_replications(
    scenario: Scenario,
    seed: int | None = None,
    replications: int = 1,
    *,
    steps: int | None = None,
    engine: str = "compiled",
    progress: Callable[[Iterable], Iterable] | None = None,
) -> Iterator[RunResult]:
    """Yield ``replications`` runs, one at a time (so a caller keeps what finished if interrupted).

    One replication runs with ``seed`` itself; more run with ``replication_seed(seed, r)``,
    so every run can be repeated alone with its recorded seed.
    """
    seed = int(scenario["run.seed"] if seed is None else seed)
    if replications == 1:
        yield run(scenario, seed, steps=steps, engine=engine)
        return
    reps: Iterable[int] = range(replications)
    if progress is not None:
        reps = progress(reps)
    for r in reps:
        yield run(scenario, replication_seed(seed, r), steps=steps, engine=engine, replication=r)


def run_replications(scenario: Scenario, seed: int | None = None, replications: int = 1, **kw) -> list[RunResult]:
    """All of :func:`iter_replications` as a list."""
    return list(iter_replications(scenario, seed, replications, **kw))


def describe_event(e: dict) -> str:
    """One line of plain English for an event of the log."""
    org = f" {e['org']}" if e.get("org") else ""
    detail = {k: v for k, v in e.items() if k not in ("step", "kind", "org")}
    extra = ""
    if e["kind"] == "departure":
        extra = (" chief executive" if detail.get("seat") == 0 else f" executive seat {detail.get('seat')}") + (
            " left; interim in post" if detail.get("interim") else " left"
        )
    elif e["kind"] == "appointment":
        extra = (
            " permanent "
            + ("chief executive" if detail.get("seat") == 0 else f"executive (seat {detail.get('seat')})")
            + " appointed"
        )
    elif detail:
        extra = " " + ", ".join(f"{k}={v}" for k, v in detail.items())
    return f"week {e['step']:>3}: {e['kind'].replace('_', ' ')}{org}{extra}"


def outcome_event_kinds() -> tuple[str, ...]:
    """Kinds of event that mark an outcome with a time (for survival curves): the model's ``OUTCOME_EVENTS``
    when it declares them (``sim.model.outcomes``), else every decided outcome (``OUTCOMES`` but undecided).

    Each appears in a run's event log, as ``{"step": week, "kind": kind, ...}``, the week it first happens."""
    from .model import outcomes

    declared = getattr(outcomes, "OUTCOME_EVENTS", None)
    if declared:
        return tuple(declared)
    return tuple(k for k in outcomes.OUTCOMES if k != outcomes.UNDECIDED)


def event_weeks(events: Iterable[dict], kinds: Iterable[str] | None = None) -> dict[str, int | None]:
    """Week of the first event of each kind in an event log (None where there is none)."""
    kinds = outcome_event_kinds() if kinds is None else tuple(kinds)
    first: dict[str, int | None] = dict.fromkeys(kinds)
    for e in events:
        k = e.get("kind")
        if k in first and first[k] is None:
            first[k] = int(e["step"])
    return first
