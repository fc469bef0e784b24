"""Scenario discovery with PRIM (Friedman & Fisher 1999): where in parameter space is failure concentrated?

Uses the Patient Rule Induction Method of the EMA Workbench (Kwakkel 2017),
the maintained implementation. For each box, PRIM peels the parameter space
step by step; the *peeling trajectory* trades coverage (share of all runs
with the outcome that fall inside the box) against density (share of runs in
the box that have the outcome). We pick, on each trajectory, the box with the
highest coverage whose density reaches the threshold (the densest of those if
several have it; if none reaches it, the densest box), then look for the next box among the runs not yet covered
(the covering approach).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..model.outcomes import OUTCOMES
from ..sweep.design import ExperimentError, load_saved_experiment


@dataclass
class Box:
    restrictions: dict  # parameter -> (low, high) or sorted list of allowed values
    coverage: float
    density: float
    mass: float
    n: int
    trajectory: pd.DataFrame
    chosen: int

    def describe(self) -> str:
        parts = []
        for k, r in self.restrictions.items():
            if isinstance(r, list):
                parts.append(f"{k} in {{{', '.join(map(str, r))}}}")
            elif r[0] is not None and r[1] is not None:
                parts.append(f"{r[0]:.3g} <= {k} <= {r[1]:.3g}")
            elif r[0] is not None:
                parts.append(f"{k} >= {r[0]:.3g}")
            else:
                parts.append(f"{k} <= {r[1]:.3g}")
        return " and ".join(parts) if parts else "(whole space)"


@dataclass
class Discovery:
    outcome: str
    base_rate: float
    n_runs: int
    threshold: float
    boxes: list[Box] = field(default_factory=list)
    unit: str = "runs"  # what a row is (runs; futures in robust decisions)

    def to_text(self) -> str:
        lines = [
            f"PRIM scenario discovery for '{self.outcome}': {self.base_rate:.1%} of {self.n_runs} {self.unit}; "
            f"density threshold {self.threshold:.0%}"
        ]
        if not self.boxes:
            lines.append(
                "  no box: "
                + (
                    f"no {self.unit[:-1]} has this outcome"
                    if self.base_rate == 0
                    else "every run has this outcome, there is nothing to separate"
                    if self.base_rate == 1
                    else "nothing concentrates this outcome"
                )
            )
        for i, b in enumerate(self.boxes, 1):
            lines.append(
                f"  box {i}: coverage {b.coverage:.1%}, density {b.density:.1%} "
                f"(x{b.density / self.base_rate:.1f} the base rate), mass {b.mass:.1%} ({b.n} {self.unit})"
            )
            lines.append(f"         {b.describe()}")
            if b.density < self.threshold:
                lines.append("         (below the density threshold: the outcome is not concentrated in any box)")
        lines.append(
            f"coverage = share of the outcome's {self.unit} inside the box; density = share of the box's {self.unit} "
            f"with the outcome; mass = share of all {self.unit} inside the box."
        )
        return "\n".join(lines)

    def table(self) -> pd.DataFrame:
        rows = []
        for i, b in enumerate(self.boxes, 1):
            for k, r in b.restrictions.items():
                rows.append(
                    {
                        "box": i,
                        "parameter": k,
                        "low": None if isinstance(r, list) else r[0],
                        "high": None if isinstance(r, list) else r[1],
                        "values": ", ".join(map(str, r)) if isinstance(r, list) else None,
                        "coverage": b.coverage,
                        "density": b.density,
                        "mass": b.mass,
                    }
                )
        return pd.DataFrame(rows, columns=["box", "parameter", "low", "high", "values", "coverage", "density", "mass"])


def prim_boxes(
    x: pd.DataFrame,
    y: np.ndarray,
    *,
    threshold: float | None = None,
    max_boxes: int = 3,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
    outcome: str = "outcome",
    unit: str = "runs",
) -> Discovery:
    """PRIM boxes for a 0/1 outcome ``y`` over the columns of ``x`` (numbers or categories)."""
    y = np.asarray(y, dtype=bool)
    x = x.copy()
    for col in x.columns:  # the workbench's PRIM wants floats or categories (it fails on ints under pandas 3)
        if x[col].dtype == object or x[col].dtype == bool or str(x[col].dtype) in ("string", "str"):
            x[col] = pd.Categorical(x[col].astype(str))
        elif not isinstance(x[col].dtype, pd.CategoricalDtype):
            x[col] = x[col].astype(float)
    base = float(y.mean()) if y.size else 0.0
    if threshold is None:  # a box worth reporting holds mostly cases: 80%, or more if they are common anyway
        threshold = 0.8 if base < 0.6 else (1 + base) / 2
    result = Discovery(outcome, base, int(y.size), threshold, unit=unit)
    if y.sum() == 0 or y.all():
        return result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

        p = prim.Prim(x, y, peel_alpha=peel_alpha, mass_min=mass_min)
        init = p.box_init
        for _ in range(max_boxes):
            box = p.find_box()
            if box is None:
                break
            traj = box.peeling_trajectory.reset_index(drop=True)
            ok = traj.index[traj["density"] >= threshold]
            # the highest coverage at or above the threshold; among equal coverage, the densest box
            cand = traj.loc[ok].sort_values(["coverage", "density"], kind="mergesort")
            chosen = int(cand.index[-1]) if len(ok) else int(traj["density"].idxmax())
            box.select(chosen)
            lims = box.box_lim
            restrictions = {}
            for col in x.columns:
                lo, hi = lims[col].iloc[0], lims[col].iloc[1]
                if isinstance(x[col].dtype, pd.CategoricalDtype):
                    if set(lo) != set(init[col].iloc[0]):
                        restrictions[col] = sorted(lo)
                elif lo > init[col].iloc[0] or hi < init[col].iloc[1]:
                    restrictions[col] = (
                        float(lo) if lo > init[col].iloc[0] else None,
                        float(hi) if hi < init[col].iloc[1] else None,
                    )
            row = traj.loc[chosen]
            dense_enough = float(row["density"]) >= threshold
            if dense_enough or not result.boxes:  # the first box is reported even if it falls short (flagged)
                result.boxes.append(
                    Box(
                        restrictions,
                        float(row["coverage"]),
                        float(row["density"]),
                        float(row["mass"]),
                        int(row["n"]),
                        traj,
                        chosen,
                    )
                )
            if not dense_enough:
                break
    return result


def discover(folder: str | Path, outcome: str = "failed", **kw) -> Discovery:
    """PRIM over a finished sweep: which parameter ranges concentrate ``outcome``?"""
    folder = Path(folder)
    if outcome not in OUTCOMES:
        raise ExperimentError("--outcome", None, f"expected one of {', '.join(OUTCOMES)}, got {outcome!r}")
    exp = load_saved_experiment(folder)
    keys = [f.key for f in exp.factors]
    if not keys:
        raise ExperimentError(str(folder), "vary", "nothing was varied in this sweep: there is no space to search")
    runs = pd.read_parquet(folder / "runs.parquet")
    runs = runs[runs["status"] == "ok"]
    return prim_boxes(runs[keys], (runs["outcome"] == outcome).to_numpy(), outcome=outcome, **kw)
