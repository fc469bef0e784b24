"""Experiment files and their design tables.

An experiment file (TOML, data only) names a base scenario, the parameters to
vary, a design, replications, a master seed and what to record::

    [experiment]
    scenario = "../scenarios/baseline.toml"   # relative to this file; default: all defaults
    design = "grid"                           # grid | lhs | sobol | morris | table
    replications = 10
    seed = 2013

    [set]                                     # fixed changes to the base scenario
    "run.steps" = 104

    [vary."leadership.turnover_a"]
    values = [0.1, 0.5, 1.0, 2.0]             # or: low, high (and steps for a grid; scale = "log")

    [record]
    series = ["partner_trust_a", "trust_min"] # per-step series to keep (default: none)
    every = 4                                 # keep every 4th week (and the last)
    final = ["culture_clusters"]              # end-of-run statistics (sim.model.statistics), one column each

``design = "robust"`` runs every policy across the same sampled futures (robust decision making; see
docs/analysis.md): ``[levers."section.name"] values = [...]`` (every combination is a policy) or
``[[policy]]`` tables (named policies), ``[uncertain."section.name"]`` ranges sampled by Latin hypercube
(``samples`` futures, same keys as ``[vary]``), and a ``[robust]`` table of analysis settings read by
:mod:`sim.analysis.robust`. Point ``future * n_policies + policy`` is policy ``policy`` in future
``future``; replication ``r`` of a future has the same seed under every policy (common random numbers).

The design table has one row per run: ``run_id``, ``point``, ``replication``,
``seed`` and one column per varied parameter. Seeds come from
``numpy.random.SeedSequence(seed)``: run ``k`` gets the ``k``-th independent
stream (or, with ``common_random_numbers = true``, replication ``r`` gets the
same stream at every point), so a run's result depends only on its
parameters and its seed.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..model.metrics import METRICS
from ..model.statistics import STATISTICS
from ..run import replication_seed
from ..scenario import (
    PARAM_BY_KEY,
    Scenario,
    ScenarioError,
    check_combination,
    check_value,
    did_you_mean,
    load_scenario,
    parse_toml,
    printable,
    read_text_file,
    show_value,
)
from ..timeline import check_for

DESIGNS = ("grid", "lhs", "sobol", "morris", "table", "robust")
EXPERIMENT_KEYS = {
    "name",
    "scenario",
    "design",
    "samples",
    "replications",
    "seed",
    "levels",
    "second_order",
    "common_random_numbers",
    "chunk",
    "description",
    "posterior",
}
VARY_KEYS = {"values", "low", "high", "steps", "scale", "distribution", "mean", "sd", "mode"}
DISTRIBUTIONS = ("uniform", "normal", "triangular")
RECORD_KEYS = {"series", "every", "final"}
TOP_KEYS = {"experiment", "set", "vary", "record", "points", "levers", "policy", "uncertain", "robust"}
ROBUST_ONLY = ("levers", "policy", "uncertain", "robust")
#: Largest design run without ``--force``: 5 million runs (a design table of ~0.5 GB; at the default scenario's
#: ~0.05 s a run, ~70 core-hours). Counted from the file, before any table is built (``design_size``).
MAX_RUNS = 5_000_000
#: Largest experiment file read (a file with [[points]] can be long; 50 MB is ~500,000 points).
MAX_EXPERIMENT_BYTES = 50 * 2**20


class ExperimentError(ScenarioError):
    """An experiment file that does not fit the schema (same form as scenario errors)."""


@dataclass
class Factor:
    key: str
    values: list | None = None
    low: float | None = None
    high: float | None = None
    steps: int | None = None
    scale: str = "linear"
    distribution: str = "uniform"  # uniform | normal | triangular (sampled designs)
    mean: float | None = None  # normal: mean, truncated to [low, high]
    sd: float | None = None
    mode: float | None = None  # triangular: peak

    @property
    def kind(self):
        return PARAM_BY_KEY[self.key].kind

    def grid(self) -> list:
        if self.values is not None:
            return list(self.values)
        if self.scale == "log":
            pts = np.geomspace(self.low, self.high, self.steps)
        else:
            pts = np.linspace(self.low, self.high, self.steps)
        return [self._cast(x) for x in pts.tolist()]

    def from_unit(self, u: np.ndarray) -> list:
        """Map points of [0, 1] to the factor's values (uniform, log-uniform or a discrete choice)."""
        if self.values is not None:
            idx = np.minimum((u * len(self.values)).astype(int), len(self.values) - 1)
            return [self.values[i] for i in idx]
        if self.distribution == "normal":
            from scipy.stats import truncnorm

            a, b = (self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd
            x = truncnorm.ppf(u, a, b, loc=self.mean, scale=self.sd)
        elif self.distribution == "triangular":
            from scipy.stats import triang

            width = self.high - self.low
            x = triang.ppf(u, (self.mode - self.low) / width, loc=self.low, scale=width)
        elif self.scale == "log":
            x = np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        x = np.clip(x, self.low, self.high)  # guard the ends against rounding in the inverse CDFs
        return [self._cast(v) for v in x.tolist()]

    def _cast(self, x: float):
        if self.kind is int:
            return int(round(x))
        return float(x)


@dataclass
class Policy:
    """One policy of a robust design: a name and a value for every lever key."""

    name: str
    values: dict
    named: bool = False  # named by the file ([[policy]] name = ...), not made from its lever values


@dataclass
class Experiment:
    name: str
    path: Path | None
    text: str
    base: Scenario
    fixed: dict
    factors: list[Factor]
    design: str
    samples: int
    replications: int
    seed: int
    levels: int = 4
    second_order: bool = False
    common_random_numbers: bool = False
    chunk: int | None = None
    series: list[str] = field(default_factory=list)
    every: int = 1
    final: list[str] = field(default_factory=list)  # end-of-run statistics, one runs-table column each
    points: list[dict] | None = None
    description: str = ""
    # design = "robust": the policies (name, values of every lever key), the sampled uncertainties, and the
    # raw [robust] table (analysis settings, checked by sim.analysis.robust)
    policies: list[Policy] = field(default_factory=list)
    uncertain: list[Factor] = field(default_factory=list)
    robust: dict = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def scenario_for(self, params: dict) -> Scenario:
        return self.base.replace(params)

    # --- the design ---------------------------------------------------------------------
    def points_table(self) -> pd.DataFrame:
        """One row per design point (no replications), columns = varied parameters."""
        keys = [f.key for f in self.factors]
        if self.design == "grid":
            rows = list(itertools.product(*[f.grid() for f in self.factors])) if self.factors else [()]
            return pd.DataFrame(rows, columns=keys)
        if self.design == "table":
            return pd.DataFrame(self.points)
        if self.design == "robust":
            futures = self.futures_table()
            lever_keys = self.lever_keys
            rows = [
                {**{k: p.values[k] for k in lever_keys}, **f} for f in futures.to_dict("records") for p in self.policies
            ]
            return pd.DataFrame(rows, columns=[*lever_keys, *futures.columns])
        u = self.unit_samples()
        return pd.DataFrame({f.key: f.from_unit(u[:, j]) for j, f in enumerate(self.factors)})

    # --- robust designs: policies x futures -------------------------------------------------------
    @property
    def lever_keys(self) -> list[str]:
        return list(self.policies[0].values) if self.policies else []

    def futures_table(self) -> pd.DataFrame:
        """One row per sampled future (design = "robust"), one column per uncertain parameter.

        Futures are a Latin hypercube over ``[uncertain]``. This is the one place futures come from: draws
        from a calibrated posterior (``posterior = ...``, refused for now) would plug in here, as rows of
        parameter values, with the posterior kept in the sweep folder so that a resume and the analysis see the
        same futures (docs/analysis.md)."""
        u = self.unit_samples()
        return pd.DataFrame({f.key: f.from_unit(u[:, j]) for j, f in enumerate(self.uncertain)})

    def policy_and_future(self, point):
        """(policy index, future index) of a design point of a robust design (numbers or arrays)."""
        n = len(self.policies)
        return point % n, point // n

    def unit_samples(self) -> np.ndarray:
        """The sampled design in [0, 1]^D (lhs, sobol, morris; robust: its futures), before mapping to values."""
        if self.design in ("lhs", "robust"):
            from scipy.stats import qmc

            d = len(self.uncertain if self.design == "robust" else self.factors)
            return qmc.LatinHypercube(d=d, seed=np.random.default_rng(self._design_seed())).random(self.samples)
        from SALib.sample import morris as morris_sample
        from SALib.sample import sobol as sobol_sample

        problem = self.salib_problem(unit=True)
        if self.design == "sobol":
            return sobol_sample.sample(
                problem, self.samples, calc_second_order=self.second_order, seed=self._design_seed() % 2**32
            )
        if self.design == "morris":
            return morris_sample.sample(problem, self.samples, num_levels=self.levels, seed=self._design_seed() % 2**32)
        raise ValueError(f"design {self.design!r} has no unit samples")

    def salib_problem(self, unit: bool = False) -> dict:
        return {
            "num_vars": len(self.factors),
            "names": [f.key for f in self.factors],
            "bounds": [[0.0, 1.0] if unit or f.values is not None else [f.low, f.high] for f in self.factors],
        }

    def _design_seed(self) -> int:
        return replication_seed(self.seed, 2**31)  # a stream of its own, apart from the runs'

    def design_table(self) -> pd.DataFrame:
        """One row per run: run_id, point, replication, seed, then the varied parameters."""
        pts = self.points_table()
        n_pts, reps = len(pts), self.replications
        point = np.repeat(np.arange(n_pts), reps)
        rep = np.tile(np.arange(reps), n_pts)
        run_id = np.arange(n_pts * reps)
        if self.design == "robust":  # every policy sees the same seeds in a future: common random numbers
            _, future = self.policy_and_future(point)
            seeds = [replication_seed(self.seed, int(f) * reps + int(r)) for f, r in zip(future, rep)]
        elif self.common_random_numbers:
            seeds = [replication_seed(self.seed, int(r)) for r in rep]
        else:
            seeds = [replication_seed(self.seed, int(k)) for k in run_id]
        table = pd.DataFrame(
            {
                "run_id": run_id,
                "point": point,
                "replication": rep,
                "seed": np.array(seeds, dtype=np.uint64).astype(np.int64),
            }
        )
        for col in pts.columns:
            table[col] = np.repeat(pts[col].to_numpy(dtype=object), reps)
        return table


def design_size(exp: Experiment) -> tuple[int, int]:
    """(design points, runs), counted from the experiment's settings without building anything."""
    d = len(exp.factors)
    if exp.design == "grid":
        points = math.prod(len(f.values) if f.values is not None else f.steps for f in exp.factors)
    elif exp.design == "table":
        points = len(exp.points or [])
    elif exp.design == "lhs":
        points = exp.samples
    elif exp.design == "sobol":
        points = exp.samples * ((2 * d + 2) if exp.second_order else (d + 2))
    elif exp.design == "robust":  # every policy in every future (its factors are levers and uncertainties)
        points = len(exp.policies) * exp.samples
    else:  # morris
        points = exp.samples * (d + 1)
    return points, points * exp.replications


# --- loading -------------------------------------------------------------------------------
def _err(source, key, msg):
    return ExperimentError(source, key, msg)


def check_name(source: str, key: str | None, name) -> str:
    """An experiment name, which becomes the folder ``results/<name>``: one folder name, never a path."""
    if not isinstance(name, str):
        raise _err(source, key, f"expected a string, got {printable(repr(name), 40)}")
    problem = None
    if not name.strip():
        problem = "is empty"
    elif len(name) > 100:
        problem = "is longer than 100 characters"
    elif not name.isprintable():
        problem = "contains a control character"
    elif "/" in name or "\\" in name:
        problem = "contains a path separator (/ or \\)"
    elif name.startswith(".") or name != name.strip():
        problem = "starts with a dot or has spaces at either end"
    if problem:
        raise _err(
            source,
            key,
            f"the name {printable(repr(name), 60)} {problem}: it names the folder results/<name>, so it must be one "
            "plain folder name (letters, digits, - _ . and spaces inside); use --out to write elsewhere",
        )
    return name


def _unknown(source, prefix, key, allowed):
    return _err(
        source,
        f"{prefix}{key}",
        "unknown key" + did_you_mean(key, allowed) + "; allowed: " + ", ".join(sorted(allowed)),
    )


def _known_table(source, doc: dict, name: str, allowed: set) -> dict:
    """Table ``[name]`` of ``doc`` (empty if absent), every key of which must be in ``allowed``."""
    table = doc.get(name, {})
    if not isinstance(table, dict):
        raise _err(source, name, f"expected a table [{name}]")
    for key in table:
        if key not in allowed:
            raise _unknown(source, f"{name}.", key, allowed)
    return table


def _names(source, key, names, known, kind: str, expected: str) -> list[str]:
    """A list of names, each one of ``known`` (metrics or statistics)."""
    if not isinstance(names, list) or not all(isinstance(s, str) for s in names):
        raise _err(source, key, f"expected {expected}")
    for i, s in enumerate(names):
        if s not in known:
            raise _err(
                source,
                key,
                f"unknown {kind} {printable(repr(s), 60)}{did_you_mean(s, known)}; {kind}s are: {', '.join(known)}",
            )
        if s in names[:i]:
            raise _err(source, key, f"{s!r} is listed twice; each {kind} makes one column")
    return names


def _int(source, key, value, low, high=None):
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        rng = f"from {low:,} to {high:,}" if high is not None else f">= {low:,}"
        raise _err(source, key, f"expected an integer {rng}, got {_shown(value)}")
    return value


def _shown(value) -> str:
    return show_value(value)


def load_experiment(path: str | Path, *, force: bool = False) -> Experiment:
    """Read and check an experiment file; ``force`` lifts the design-size limit (:data:`MAX_RUNS`)."""
    source = str(path)
    try:
        text = read_text_file(path, "experiment file", MAX_EXPERIMENT_BYTES)
    except ScenarioError as exc:
        raise _err(exc.source, exc.key, exc.message) from None
    path = Path(path)
    return experiment_from_toml(text, source=source, base_dir=path.parent, name=path.stem, path=path, force=force)


def experiment_from_toml(
    text: str,
    *,
    source: str = "<string>",
    base_dir: Path = Path(),
    name: str = "experiment",
    path: Path | None = None,
    base: Scenario | None = None,
    force: bool = False,
) -> Experiment:
    """Parse and check an experiment; ``base`` (if given) replaces the file's base scenario before ``[set]``.

    The design's size is counted first (:func:`design_size`) and more than :data:`MAX_RUNS` runs is refused
    unless ``force``; only then is every design point built and checked."""
    try:
        return _experiment_from_toml(text, source, base_dir, name, path, base, force)
    except RecursionError:  # a [set] or [vary] table nested hundreds deep (the parser may allow it)
        raise _err(source, None, "tables nested too deeply to be an experiment file") from None


def _experiment_from_toml(text, source, base_dir, name, path, base, force) -> Experiment:
    try:
        doc = parse_toml(text, source)
    except ScenarioError as exc:
        raise _err(exc.source, exc.key, exc.message) from None
    for key in doc:
        if key not in TOP_KEYS:
            raise _unknown(source, "", key, TOP_KEYS)
    exp = _known_table(source, doc, "experiment", EXPERIMENT_KEYS)

    design = exp.get("design", "grid")
    if design not in DESIGNS:
        raise _err(
            source,
            "experiment.design",
            f"expected one of {', '.join(DESIGNS)}, got {design!r}"
            + (did_you_mean(design, DESIGNS) if isinstance(design, str) else ""),
        )
    replications = _int(source, "experiment.replications", exp.get("replications", 1), 1, 100_000)
    seed = _int(source, "experiment.seed", exp.get("seed", 0), 0, 2**63 - 1)
    levels = _int(source, "experiment.levels", exp.get("levels", 4), 2, 100)
    chunk = exp.get("chunk")
    if chunk is not None:
        chunk = _int(source, "experiment.chunk", chunk, 1, 100_000)
    for flag in ("second_order", "common_random_numbers"):
        if not isinstance(exp.get(flag, False), bool):
            raise _err(source, f"experiment.{flag}", f"expected true or false, got {exp[flag]!r}")
    samples = exp.get("samples")
    if design in ("lhs", "sobol", "morris", "robust"):
        if samples is None:
            what = " (the number of futures)" if design == "robust" else ""
            raise _err(source, "experiment.samples", f"required for design = {design!r}{what}")
        samples = _int(source, "experiment.samples", samples, 1, 10_000_000)
        if design == "sobol" and samples & (samples - 1):
            raise _err(source, "experiment.samples", f"a Sobol design needs a power of 2, got {samples}")
    elif samples is not None:
        raise _err(source, "experiment.samples", f"not used by design = {design!r}; remove it")

    name = check_name(source, "experiment.name" if "name" in exp else None, exp.get("name", name))
    description = exp.get("description")
    if description is not None and not isinstance(description, str):
        raise _err(source, "experiment.description", "expected a string")

    # Base scenario (relative to the experiment file), then fixed changes.
    scen = exp.get("scenario")
    if scen is not None and not isinstance(scen, str):
        raise _err(source, "experiment.scenario", "expected a string: the path of a scenario file")
    if base is None:
        try:
            base = load_scenario(base_dir / scen) if scen else Scenario(name="defaults")
        except ScenarioError as exc:
            raise _err(source, "experiment.scenario", f"base scenario: {exc}") from None
    fixed = doc.get("set", {})
    if not isinstance(fixed, dict):
        raise _err(source, "set", 'expected a table [set] of "section.name" = value')
    fixed = _flatten_keys(source, "set", fixed)
    try:
        base = base.replace(fixed)
    except ScenarioError as exc:
        raise _err(source, f"set.{exc.key}" if exc.key else "set", exc.message) from None

    if exp.get("posterior") is not None:
        raise _err(
            source,
            "experiment.posterior",
            "futures drawn from a calibrated posterior are not available yet (docs/analysis.md, 'Futures from a "
            'calibrated posterior\'); sample futures from [uncertain."section.name"] ranges, for instance the '
            "posterior's 90% intervals in docs/validation.md",
        )
    if design != "robust":
        for key in ROBUST_ONLY:
            if key in doc:
                raise _err(source, key, f'[{key}] is only used with design = "robust", not {design!r}')
    policies, uncertain = [], []
    if design == "robust":
        if "vary" in doc:
            raise _err(
                source,
                "vary",
                'a robust design names its policy choices in [levers."section.name"] (or [[policy]] tables) and '
                'what is uncertain in [uncertain."section.name"]; rename [vary] to [uncertain]',
            )
        if exp.get("common_random_numbers") is False:
            raise _err(
                source,
                "experiment.common_random_numbers",
                "a robust design always gives every policy the same seeds in a future; remove this key",
            )
        uncertain = _factors(source, doc.get("uncertain", {}), "lhs", table="uncertain")
        if not uncertain:
            raise _err(source, "uncertain", 'design = "robust" needs at least one [uncertain."section.name"] table')
        policies = _policies(source, doc, base)
        overlap = sorted(set(policies[0].values) & {f.key for f in uncertain})
        if overlap:
            raise _err(source, f"uncertain.{overlap[0]}", "is also a lever: a parameter is either chosen or uncertain")
        robust = doc.get("robust", {})
        if not isinstance(robust, dict):
            raise _err(source, "robust", "expected a table [robust] of analysis settings")
        if any(k in fixed for k in policies[0].values):
            key = next(k for k in policies[0].values if k in fixed)
            raise _err(source, f"set.{key}", "is also a lever: set it in the policies, not in [set]")
    factors = _factors(source, doc.get("vary", {}), design)
    points = None
    if design == "table":
        points = doc.get("points")
        if not isinstance(points, list) or not points or not all(isinstance(p, dict) for p in points):
            raise _err(source, "points", 'design = "table" needs [[points]] tables, one per design point')
        points = [_flatten_keys(source, f"points[{i}]", p) for i, p in enumerate(points)]
        keys = sorted({k for p in points for k in p})
        for i, p in enumerate(points):
            if sorted(p) != keys:
                raise _err(source, f"points[{i}]", f"every point must set the same keys: {', '.join(keys)}")
            for k in keys:
                p[k] = _check_param(source, f"points[{i}].{k}", k, p[k])
        factors = [Factor(k, values=sorted({p[k] for p in points}, key=repr)) for k in keys]
    elif "points" in doc:
        raise _err(source, "points", f'[[points]] is only used with design = "table", not {design!r}')
    if design == "robust":
        lever_keys = list(policies[0].values)
        factors = [
            Factor(k, values=sorted({p.values[k] for p in policies}, key=lambda v: (str(type(v)), v)))
            for k in lever_keys
        ] + uncertain
    if design in ("lhs", "sobol", "morris") and not factors:
        raise _err(source, "vary", f'design = {design!r} needs at least one [vary."section.name"] table')

    record = _known_table(source, doc, "record", RECORD_KEYS)
    series = record.get("series", [])
    if series == "all":
        series = list(METRICS)
    series = _names(source, "record.series", series, METRICS, "metric", 'a list of metric names, or "all"')
    every = _int(source, "record.every", record.get("every", 1), 1, 100_000)
    final = _names(
        source, "record.final", record.get("final", []), STATISTICS, "statistic", "a list of end-of-run statistic names"
    )

    header = "\n".join(line[1:].strip() for line in text.splitlines()[:12] if line.startswith("#")).strip()
    experiment = Experiment(
        name=name,
        path=path,
        text=text,
        base=base,
        fixed=fixed,
        factors=factors,
        design=design,
        samples=samples or 0,
        replications=replications,
        seed=seed,
        levels=levels,
        second_order=exp.get("second_order", False),
        common_random_numbers=exp.get("common_random_numbers", False),
        chunk=chunk,
        series=series,
        every=every,
        final=final,
        points=points,
        description=header if description is None else description,
        policies=policies,
        uncertain=uncertain,
        robust=doc.get("robust", {}) if design == "robust" else {},
    )
    points, runs = design_size(experiment)
    if runs > MAX_RUNS and not force:
        raise _err(
            source,
            "experiment",
            f"the design has {points:,} point(s) x {replications:,} replication(s) = {runs:,} runs, more than the "
            f"{MAX_RUNS:,} this tool runs without --force (docs/sweeps.md, 'Limits'); a smaller design, or --force "
            "if you mean it",
        )
    _check_points(source, experiment)
    return experiment


def load_saved_experiment(folder: str | Path) -> Experiment:
    """The experiment of a sweep folder, from its saved experiment.toml and the base scenario in its manifest
    (so the analysis does not depend on where the original files are now)."""
    import json

    folder = Path(folder)
    saved = folder / "experiment.toml"
    if not saved.exists():
        raise _err(str(folder), None, "not a sweep folder (no experiment.toml)")
    manifests = [folder / "manifest.json"] + sorted(folder.glob("manifest.shard-*.json"))
    manifest = None
    for m in manifests:
        if not m.exists():
            continue
        try:
            manifest = json.loads(m.read_text(encoding="utf-8"))
            base = Scenario(manifest["base_scenario"], name="base")  # [set] is already in it
            name = manifest["experiment"]["name"]
            break
        except (OSError, ValueError, RecursionError, KeyError, TypeError, ScenarioError):
            manifest = None  # damaged: try the next one
    if manifest is None:
        raise _err(
            str(folder),
            None,
            "no readable manifest.json (missing or damaged): was the sweep started here? Running the sweep again "
            "rewrites it",
        )
    try:
        text = read_text_file(saved, "experiment file", MAX_EXPERIMENT_BYTES)
    except ScenarioError as exc:
        raise _err(exc.source, exc.key, exc.message) from None
    return experiment_from_toml(text, source=str(saved), base_dir=folder, name=name, base=base, force=True)


def _flatten_keys(source: str, where: str, table: dict, prefix: str = "") -> dict:
    """Accept both ``"leadership.turnover_a" = 1`` and ``[set.leadership] turnover_a = 1`` (not both for one key,
    and never an empty table, which would otherwise set nothing without a word)."""
    out = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            if not v:
                raise _err(source, f"{where}.{key}", "expected a value, got an empty table {}")
            inner = _flatten_keys(source, where, v, key + ".")
            for k2 in inner:
                if k2 in out:
                    raise _err(source, f"{where}.{k2}", "given twice (as a dotted key and in a sub-table)")
            out.update(inner)
        else:
            if key in out:
                raise _err(source, f"{where}.{key}", "given twice (as a dotted key and in a sub-table)")
            out[key] = v
    return out


def _factors(source: str, vary: Any, design: str, table: str = "vary") -> list[Factor]:
    if not isinstance(vary, dict):
        raise _err(source, table, f'expected tables [{table}."section.name"]')
    flat = {}
    for k, v in _flatten_vary(source, vary, table=table):
        if k in flat:
            raise _err(source, f"{table}.{k}", "varied twice (as a quoted key and as nested tables)")
        flat[k] = v
    vary = flat
    factors = []
    for key, spec in vary.items():
        where = f"{table}.{key}"
        if key not in PARAM_BY_KEY:
            raise _err(
                source, where, "unknown parameter" + did_you_mean(key, PARAM_BY_KEY) + "; `buddysim params` lists them"
            )
        p = PARAM_BY_KEY[key]
        for k in spec:
            if k not in VARY_KEYS:
                raise _unknown(source, where + ".", k, VARY_KEYS)
        scale = spec.get("scale", "linear")
        if scale not in ("linear", "log"):
            raise _err(source, f"{where}.scale", f'expected "linear" or "log", got {scale!r}')
        if "values" in spec:
            values = spec["values"]
            if not isinstance(values, list) or not values:
                raise _err(source, f"{where}.values", "expected a non-empty list")
            if {"low", "high", "steps"} & set(spec):
                raise _err(source, where, "give either values or low/high, not both")
            for v in values:
                _check_param(source, f"{where}.values", key, v)
            factors.append(Factor(key, values=list(values)))
            continue
        if p.kind not in (int, float):
            raise _err(source, where, f"{key} takes {p.allowed()}: list them as values = [...]")
        if "low" not in spec or "high" not in spec:
            raise _err(source, where, "expected values = [...] or low = ... and high = ...")
        low = _check_param(source, f"{where}.low", key, spec["low"])
        high = _check_param(source, f"{where}.high", key, spec["high"])
        if not low < high:
            raise _err(source, where, f"low ({low}) must be below high ({high})")
        if scale == "log" and low <= 0:
            raise _err(source, f"{where}.low", "a log scale needs low > 0")
        dist = spec.get("distribution", "uniform")
        extra = {}
        if dist not in DISTRIBUTIONS:
            raise _err(source, f"{where}.distribution", f"expected one of {', '.join(DISTRIBUTIONS)}, got {dist!r}")
        if dist != "uniform":
            if design in ("grid", "table"):
                raise _err(
                    source,
                    f"{where}.distribution",
                    f"only sampled designs (lhs, sobol, morris) draw from a distribution, not {design!r}",
                )
            if scale == "log":
                raise _err(source, f"{where}.scale", f"a log scale is for uniform draws, not {dist!r}")
            need = ("mean", "sd") if dist == "normal" else ("mode",)
            for k in need:
                if k not in spec:
                    raise _err(source, f"{where}.{k}", f"required for distribution = {dist!r}")
                v = spec[k]
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise _err(source, f"{where}.{k}", f"expected a number, got {_shown(v)}")
                try:
                    extra[k] = float(v)
                except OverflowError:
                    raise _err(source, f"{where}.{k}", f"expected a number, got {_shown(v)}") from None
                if not math.isfinite(extra[k]):
                    raise _err(source, f"{where}.{k}", f"expected a finite number, got {v!r}")
            if dist == "normal" and not extra["sd"] > 0:
                raise _err(source, f"{where}.sd", "must be > 0")
            if dist == "triangular" and not low <= extra["mode"] <= high:
                raise _err(source, f"{where}.mode", f"must lie between low ({low}) and high ({high})")
        else:
            for k in ("mean", "sd", "mode"):
                if k in spec:
                    raise _err(source, f"{where}.{k}", 'only used with distribution = "normal" or "triangular"')
        steps = spec.get("steps")
        if design == "grid":
            if steps is None:
                raise _err(source, f"{where}.steps", "a grid over low..high needs steps (number of levels)")
            steps = _int(source, f"{where}.steps", steps, 2, 10_000)
        elif steps is not None:
            raise _err(source, f"{where}.steps", f'only used by design = "grid", not {design!r}')
        factors.append(
            Factor(key, low=float(low), high=float(high), steps=steps, scale=scale, distribution=dist, **extra)
        )
    return factors


def _flatten_vary(source: str, vary: dict, prefix: str = "", table: str = "vary"):
    """``[vary."a.b"]`` and ``[vary.a.b]`` both name parameter ``a.b``."""
    for k, v in vary.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and not (set(v) & VARY_KEYS) and v:
            yield from _flatten_vary(source, v, key + ".", table)
        else:
            if not isinstance(v, dict):
                raise _err(source, f"{table}.{key}", "expected a table with values = [...] or low/high")
            yield key, v


def _policies(source: str, doc: dict, base: Scenario) -> list[Policy]:
    """The policies of a robust design: every combination of [levers] options, or the [[policy]] tables.

    Every policy gets a value for every lever key (a named policy that leaves a lever alone keeps the base
    scenario's value), so the runs table has one column per lever."""
    levers, named = doc.get("levers"), doc.get("policy")
    if levers is not None and named is not None:
        raise _err(
            source, "policy", "give either [levers] (every combination is a policy) or [[policy]] tables, not both"
        )
    if named is not None:
        if not isinstance(named, list) or not named or not all(isinstance(p, dict) for p in named):
            raise _err(source, "policy", "expected [[policy]] tables, each with a name and the parameters it sets")
        out, names = [], set()
        for i, table in enumerate(named):
            name = table.get("name", f"policy {i + 1}")
            if not isinstance(name, str) or not name.strip():
                raise _err(source, f"policy[{i}].name", f"expected a non-empty string, got {name!r}")
            if name in names:
                raise _err(source, f"policy[{i}].name", f"{name!r} names two policies")
            names.add(name)
            values = _flatten_keys(source, f"policy[{i}]", {k: v for k, v in table.items() if k != "name"})
            for key, v in values.items():
                values[key] = _check_param(source, f"policy[{i}].{key}", key, v)
            out.append(Policy(name, values, named=True))
        keys = list(dict.fromkeys(k for p in out for k in p.values))
        if not keys:
            raise _err(source, "policy", "no policy sets any parameter: there is nothing to choose between")
        for p in out:
            p.values = {k: p.values.get(k, base[k]) for k in keys}
        return out
    if levers is None:
        raise _err(
            source,
            "levers",
            'design = "robust" needs [levers."section.name"] tables (values = [...]) or [[policy]] tables',
        )
    if not isinstance(levers, dict):
        raise _err(source, "levers", 'expected tables [levers."section.name"] with values = [...]')
    options = {}
    for key, spec in _flatten_vary(source, levers, table="levers"):
        where = f"levers.{key}"
        if key not in PARAM_BY_KEY:
            raise _err(
                source, where, "unknown parameter" + did_you_mean(key, PARAM_BY_KEY) + "; `buddysim params` lists them"
            )
        for k in spec:
            if k != "values":
                raise _err(source, f"{where}.{k}", "a lever lists its options: values = [...] (nothing else)")
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise _err(source, f"{where}.values", "expected a non-empty list of the options")
        values = [_check_param(source, f"{where}.values", key, v) for v in values]
        if len(set(map(repr, values))) != len(values):
            raise _err(source, f"{where}.values", "lists an option twice")
        options[key] = values
    if not options:
        raise _err(source, "levers", 'expected at least one [levers."section.name"] table')
    out = []
    for combo in itertools.product(*options.values()):
        values = dict(zip(options, combo))
        out.append(Policy(", ".join(f"{k.split('.', 1)[1]}={_show_value(v)}" for k, v in values.items()), values))
    return out


def _show_value(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _check_param(source: str, where: str, key: str, value):
    """One value's type and range (checks across keys are made per design point, in _check_points)."""
    try:
        return check_value(source, key, value)
    except ScenarioError as exc:
        raise _err(source, where, exc.message) from None


def _check_points(source: str, exp: Experiment) -> None:
    """Every design point must make a valid scenario (checked before anything runs). Each varied value was
    checked alone when the file was read; here each point is checked against the rules across parameters."""
    table = exp.points_table()
    base = dict(exp.base)
    keys = list(table.columns)
    for i, values in enumerate(zip(*[table[k].tolist() for k in keys]) if keys else [()]):
        try:
            check_combination(source, {**base, **dict(zip(keys, values))})
        except ScenarioError as exc:
            raise _err(source, f"point {i}: {exc.key}", exc.message) from None
        if exp.base.timeline:  # the base scenario's timeline must still fit this point's parameters
            try:
                check_for(exp.base.replace(dict(zip(keys, values))))
            except ScenarioError as exc:
                raise _err(
                    source, f"point {i}: {exc.key}", f"{exc.message} (the base scenario's timeline, {exp.base.source})"
                ) from None


def run_cost(exp: Experiment) -> float:
    """Rough seconds per run on one core (0.2 us per agent-week plus fixed costs); for planning only."""
    n_staff = exp.base["organisations.staff_a"] + exp.base["organisations.staff_b"]
    return n_staff * exp.base["run.steps"] * 0.2e-6 + 0.005


def chunk_size(exp: Experiment, n_runs: int) -> int:
    """Runs per task: fixed by the experiment (never by the worker count) so a resume sees the same chunks."""
    if exp.chunk:
        return exp.chunk
    cost = run_cost(exp)
    by_time = max(1, int(2.0 / cost))  # ~2 s of work per task
    return int(max(1, min(100, by_time, math.ceil(n_runs / 16))))  # and at least 16 tasks when possible


class Plan:
    """The design table cut into chunks: a fixed function of the experiment (never of the worker count), so
    every session, shard and merge sees the same chunks. Rows are sliced per chunk on demand."""

    def __init__(self, exp: Experiment):
        self.exp = exp
        self.table = exp.design_table()
        self.keys = [f.key for f in exp.factors]
        self.n_runs = len(self.table)
        self.points = int(self.table["point"].nunique()) if self.n_runs else 0
        self.size = chunk_size(exp, self.n_runs)
        self.n_chunks = math.ceil(self.n_runs / self.size) if self.n_runs else 0
        self.series = list(exp.series)
        self.every = exp.every
        self.final = list(exp.final)
        self._seeds = self.table["seed"].to_numpy()
        if "run.steps" in self.keys:
            self._steps = self.table["run.steps"].to_numpy(dtype=np.int64)
        else:
            self._steps = np.full(self.n_runs, int(exp.base["run.steps"]), np.int64)
        self._digests: dict[int, str] = {}
        self._expected_rows: np.ndarray | None = None
        try:
            self.runs_schema()
            self.series_schema()
        except ValueError as exc:
            raise _err(str(exp.path or exp.name), "record", str(exc)) from None

    def runs_schema(self):
        from .chunk import runs_schema

        return runs_schema(self.keys, self.final)

    def series_schema(self):
        from .chunk import series_schema

        return series_schema(self.series)

    def run_id_range(self, chunk: int) -> range:
        return range(chunk * self.size, min(self.n_runs, (chunk + 1) * self.size))

    def chunk_rows(self, chunk: int) -> list[tuple]:
        r = self.run_id_range(chunk)
        part = self.table.iloc[r.start : r.stop]
        params = zip(*[part[k].tolist() for k in self.keys]) if self.keys else [()] * len(part)
        return [
            (int(a), int(b), int(c), int(d), tuple(e))
            for a, b, c, d, e in zip(
                part["run_id"].tolist(),
                part["point"].tolist(),
                part["replication"].tolist(),
                part["seed"].tolist(),
                params,
            )
        ]

    def chunk_digest(self, chunk: int) -> str:
        """A digest of the chunk's design rows (run_ids, seeds, parameter values): a commit record names it."""
        if chunk not in self._digests:
            import json

            rows = json.dumps(self.chunk_rows(chunk), default=repr)
            self._digests[chunk] = hashlib.sha256(rows.encode()).hexdigest()[:16]
        return self._digests[chunk]

    def expected_series_rows_all(self) -> np.ndarray:
        """Series rows each run leaves if it finishes (weeks 0, every, ... and the last); computed once."""
        if self._expected_rows is None:
            s, e = self._steps, self.every
            self._expected_rows = s // e + 1 + (s % e != 0)
        return self._expected_rows

    def check_chunk_tables(self, chunk: int, runs, series) -> str | None:
        """Why a chunk's tables are not this chunk's results (None if they are): its run_ids and seeds in
        order, and each finished run's series rows, in run_id order."""
        r = self.run_id_range(chunk)
        names = [f.name for f in self.runs_schema()]
        if runs.column_names != names:
            return "its runs part has other columns than this experiment records"
        ids = runs.column("run_id").to_numpy(zero_copy_only=False)
        if not np.array_equal(ids, np.arange(r.start, r.stop)):
            return f"its runs part holds run_ids {_span(ids)}, not {r.start}-{r.stop - 1} (a copied or swapped part)"
        if not np.array_equal(runs.column("seed").to_numpy(zero_copy_only=False), self._seeds[r.start : r.stop]):
            return "its runs part has other seeds than the design"
        if not self.series:
            return None
        if series is None or series.column_names != [f.name for f in self.series_schema()]:
            return "its series part has other columns than this experiment records"
        sid = series.column("run_id").to_numpy(zero_copy_only=False)
        if len(sid) and (np.any(np.diff(sid) < 0) or sid[0] < r.start or sid[-1] >= r.stop):
            return f"its series part holds run_ids {_span(sid)} out of order or outside {r.start}-{r.stop - 1}"
        ok = np.asarray(runs.column("status").to_pylist(), dtype=object) == "ok"
        want = np.where(ok, self.expected_series_rows_all()[r.start : r.stop], 0)
        seen = np.bincount(sid - r.start, minlength=len(r)) if len(sid) else np.zeros(len(r), np.int64)
        if not np.array_equal(seen, want):
            k = int(np.flatnonzero(seen != want)[0])
            return f"run {r.start + k} has {seen[k]} series rows in its part, expected {want[k]}"
        return None


def _span(ids) -> str:
    return f"{int(ids.min())}-{int(ids.max())}" if len(ids) else "none"


def make_plan(exp: Experiment) -> Plan:
    return Plan(exp)
