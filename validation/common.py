"""Shared helpers of the validation scripts: run an experiment file into results/validation, table output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from sim.run import model_code_digest
from sim.sweep.design import load_experiment
from sim.sweep.execute import sweep

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIGURES = HERE / "figures"


def same_inputs(folder: Path, key: dict) -> bool:
    """Whether ``folder`` holds results made from ``key`` (inputs) and the current model code."""
    stamp = folder / "inputs.json"
    return stamp.exists() and json.loads(stamp.read_text()) == {**key, "model_sha256": model_code_digest()}


def stamp_inputs(folder: Path, key: dict) -> None:
    """Record what ``folder``'s results were made from (see :func:`same_inputs`)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "inputs.json").write_text(json.dumps({**key, "model_sha256": model_code_digest()}, indent=2) + "\n")


def runs_of(
    experiment: str,
    results: Path,
    workers: int | None,
    log=print,
    path: Path | None = None,
    extra_key: dict | None = None,
) -> pd.DataFrame:
    """Run ``validation/docking/<experiment>.toml`` (or ``path``) into ``results/<experiment>`` (or reuse a
    complete run of the same file, replications, model code and ``extra_key``, e.g. the digest of a scenario it
    builds on) and return its runs table."""
    exp = load_experiment(path or HERE / "docking" / f"{experiment}.toml")
    out = results / experiment
    key = {"experiment_sha256": exp.sha256, "replications": exp.replications, **(extra_key or {})}
    if out.exists() and not same_inputs(out, key):
        log(f"{out}: made by another version of {experiment}.toml or of the model; running it again")
        shutil.rmtree(out)
    sweep(exp, out, workers=workers, log=log)
    stamp_inputs(out, key)
    return pd.read_parquet(out / "runs.parquet")


def series_of(experiment: str, results: Path) -> pd.DataFrame:
    return pd.read_parquet(results / experiment / "series.parquet")


def markdown(rows: list[list], header: list[str], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
