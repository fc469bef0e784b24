"""Calibration to the record's patterns by ABC-SMC (pyabc), with model selection between alternative submodels.

A calibration file (TOML, data only; docs/calibration.md explains every key)::

    [calibration]
    scenario = "../scenarios/baseline.toml"   # the base scenario
    population = 100        # particles per generation
    generations = 6         # at most this many generations
    replications = 10       # runs of the scenario per particle
    seed = 2013
    patterns = ["time_to_exit_2013", "staff_turnover"]   # registry names (default: all of them)
    [calibration.changes]   # applied to every run (e.g. a longer horizon)
    "run.steps" = 209

    [prior."partnership.base_success"]
    distribution = "uniform"        # uniform | loguniform | beta | normal (truncated to [low, high])
    low = 0.7
    high = 0.98

    [alternatives]                  # model selection: every combination is one model
    "culture.mixing" = ["network", "well_mixed"]

    [pattern.time_to_exit_2013]     # override a registry entry's fields (or define one, with kind = ...)
    event = "bedded_in"

Each particle's parameters are run ``replications`` times (seeds derived from the calibration seed and the
particle's values, so the same particle always gives the same runs); the summary statistics are the
patterns' signed root deviances (sim/validation/patterns.py) and the distance their Euclidean norm,
``sqrt(sum(weight * deviance))`` (``distance = "fixed"``) or pyabc's adaptive p-norm (Prangle 2017) on the
same residuals (``distance = "adaptive"``). pyabc's database (``abc.db``) lives in the output folder: running
the same file again resumes it; a different file is refused.

Outputs: ``posterior.json`` (weighted particles with their alternative; what ``--posterior`` reads),
``posterior.csv``, ``summary.md`` and ``calibration.json`` (posterior median and 90% interval per parameter,
acceptance and epsilon per generation, model probabilities), ``patterns.csv`` (record vs posterior
predictive), ``marginals.png``, ``pairs.png``, ``patterns.png`` and ``calibrated.toml``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..scenario import PARAM_BY_KEY, Scenario, ScenarioError, check_value, did_you_mean, load_scenario
from . import patterns as pat

DISTRIBUTIONS = {
    "uniform": ("low", "high"),
    "loguniform": ("low", "high"),
    "beta": ("alpha", "beta", "low", "high"),
    "normal": ("mean", "sd", "low", "high"),
}
SETTINGS = {
    "name": str,
    "scenario": str,
    "population": int,
    "generations": int,
    "replications": int,
    "seed": int,
    "min_epsilon": float,
    "min_acceptance": float,
    "max_simulations": int,
    "distance": str,
    "alpha": float,
    "predictive_draws": int,
    "predictive_replications": int,
    "probe_runs": int,
    "patterns": list,
    "changes": dict,
}
DISTANCES = ("fixed", "adaptive")


class CalibrationError(ScenarioError):
    """A calibration that cannot go on (file, results folder): a message naming the file and key."""


# --- the file -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prior:
    key: str
    distribution: str
    low: float
    high: float
    alpha: float = 1.0
    beta: float = 1.0
    mean: float = 0.0
    sd: float = 1.0

    def rv(self):
        import pyabc

        if self.distribution == "uniform":
            return pyabc.RV("uniform", self.low, self.high - self.low)
        if self.distribution == "loguniform":
            return pyabc.RV("loguniform", self.low, self.high)
        if self.distribution == "beta":
            return pyabc.RV("beta", self.alpha, self.beta, loc=self.low, scale=self.high - self.low)
        a, b = (self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd
        return pyabc.RV("truncnorm", a, b, loc=self.mean, scale=self.sd)

    def describe(self) -> str:
        if self.distribution == "uniform":
            return f"uniform({self.low:g}, {self.high:g})"
        if self.distribution == "loguniform":
            return f"log-uniform({self.low:g}, {self.high:g})"
        if self.distribution == "beta":
            return f"beta({self.alpha:g}, {self.beta:g}) on [{self.low:g}, {self.high:g}]"
        return f"normal({self.mean:g}, {self.sd:g}) truncated to [{self.low:g}, {self.high:g}]"


@dataclass
class Settings:
    population: int = 100
    generations: int = 6
    replications: int = 10
    seed: int = 0
    min_epsilon: float = 0.0
    min_acceptance: float = 0.0
    max_simulations: int = 0  # 0 = no limit
    distance: str = "fixed"
    alpha: float = 0.05
    predictive_draws: int = 40
    predictive_replications: int = 10


@dataclass
class Calibration:
    name: str
    source: str
    sha256: str
    base: Scenario
    changes: dict
    priors: dict[str, Prior]
    alternatives: list[dict]  # one dict of choice values per model
    patterns: list[pat.Pattern]
    settings: Settings
    probe_runs: int = 4

    @property
    def choice_keys(self) -> list[str]:
        return sorted({k for a in self.alternatives for k in a})

    def alternative_label(self, m: int) -> str:
        a = self.alternatives[m]
        return ", ".join(f"{k}={v}" for k, v in a.items()) if a else "base"

    def base_for_runs(self) -> Scenario:
        return self.base.replace(self.changes) if self.changes else self.base


def _number(source, key, v, *, positive=False, integer=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not math.isfinite(v)):
        raise CalibrationError(source, key, f"expected {'an integer' if integer else 'a number'}, got {v!r}")
    if integer and not float(v).is_integer():
        raise CalibrationError(source, key, f"expected an integer, got {v!r}")
    if positive and not v > 0:
        raise CalibrationError(source, key, f"expected a number > 0, got {v!r}")
    return int(v) if integer else float(v)


def _prior(source: str, key: str, spec: Any) -> Prior:
    where = f'prior."{key}"'
    if key not in PARAM_BY_KEY:
        raise CalibrationError(source, where, "unknown parameter" + did_you_mean(key, PARAM_BY_KEY))
    p = PARAM_BY_KEY[key]
    if p.kind is not float:
        raise CalibrationError(
            source,
            where,
            f"{key} is {'an integer' if p.kind is int else 'a ' + p.kind.__name__} parameter; ABC-SMC priors are "
            "on real-valued parameters (the perturbation kernel is continuous): fix it in the scenario, or list "
            "choices under [alternatives]",
        )
    if not isinstance(spec, dict):
        raise CalibrationError(source, where, "expected a table with distribution = ... and its parameters")
    dist = spec.get("distribution", "uniform")
    if dist not in DISTRIBUTIONS:
        raise CalibrationError(
            source, f"{where}.distribution", f"expected one of {', '.join(DISTRIBUTIONS)}, got {dist!r}"
        )
    needed = DISTRIBUTIONS[dist]
    for k in spec:
        if k != "distribution" and k not in needed:
            raise CalibrationError(
                source, f"{where}.{k}", f"not a parameter of a {dist} prior; it takes {', '.join(needed)}"
            )
    values = {}
    for k in needed:
        if k not in spec:
            if dist == "beta" and k in ("low", "high") and p.low is not None and p.high is not None:
                values[k] = float(p.low if k == "low" else p.high)
                continue
            raise CalibrationError(source, f"{where}.{k}", f"required for a {dist} prior ({', '.join(needed)})")
        values[k] = _number(source, f"{where}.{k}", spec[k], positive=k in ("alpha", "beta", "sd"))
    lo, hi = values["low"], values["high"]
    if not lo < hi:
        raise CalibrationError(source, f"{where}.high", f"expected low < high, got low = {lo:g}, high = {hi:g}")
    for k in ("low", "high"):
        try:
            check_value(source, key, values[k])
        except ScenarioError as exc:
            raise CalibrationError(source, f"{where}.{k}", exc.message) from None
    if dist == "loguniform" and not lo > 0:
        raise CalibrationError(source, f"{where}.low", f"a log-uniform prior needs low > 0, got {lo:g}")
    return Prior(key, dist, **values)


def _alternatives(source: str, table: Any) -> list[dict]:
    if table is None:
        return [{}]
    if not isinstance(table, dict) or not table:
        raise CalibrationError(source, "alternatives", 'expected a table of "section.name" = [values, ...]')
    options = {}
    for key, vals in table.items():
        where = f'alternatives."{key}"'
        if key not in PARAM_BY_KEY:
            raise CalibrationError(source, where, "unknown parameter" + did_you_mean(key, PARAM_BY_KEY))
        p = PARAM_BY_KEY[key]
        if not (p.choices or p.kind is bool):
            raise CalibrationError(
                source, where, f"{key} is not a choice parameter (alternatives are submodel choices: string or boolean)"
            )
        if not isinstance(vals, list) or len(vals) < 1 or len(set(map(repr, vals))) != len(vals):
            raise CalibrationError(source, where, f"expected a list of distinct values, each {p.allowed()}")
        for v in vals:
            try:
                check_value(source, key, v)
            except ScenarioError as exc:
                raise CalibrationError(source, where, exc.message) from None
        options[key] = vals
    keys = list(options)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(options[k] for k in keys))]


def load_calibration(path: str | Path) -> Calibration:
    """Read and check a calibration file; every problem is a :class:`CalibrationError` naming file and key."""
    path = Path(path)
    source = str(path)
    try:
        raw = path.read_bytes()
        doc = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise CalibrationError(source, None, "no such file") from None
    except IsADirectoryError:
        raise CalibrationError(source, None, "is a folder, expected a calibration file (.toml)") from None
    except UnicodeDecodeError as exc:
        raise CalibrationError(source, None, f"not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise CalibrationError(source, None, f"not valid TOML: {exc}") from None
    for section in doc:
        if section not in ("calibration", "prior", "alternatives", "pattern"):
            raise CalibrationError(
                source,
                section,
                "unknown section"
                + did_you_mean(section, ("calibration", "prior", "alternatives", "pattern"))
                + "; sections: calibration, prior, alternatives, pattern",
            )
    cal = doc.get("calibration", {})
    if not isinstance(cal, dict):
        raise CalibrationError(source, "calibration", "expected a table [calibration]")
    for k, v in cal.items():
        if k not in SETTINGS:
            raise CalibrationError(source, f"calibration.{k}", "unknown key" + did_you_mean(k, SETTINGS))
        kind = SETTINGS[k]
        if kind in (int, float):
            cal[k] = _number(source, f"calibration.{k}", v, integer=kind is int)
        elif not isinstance(v, kind):
            raise CalibrationError(source, f"calibration.{k}", f"expected {kind.__name__}, got {v!r}")
    st = Settings(**{k: cal[k] for k in Settings.__dataclass_fields__ if k in cal})
    for k, low in (("population", 2), ("generations", 1), ("replications", 1), ("predictive_draws", 1)):
        if getattr(st, k) < low:
            raise CalibrationError(source, f"calibration.{k}", f"expected an integer >= {low}, got {getattr(st, k)}")
    if cal.get("probe_runs", 4) < 1:
        raise CalibrationError(source, "calibration.probe_runs", "expected an integer >= 1")
    if st.predictive_replications < 1:
        raise CalibrationError(source, "calibration.predictive_replications", "expected an integer >= 1")
    if st.seed < 0:
        raise CalibrationError(source, "calibration.seed", f"expected an integer >= 0, got {st.seed}")
    if st.distance not in DISTANCES:
        raise CalibrationError(source, "calibration.distance", f"expected one of {', '.join(DISTANCES)}")
    if not 0 < st.alpha < 1:
        raise CalibrationError(source, "calibration.alpha", f"expected a level in (0, 1), got {st.alpha}")
    if not 0 <= st.min_acceptance < 1:
        raise CalibrationError(source, "calibration.min_acceptance", "expected a share in [0, 1)")
    if st.min_epsilon < 0 or st.max_simulations < 0:
        raise CalibrationError(source, "calibration.min_epsilon", "expected a number >= 0")
    base_path = cal.get("scenario")
    try:
        base = load_scenario(path.parent / base_path) if base_path else Scenario(name="defaults")
    except ScenarioError as exc:
        raise CalibrationError(source, "calibration.scenario", str(exc)) from None
    changes = dict(cal.get("changes", {}))
    try:
        base.replace(changes)
    except ScenarioError as exc:
        raise CalibrationError(source, f'calibration.changes."{exc.key}"', exc.message) from None
    priors_doc = doc.get("prior") or {}
    if not isinstance(priors_doc, dict) or not priors_doc:
        raise CalibrationError(source, "prior", 'no [prior."section.name"] tables: nothing to calibrate')
    priors = {k: _prior(source, k, v) for k, v in priors_doc.items()}
    alternatives = _alternatives(source, doc.get("alternatives"))
    both = set(priors) & {k for a in alternatives for k in a}
    if both:
        raise CalibrationError(source, "alternatives", f"{', '.join(both)} has both a prior and alternatives")
    for k in changes:
        if k in priors:
            raise CalibrationError(source, f'calibration.changes."{k}"', "has a prior: it cannot also be fixed")
    # patterns: the registry names chosen (default all) and every [pattern.NAME] table
    tables = doc.get("pattern") or {}
    names = cal.get("patterns", list(pat.REGISTRY))
    for n in names:
        if not isinstance(n, str) or (n not in pat.REGISTRY and n not in tables):
            raise CalibrationError(
                source,
                "calibration.patterns",
                f"{n!r} is not a pattern of the registry{did_you_mean(str(n), pat.REGISTRY)}"
                f" nor a [pattern.NAME] table; registry: {', '.join(pat.REGISTRY)}",
            )
    chosen = []
    for n in list(dict.fromkeys([*names, *tables])):
        if n in tables:
            try:
                chosen.append(pat.pattern_from_table(n, tables[n]))
            except ValueError as exc:
                raise CalibrationError(
                    source, f"pattern.{n}.{str(exc).split(':', 1)[0]}", str(exc).split(": ", 1)[-1]
                ) from None
        else:
            chosen.append(pat.REGISTRY[n])
    if not any(p.use == "fit" for p in chosen):
        raise CalibrationError(source, "pattern", 'no pattern with use = "fit": nothing to calibrate against')
    return Calibration(
        cal.get("name", path.stem),
        source,
        hashlib.sha256(raw).hexdigest(),
        base,
        changes,
        priors,
        alternatives,
        chosen,
        st,
        int(cal.get("probe_runs", 4)),
    )


# --- the simulator -----------------------------------------------------------------------------------------


class InfeasibleError(Exception):
    """A parameter set that the scenario schema rejects (a cross-parameter constraint)."""


class ScenarioSimulator:
    """Runs the calibration's scenario with a particle's parameters (a picklable object for the workers)."""

    def __init__(self, base: Scenario, keep_metrics: Sequence[str] = ()):
        self.values = dict(base)
        self.name = base.name
        self.keep_metrics = tuple(keep_metrics)

    def scenario(self, params: Mapping[str, Any], alternative: Mapping[str, Any]) -> Scenario:
        try:
            return Scenario(self.values, name=self.name).replace({**alternative, **params})
        except ScenarioError as exc:
            raise InfeasibleError(str(exc)) from None

    def simulate(self, params, alternative, seed: int, replications: int) -> pat.Batch:
        from ..run import iter_replications

        sc = self.scenario(params, alternative)
        runs = []
        for r in iter_replications(sc, seed, replications):
            rec = pat.RunRecord.from_result(r)
            rec.series = {k: rec.series[k] for k in self.keep_metrics if k in rec.series}
            runs.append(rec)
        return pat.Batch(runs)


def particle_seed(seed: int, model: int, params: Mapping[str, float]) -> int:
    """The seed of a particle's runs: from the calibration seed, the model and the particle's exact values, so
    the same particle always gives the same runs whichever sampler, worker or generation evaluates it."""
    words = [int(seed), int(model)]
    for k in sorted(params):
        bits = np.array([float(params[k])], np.float64).view(np.uint32)
        words += [int(bits[0]), int(bits[1])]
    state = np.random.SeedSequence(words).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


class PatternModel:
    """pyabc's model for one alternative: particle -> runs -> each fit pattern's root deviance."""

    def __init__(self, simulator, alternative: dict, model_index: int, patterns, replications: int, seed: int):
        self.simulator = simulator
        self.alternative = dict(alternative)
        self.model_index = model_index
        self.patterns = list(patterns)
        self.replications = replications
        self.seed = seed

    def __call__(self, pars) -> dict:
        params = {k: float(v) for k, v in dict(pars).items()}
        try:
            batch = self.simulator.simulate(
                params, self.alternative, particle_seed(self.seed, self.model_index, params), self.replications
            )
        except InfeasibleError:
            return {p.name: math.sqrt(pat.DEVIANCE_CAP) for p in self.patterns}
        return {p.name: math.sqrt(p.weight) * pat.evaluate(p, batch).signed_root for p in self.patterns}


# --- running ABC-SMC ---------------------------------------------------------------------------------------------


@dataclass
class AbcResult:
    """What an ABC-SMC run left in its database, in plain tables."""

    particles: pd.DataFrame  # model, alternative, weight (over all models), one column per parameter
    populations: pd.DataFrame  # t, epsilon, samples, particles, acceptance
    model_probabilities: pd.DataFrame  # t x model
    simulations: int
    seconds: float
    resumed: bool = False
    finished_before: bool = False


def run_abc(
    simulator,
    priors: Mapping[str, Prior],
    alternatives: Sequence[dict],
    patterns: Sequence[pat.Pattern],
    settings: Settings,
    db: Path,
    *,
    identity: dict | None = None,
    sampler: str = "single",
    workers: int = 1,
    scheduler=None,
    dynamic: bool = False,
    log: Callable = print,
) -> AbcResult:
    """ABC-SMC (pyabc) of ``simulator`` against the fit patterns; one pyabc model per alternative.

    ``db`` is the pyabc database. A database with the same ``identity`` (what the calibration is made of) is
    resumed where it stopped; one with another identity is refused with a :class:`CalibrationError`.
    """
    import pyabc

    from .samplers import make_sampler

    fit = [p for p in patterns if p.use == "fit"]
    if not fit:
        raise ValueError("no computable pattern with use = 'fit'")
    db = Path(db)
    stamp = db.with_name(db.stem + ".identity.json")
    # What the generations are made of (a database made of anything else is refused) and the stopping rules
    # (which may change between runs: more generations continue a finished database).
    ident = json.loads(
        json.dumps(
            {
                **(identity or {}),
                "priors": {k: p.describe() for k, p in priors.items()},
                "alternatives": list(alternatives),
                "patterns": [repr(p) for p in fit],
                "abc": {k: getattr(settings, k) for k in ("population", "replications", "seed", "distance")},
                "dynamic": dynamic,
            },
            default=str,
        )
    )
    stopping = {k: getattr(settings, k) for k in ("generations", "min_epsilon", "min_acceptance", "max_simulations")}
    resumed = finished_before = False
    if db.exists():
        old = json.loads(stamp.read_text()) if stamp.exists() else None
        if old is None or old.get("identity") != ident:
            what = "another calibration" if old is None else _first_difference(old.get("identity", {}), ident)
            raise CalibrationError(
                str(db),
                None,
                f"this results folder holds the ABC database of {what}; give another --out, or delete "
                f"{db} (and {stamp.name}) to start again",
            )
        resumed, finished_before = True, old.get("finished") == stopping
    t0 = time.perf_counter()
    logging.getLogger("ABC").setLevel(logging.WARNING)
    logging.getLogger("pyabc").setLevel(logging.WARNING)
    # pyabc draws from numpy's legacy global generator; seed it for any draw made in this process
    np.random.seed(settings.seed)  # noqa: NPY002

    def progress(t, taken, accepted):
        if accepted == settings.population:
            log(f"generation {t}: {accepted} accepted of {taken} proposals ({time.perf_counter() - t0:.0f} s)")

    smp, close = make_sampler(
        sampler, settings.seed, workers=workers, scheduler=scheduler, dynamic=dynamic, progress=progress
    )
    models = [
        PatternModel(simulator, alt, m, fit, settings.replications, settings.seed) for m, alt in enumerate(alternatives)
    ]
    dist_priors = [pyabc.Distribution(**{k: p.rv() for k, p in priors.items()}) for _ in alternatives]
    if settings.distance == "adaptive":
        distance = pyabc.AdaptivePNormDistance(p=2)
    else:
        distance = pyabc.PNormDistance(p=2)
    abc = pyabc.ABCSMC(models, dist_priors, distance, population_size=settings.population, sampler=smp)
    try:
        url = "sqlite:///" + str(db.resolve())
        if resumed:
            abc.load(url, 1)
        else:
            db.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(json.dumps({"identity": ident}, indent=2) + "\n")
            abc.new(url, {p.name: 0.0 for p in fit})
        done = abc.history.n_populations if resumed else 0
        remaining = settings.generations - done
        if finished_before or remaining <= 0:
            log(f"{db}: finished earlier ({done} generations); reading the posterior")
            abc.history.done()
        else:
            if resumed:
                log(f"{db}: resuming after {done} generation(s)")
            kw = {}
            if settings.max_simulations:
                kw["max_total_nr_simulations"] = settings.max_simulations
            abc.run(
                minimum_epsilon=settings.min_epsilon,
                max_nr_populations=remaining,
                min_acceptance_rate=settings.min_acceptance,
                **kw,
            )
            stamp.write_text(json.dumps({"identity": ident, "finished": stopping}, indent=2) + "\n")
    finally:
        close()
    return _read_history(abc.history, alternatives, priors, time.perf_counter() - t0, resumed, finished_before)


def _first_difference(old: dict, new: dict) -> str:
    for k in new:
        if old.get(k) != new[k]:
            return {
                "model_sha256": "other model code",
                "base_sha256": "a different base scenario (or [calibration.changes])",
                "abc": "other ABC settings (population, replications, seed or distance)",
                "dynamic": "another kind of sampler (--dynamic)",
            }.get(k, f"a calibration with other {k}")
    return "another calibration"


def _read_history(h, alternatives, priors, seconds, resumed, finished_before) -> AbcResult:
    pops = h.get_all_populations()
    if resumed and len(pops):
        # This session only read or continued the database: the sampling time is the database's own, from the
        # calibration's start to its last generation (a session's clock would say ~0 s for a finished one).
        start = h.get_abc().start_time
        if start is not None:
            seconds = max(seconds, (pd.to_datetime(pops["population_end_time"]).max() - start).total_seconds())
    pops = pops[pops["t"] >= 0].rename(columns={"samples": "simulations"}).reset_index(drop=True)
    pops["acceptance"] = pops["particles"] / pops["simulations"]
    probs = h.get_model_probabilities()
    last = probs.iloc[-1] if len(probs) else pd.Series({0: 1.0})
    frames = []
    for m in range(len(alternatives)):
        p_m = float(last.get(m, 0.0)) if m in last.index else 0.0
        if not p_m > 0:
            continue
        df, w = h.get_distribution(m=m, t=h.max_t)
        df = df.reset_index(drop=True)[list(priors)].astype(float)
        df.insert(0, "weight", np.asarray(w, float) * p_m)
        df.insert(0, "alternative", ", ".join(f"{k}={v}" for k, v in alternatives[m].items()) or "base")
        df.insert(0, "model", m)
        frames.append(df)
    particles = pd.concat(frames, ignore_index=True)
    particles["weight"] /= particles["weight"].sum()
    probs = probs.reindex(columns=range(len(alternatives)), fill_value=0.0).fillna(0.0)
    return AbcResult(
        particles,
        pops[["t", "epsilon", "simulations", "particles", "acceptance", "population_end_time"]],
        probs,
        int(h.total_nr_simulations),
        seconds,
        resumed,
        finished_before,
    )


# --- weighted summaries -------------------------------------------------------------------------------------------


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Quantile ``q`` of weighted values (linear between the midpoints of the cumulative weights)."""
    x = np.asarray(x, float)
    w = np.asarray(w, float)
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cw = (np.cumsum(w) - 0.5 * w) / w.sum()
    return float(np.interp(q, cw, x))


def posterior_table(particles: pd.DataFrame, priors: Mapping[str, Prior]) -> pd.DataFrame:
    """Per parameter and alternative (and over all): posterior median and 90% interval, with the prior."""
    rows = []
    groups = [("all", particles)] + (
        [(a, g) for a, g in particles.groupby("alternative", sort=False)] if particles["model"].nunique() > 1 else []
    )
    for label, g in groups:
        for k, pr in priors.items():
            rows.append(
                {
                    "parameter": k,
                    "alternative": label,
                    "prior": pr.describe(),
                    "median": weighted_quantile(g[k], g["weight"], 0.5),
                    "q05": weighted_quantile(g[k], g["weight"], 0.05),
                    "q95": weighted_quantile(g[k], g["weight"], 0.95),
                    "ess": float(g["weight"].sum() ** 2 / (g["weight"] ** 2).sum()),
                }
            )
    return pd.DataFrame(rows)


# --- posterior predictive --------------------------------------------------------------------------------------------


def draw_particles(particles: pd.DataFrame, k: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 7]))
    w = particles["weight"].to_numpy(float)
    idx = rng.choice(len(particles), size=k, replace=True, p=w / w.sum())
    return particles.iloc[idx].reset_index(drop=True)


def _predictive_task(args):
    simulator, params, alternative, seed, replications = args
    try:
        return simulator.simulate(params, alternative, seed, replications)
    except InfeasibleError:
        return None


def predictive_check(
    simulator,
    particles: pd.DataFrame,
    alternatives: Sequence[dict],
    patterns: Sequence[pat.Pattern],
    outputs: pat.Outputs | None,
    draws: int,
    replications: int,
    seed: int,
    alpha: float,
    executor=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fresh runs of ``draws`` posterior draws per alternative: (per-pattern fit table, per-alternative counts).

    Per pattern and alternative: the record, the model's value (median and 90% interval over draws), the
    deviance of the pooled runs, whether it is reproduced (pooled), and the share of draws reproducing it.
    Per alternative: the patterns reproduced by the pooled runs, the mean number reproduced per draw and the
    share of draws reproducing every computable pattern at once."""
    keys = [c for c in particles.columns if c not in ("model", "alternative", "weight")]
    rows, counts = [], []
    for m, alt in enumerate(alternatives):
        mine = particles[particles["model"] == m]
        label = ", ".join(f"{k}={v}" for k, v in alt.items()) or "base"
        if mine.empty:
            counts.append({"alternative": label, "model": m, "note": "no particles left (posterior probability 0)"})
            continue
        chosen = draw_particles(mine, draws, seed + m)
        tasks = [
            (
                simulator,
                {k: float(r[k]) for k in keys},
                alt,
                int(np.random.SeedSequence([seed, m, i, 11]).generate_state(1)[0]),
                replications,
            )
            for i, r in enumerate(chosen.to_dict("records"))
        ]
        batches = list(executor.map(_predictive_task, tasks)) if executor else [_predictive_task(t) for t in tasks]
        batches = [b for b in batches if b is not None]
        if not batches:
            counts.append({"alternative": label, "model": m, "note": "every draw was infeasible"})
            continue
        pooled = pat.Batch([r for b in batches for r in b.runs])
        per_draw = {p.name: [pat.evaluate(p, b, outputs, alpha) for b in batches] for p in patterns}
        computable = [p for p in patterns if pat.evaluate(p, pooled, outputs, alpha).computable]
        all_at_once = np.ones(len(batches), bool)
        n_per_draw = np.zeros(len(batches))
        n_pooled = 0
        for p in patterns:
            ev = pat.evaluate(p, pooled, outputs, alpha)
            row = {
                "pattern": p.name,
                "use": p.use,
                "alternative": label,
                "record": p.record_text(),
                "source": p.source,
                "unit": p.unit,
            }
            if not ev.computable:
                rows.append({**row, "computable": False, "reason": ev.reason})
                continue
            vals = np.array([p.value(e.statistic) for e in per_draw[p.name]], float)
            ok = np.array([bool(e.reproduced) for e in per_draw[p.name]])
            all_at_once &= ok
            n_per_draw += ok
            n_pooled += bool(ev.reproduced)
            finite = vals[np.isfinite(vals)]
            rows.append(
                {
                    **row,
                    "computable": True,
                    "reason": "",
                    "model_pooled": p.value(ev.statistic),
                    "model_pooled_detail": p.detail(ev.statistic),
                    "model_median": float(np.median(finite)) if finite.size else math.nan,
                    "model_q05": float(np.quantile(finite, 0.05)) if finite.size else math.nan,
                    "model_q95": float(np.quantile(finite, 0.95)) if finite.size else math.nan,
                    "deviance": ev.deviance,
                    "df": ev.df,
                    "signed_root": ev.signed_root,
                    "root_q05": float(np.quantile([e.signed_root for e in per_draw[p.name]], 0.05)),
                    "root_q95": float(np.quantile([e.signed_root for e in per_draw[p.name]], 0.95)),
                    "reproduced": bool(ev.reproduced),
                    "draws_reproducing": float(ok.mean()),
                }
            )
        counts.append(
            {
                "alternative": label,
                "model": m,
                "computable_patterns": len(computable),
                "reproduced_pooled": n_pooled,
                "mean_reproduced_per_draw": float(n_per_draw.mean()),
                "draws_reproducing_all": float(all_at_once.mean()),
                "draws": len(batches),
                "note": "",
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(counts)


# --- the command ---------------------------------------------------------------------------------------------


def needed_metrics(patterns: Sequence[pat.Pattern]) -> list[str]:
    return sorted({m for p in patterns for m in p.requires().metrics})


def calibrate(
    path: str | Path,
    out: str | Path,
    *,
    sampler: str | None = None,
    workers: int | None = None,
    scheduler=None,
    dynamic: bool = False,
    log: Callable = print,
) -> dict:
    """Run the calibration file ``path`` into ``out`` (resuming a database there made from the same file and
    model code); return the summary also written to ``calibration.json``."""
    cal = load_calibration(path)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CalibrationError(str(out), None, "exists and is not a folder")
    workers = workers or 1
    sampler = sampler or ("dask" if scheduler else "multicore" if workers > 1 else "single")
    st = cal.settings
    base_runs = cal.base_for_runs()
    # what the model emits: patterns that need other outputs are reported, not scored
    outputs = pat.model_outputs(base_runs, st.seed, cal.probe_runs)  # probe runs only if no EVENT_KINDS
    status = {p.name: pat.check(p, outputs, PARAM_BY_KEY) for p in cal.patterns}
    for name, why in status.items():
        if why:
            log(f"pattern {name}: not computable: {why}")
    usable = [p for p in cal.patterns if status[p.name] is None]
    if not any(p.use == "fit" for p in usable):
        raise CalibrationError(
            cal.source,
            "pattern",
            "no fit pattern is computable on this model: " + "; ".join(f"{n}: {w}" for n, w in status.items() if w),
        )
    simulator = ScenarioSimulator(base_runs, needed_metrics(usable))
    from ..run import model_code_digest

    identity = {
        "base_sha256": hashlib.sha256(base_runs.to_toml(only_changes=False).encode()).hexdigest(),
        "model_sha256": model_code_digest(),
    }
    log(
        f"calibration {cal.name}: {len(cal.priors)} parameter(s), {len(cal.alternatives)} alternative(s), "
        f"{sum(p.use == 'fit' for p in usable)} fit pattern(s); {st.population} particles x {st.replications} "
        f"runs; sampler {sampler}{' (dynamic)' if dynamic else ''}"
    )
    res = run_abc(
        simulator,
        cal.priors,
        cal.alternatives,
        usable,
        st,
        out / "abc.db",
        identity=identity,
        sampler=sampler,
        workers=workers,
        scheduler=scheduler,
        dynamic=dynamic,
        log=log,
    )
    t1 = time.perf_counter()
    executor, close = _executor(sampler, workers, scheduler)
    try:
        fit_table, counts = predictive_check(
            simulator,
            res.particles,
            cal.alternatives,
            cal.patterns,
            outputs,
            st.predictive_draws,
            st.predictive_replications,
            st.seed,
            st.alpha,
            executor,
        )
    finally:
        close()
    predictive_seconds = time.perf_counter() - t1
    return write_results(cal, res, fit_table, counts, out, predictive_seconds)


def _executor(sampler: str, workers: int, scheduler):
    if sampler == "multicore" and workers > 1:
        import concurrent.futures as cf
        import multiprocessing

        pool = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        return pool, pool.shutdown
    if sampler == "dask":
        from distributed import Client

        if isinstance(scheduler, Client):
            return scheduler.get_executor(pure=False), lambda: None
        client = Client(scheduler_file=str(scheduler)) if str(scheduler).endswith(".json") else Client(str(scheduler))
        return client.get_executor(pure=False), client.close
    return None, lambda: None


def posterior_document(cal: Calibration, res: AbcResult) -> dict:
    """The posterior file's content (format buddysim-posterior/1): what ``--posterior`` reads."""
    keys = list(cal.priors)
    base = cal.base
    point = point_estimate(cal, res.particles)
    return {
        "format": "buddysim-posterior/1",
        "calibration": cal.name,
        "source": cal.source,
        "parameters": keys,
        "choices": cal.choice_keys,
        "base": {k: base[k] for k in [*keys, *cal.choice_keys]},
        "point": point,
        "alternatives": [
            {"model": m, "label": cal.alternative_label(m), "values": a} for m, a in enumerate(cal.alternatives)
        ],
        "particles": [
            {
                "model": int(r["model"]),
                "weight": float(r["weight"]),
                "values": {**cal.alternatives[int(r["model"])], **{k: float(r[k]) for k in keys}},
            }
            for r in res.particles.to_dict("records")
        ],
    }


def point_estimate(cal: Calibration, particles: pd.DataFrame) -> dict:
    """The most probable alternative's choices and its posterior medians (rounded to 4 significant digits)."""
    probs = particles.groupby("model")["weight"].sum()
    m = int(probs.idxmax())
    mine = particles[particles["model"] == m]
    values = {k: float(f"{weighted_quantile(mine[k], mine['weight'], 0.5):.4g}") for k in cal.priors}
    return {**cal.alternatives[m], **values}


def write_results(cal, res: AbcResult, fit_table, counts, out: Path, predictive_seconds: float) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    doc = posterior_document(cal, res)
    (out / "posterior.json").write_text(json.dumps(doc, indent=1) + "\n")
    res.particles.to_csv(out / "posterior.csv", index=False)
    table = posterior_table(res.particles, cal.priors)
    table.to_csv(out / "posterior_summary.csv", index=False)
    fit_table.to_csv(out / "patterns.csv", index=False)
    counts.to_csv(out / "alternatives.csv", index=False)
    res.populations.to_csv(out / "generations.csv", index=False)
    probs = res.particles.groupby("alternative", sort=False)["weight"].sum()
    calibrated = cal.base.replace(doc["point"])
    calibrated.description = (
        f"Calibrated by ABC-SMC ({cal.name}, {len(res.populations)} generations of {cal.settings.population} "
        f"particles): the base scenario with the posterior medians of {', '.join(cal.priors)}"
        + (
            f" and the most probable alternative ({', '.join(f'{k}={v}' for k, v in doc['point'].items() if k in cal.choice_keys)})"
            if cal.choice_keys
            else ""
        )
        + ".\nPatterns: "
        + ", ".join(
            r["pattern"]
            for r in fit_table.drop_duplicates("pattern").to_dict("records")
            if r["use"] == "fit" and r["computable"]
        )
    )
    (out / "calibrated.toml").write_text(calibrated.to_toml())
    summary = {
        "calibration": cal.name,
        "source": cal.source,
        "calibration_sha256": cal.sha256,
        "generations": int(len(res.populations)),
        "population": cal.settings.population,
        "replications_per_particle": cal.settings.replications,
        "simulations": res.simulations,
        "seconds_abc": round(res.seconds, 1),
        "seconds_predictive": round(predictive_seconds, 1),
        "resumed": res.resumed,
        "epsilon": [float(x) for x in res.populations["epsilon"]],
        "acceptance": [float(x) for x in res.populations["acceptance"]],
        "model_probabilities": {str(k): float(v) for k, v in probs.items()},
        "posterior": table.to_dict("records"),
        "patterns": json.loads(fit_table.to_json(orient="records")),
        "alternatives": json.loads(counts.to_json(orient="records")),
        "point": doc["point"],
        "alpha": cal.settings.alpha,
    }
    (out / "calibration.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "summary.md").write_text(summary_markdown(cal, res, table, fit_table, counts))
    from .calibration_figures import marginals_figure, pairs_figure, patterns_figure

    marginals_figure(res.particles, cal.priors, out / "marginals.png")
    pairs_figure(res.particles, list(cal.priors), out / "pairs.png")
    patterns_figure(fit_table, out / "patterns.png", cal.settings.alpha)
    return summary


def _fmt(x) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"


def markdown_table(rows: list[list], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def parameter_markdown(table: pd.DataFrame) -> str:
    return markdown_table(
        [
            [
                f"`{r['parameter']}`",
                r["alternative"],
                r["prior"],
                f"{_fmt(r['median'])} [{_fmt(r['q05'])}, {_fmt(r['q95'])}]",
                f"{r['ess']:.0f}",
            ]
            for r in table.to_dict("records")
        ],
        ["parameter", "alternative", "prior", "posterior median [90% interval]", "ESS"],
    )


def generations_markdown(pops: pd.DataFrame) -> str:
    return markdown_table(
        [
            [int(r["t"]), _fmt(r["epsilon"]), int(r["simulations"]), f"{r['acceptance']:.1%}"]
            for r in pops.to_dict("records")
        ],
        ["generation", "epsilon", "simulations", "acceptance"],
    )


def patterns_markdown(fit: pd.DataFrame) -> str:
    rows = []
    for r in fit.to_dict("records"):
        name = f"{r['pattern']}" + (" (check)" if r["use"] == "check" else "")
        if not r["computable"]:
            rows.append([name, r["alternative"], r["record"], f"not computable: {r['reason']}", "-", "-"])
            continue
        rows.append(
            [
                name,
                r["alternative"],
                r["record"],
                f"{_fmt(r['model_median'])} [{_fmt(r['model_q05'])}, {_fmt(r['model_q95'])}] ({r['unit']})"
                + (
                    f"; pooled: {r['model_pooled_detail']}"
                    if isinstance(r.get("model_pooled_detail"), str) and r["model_pooled_detail"]
                    else ""
                ),
                f"{r['deviance']:.2f} (df {int(r['df'])})",
                ("yes" if r["reproduced"] else "no") + f" ({r['draws_reproducing']:.0%} of draws)",
            ]
        )
    return markdown_table(
        rows, ["pattern", "alternative", "record", "posterior predictive median [90%]", "deviance", "reproduced"]
    )


def alternatives_markdown(counts: pd.DataFrame, probs: Mapping[str, float]) -> str:
    rows = []
    for r in counts.to_dict("records"):
        note = r.get("note")
        if isinstance(note, str) and note:
            rows.append([r["alternative"], f"{probs.get(r['alternative'], 0.0):.2f}", note, "-", "-"])
            continue
        rows.append(
            [
                r["alternative"],
                f"{probs.get(r['alternative'], 0.0):.2f}",
                f"{int(r['reproduced_pooled'])} of {int(r['computable_patterns'])}",
                f"{r['mean_reproduced_per_draw']:.1f}",
                f"{r['draws_reproducing_all']:.0%}",
            ]
        )
    return markdown_table(
        rows,
        ["alternative", "posterior probability", "patterns reproduced", "per draw (mean)", "draws reproducing all"],
    )


def summary_markdown(cal, res, table, fit, counts) -> str:
    probs = res.particles.groupby("alternative", sort=False)["weight"].sum().to_dict()
    parts = [
        f"# Calibration {cal.name}\n",
        f"ABC-SMC (pyabc): {len(res.populations)} generations of {cal.settings.population} particles, "
        f"{cal.settings.replications} runs per particle, {res.simulations} particles simulated "
        f"({res.seconds:.0f} s); distance: {cal.settings.distance}; a pattern is reproduced when its deviance "
        f"is below the chi-square {1 - cal.settings.alpha:.0%} quantile.\n",
        "## Posterior\n",
        parameter_markdown(table),
        "## Generations\n",
        generations_markdown(res.populations),
        "## Alternatives\n",
        alternatives_markdown(counts, probs),
        "## Patterns: record vs posterior predictive\n",
        patterns_markdown(fit),
    ]
    return "\n".join(parts)


def describe(summary: dict) -> str:
    lines = [
        f"calibration {summary['calibration']}: {summary['generations']} generations x {summary['population']} "
        f"particles, {summary['simulations']} simulated ({summary['seconds_abc']:.0f} s + "
        f"{summary['seconds_predictive']:.0f} s predictive){' (resumed)' if summary['resumed'] else ''}",
        "epsilon: " + " -> ".join(f"{e:.3g}" for e in summary["epsilon"]),
        "acceptance: " + ", ".join(f"{a:.0%}" for a in summary["acceptance"]),
    ]
    if len(summary["model_probabilities"]) > 1:
        lines.append(
            "model probabilities: " + ", ".join(f"{k}: {v:.2f}" for k, v in summary["model_probabilities"].items())
        )
    lines.append("posterior (median [5%, 95%]):")
    for r in summary["posterior"]:
        if r["alternative"] == "all":
            lines.append(
                f"  {r['parameter']:40s} {r['median']:.4g} [{r['q05']:.4g}, {r['q95']:.4g}]   prior {r['prior']}"
            )
    lines.append("patterns (record / posterior predictive median [5%, 95%] / reproduced):")
    for r in summary["patterns"]:
        if not r["computable"]:
            lines.append(f"  {r['pattern']:32s} [{r['alternative']}] not computable: {r['reason']}")
        else:
            lines.append(
                f"  {r['pattern']:32s} [{r['alternative']}] {r['record']} / {r['model_median']:.3g} "
                f"[{r['model_q05']:.3g}, {r['model_q95']:.3g}] / {'yes' if r['reproduced'] else 'no'}"
            )
    return "\n".join(lines)


__all__ = [
    "AbcResult",
    "Calibration",
    "CalibrationError",
    "PatternModel",
    "Prior",
    "ScenarioSimulator",
    "Settings",
    "calibrate",
    "describe",
    "load_calibration",
    "particle_seed",
    "posterior_table",
    "predictive_check",
    "run_abc",
    "weighted_quantile",
]
