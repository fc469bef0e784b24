"""Posterior draws: parameter sets from a calibration's weighted posterior, one per replication.

``buddysim run``, ``compare`` and ``evidence`` take ``--posterior FILE`` (a calibration's ``posterior.json``
or its results folder): replication ``r`` of a run seeded ``seed`` runs with the ``r``-th posterior draw, so
intervals include parameter uncertainty, not only stochastic noise. Draws are reproducible from the seed,
and every scenario run with the same seed gets the same draws (common random numbers for comparisons).

Which values a draw replaces: the calibrated parameters (and the alternative's choices) of the scenario,
except those the scenario sets itself. A key counts as set by the scenario when its value differs from both
the calibration's base scenario and the posterior's point estimate (the values ``calibrated.toml`` holds):
an intervention that changes a calibrated parameter keeps its value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..scenario import Scenario, ScenarioError, check_value

FORMAT = "buddysim-posterior/1"
_STREAM = 0x504F5354  # "POST": keeps the draw's stream apart from the runs' streams


@dataclass
class Posterior:
    """A weighted posterior: particles (values per key) with normalised weights."""

    source: str
    calibration: str
    keys: list[str]  # every key a draw may set (parameters, then choices)
    base: dict[str, Any]
    point: dict[str, Any]
    values: list[dict[str, Any]]
    weights: np.ndarray
    labels: list[str]

    def __len__(self) -> int:
        return len(self.values)

    def index(self, k: int, seed: int) -> int:
        """The particle of draw ``k`` for ``seed`` (weighted, with replacement, reproducible)."""
        u = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(k), _STREAM))).random()
        return int(min(np.searchsorted(self._cum, u, side="right"), len(self.values) - 1))

    def __post_init__(self):
        self._cum = np.cumsum(self.weights)

    def own_keys(self, scenario: Scenario) -> list[str]:
        """Calibrated keys that ``scenario`` sets itself (kept by every draw)."""
        return [
            k
            for k in self.keys
            if not _same(scenario[k], self.base.get(k)) and not _same(scenario[k], self.point.get(k))
        ]


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return math.isclose(a, float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def load_posterior(path: str | Path) -> Posterior:
    """Read a posterior file (or the calibration folder holding ``posterior.json``); errors name the file."""
    path = Path(path)
    if path.is_dir():
        path = path / "posterior.json"
    source = str(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(source, None, "no such file (a calibration's posterior.json or its folder)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioError(source, None, f"not a posterior file (JSON): {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ScenarioError(source, "format", f"not a posterior file: expected format = {FORMAT!r}")
    keys = list(doc.get("parameters", [])) + list(doc.get("choices", []))
    particles = doc.get("particles") or []
    if not particles:
        raise ScenarioError(source, "particles", "no particles")
    values, weights, labels = [], [], []
    alts = {a["model"]: a["label"] for a in doc.get("alternatives", [])}
    for i, p in enumerate(particles):
        v = p.get("values", {})
        for k in keys:
            if k not in v:
                raise ScenarioError(source, f"particles[{i}].values", f"no value for {k}")
            try:
                v[k] = check_value(source, k, v[k])
            except ScenarioError as exc:
                raise ScenarioError(source, f"particles[{i}].values.{k}", exc.message) from None
        w = p.get("weight")
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not (w >= 0 and math.isfinite(w)):
            raise ScenarioError(source, f"particles[{i}].weight", f"expected a number >= 0, got {w!r}")
        values.append({k: v[k] for k in keys})
        weights.append(float(w))
        labels.append(alts.get(p.get("model"), "base"))
    w = np.array(weights)
    if not w.sum() > 0:
        raise ScenarioError(source, "particles", "the weights sum to zero")
    return Posterior(
        source,
        doc.get("calibration", path.stem),
        keys,
        dict(doc.get("base", {})),
        dict(doc.get("point", {})),
        values,
        w / w.sum(),
        labels,
    )


def posterior_scenario(posterior: Posterior, scenario: Scenario, k: int, seed: int = 0) -> Scenario:
    """The ``k``-th posterior draw (for ``seed``) applied to ``scenario``: the calibrated keys it does not set
    itself take the drawn particle's values. Public: sweeps and decision analyses call it per replication."""
    own = set(posterior.own_keys(scenario))
    values = posterior.values[posterior.index(k, seed)]
    sc = scenario.replace({key: v for key, v in values.items() if key not in own})
    sc.name = scenario.name
    return sc


def replication_seeds(seed: int, replications: int) -> list[int]:
    """The seeds :func:`sim.run_replications` uses (the seed itself for one run)."""
    from ..run import replication_seed

    return [int(seed)] if replications == 1 else [replication_seed(seed, r) for r in range(replications)]


def iter_posterior_replications(
    scenario: Scenario,
    posterior: Posterior,
    seed: int | None = None,
    replications: int = 1,
    *,
    steps: int | None = None,
    engine: str = "compiled",
    progress: Callable[[Iterable], Iterable] | None = None,
) -> Iterator:
    """Like :func:`sim.iter_replications`, with replication ``r`` run on posterior draw ``r`` (same run seeds)."""
    from ..run import run

    seed = int(scenario["run.seed"] if seed is None else seed)
    seeds = replication_seeds(seed, replications)
    reps: Iterable[int] = range(replications)
    if progress is not None:
        reps = progress(reps)
    for r in reps:
        yield run(
            posterior_scenario(posterior, scenario, r, seed),
            seeds[r],
            steps=steps,
            engine=engine,
            replication=None if replications == 1 else r,
        )


def describe_use(posterior: Posterior, scenario: Scenario) -> str:
    own = posterior.own_keys(scenario)
    text = (
        f"parameters drawn from the posterior of {posterior.calibration} ({len(posterior)} particles, "
        f"{posterior.source}): {', '.join(k for k in posterior.keys if k not in own)}"
    )
    if own:
        text += f"; kept as {scenario.name} sets them: {', '.join(own)}"
    return text
