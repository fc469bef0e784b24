"""Robust decisions: which policy holds up across everything we do not know?

A robust design (``design = "robust"`` in an experiment file, :mod:`sim.sweep.design`) runs every policy
across the same sampled futures, with the same seeds for every policy in a future (common random numbers).
This module reads the finished runs and scores each policy, in the vocabulary of robust decision making
(Lempert, Popper & Bankes 2003; Kwakkel, Walker & Marchau 2016; McPhail et al. 2018):

- the **measure** ``m[f, p]`` of policy ``p`` in future ``f``, set in the file's ``[robust]`` table: the share
  of the future's replications with an outcome (``"bedded_in"``, ``"failed"``, ``"undecided"``) or an outcome
  event, or the mean of an end-of-run metric (``"trust_min"``...), with a direction (higher or lower is better);
- **regret** ``r[f, p]``: how far ``p`` falls short of the best policy *in the same future*,
  ``max_q m[f, q] - m[f, p]`` (or ``m[f, p] - min_q m[f, q]`` when lower is better); 0 for the best policy.
  Reported per policy as its mean, 90th percentile and maximum over futures (minimax regret, Savage 1951);
- **satisficing**: the share of futures in which ``m[f, p]`` meets the file's target (Starr 1963; Simon 1955);
- the share of runs, over all futures, ending with each outcome event (bedding in, failure, ...), with
  Wilson intervals;
- **vulnerabilities**: PRIM boxes (Friedman & Fisher 1999; Bryant & Lempert 2010) over the uncertain
  parameters, of the futures in which the most robust policy misses the target, and of those in which no
  policy meets it.

With one replication per future, the measure of an outcome is 0 or 1 in each future; regret is then 1
whenever another policy succeeded where this one did not, and the maximum regret of almost every policy is 1.
Use several replications per future (the measure becomes the chance of the outcome in that future) or a
continuous end-of-run measure when regret matters; mean regret and satisficing read well either way.
"""

from __future__ import annotations

import html as html_lib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..model.metrics import METRICS
from ..model.outcomes import OUTCOMES
from ..run import outcome_event_kinds
from ..scenario import PARAM_BY_KEY, did_you_mean
from ..sweep.design import Experiment, ExperimentError, load_saved_experiment
from .discovery import Discovery, prim_boxes
from .stats import wilson_interval
from .survival import phrase

ROBUST_KEYS = ("measure", "direction", "target", "rank_by", "boxes", "threshold")
RANKINGS = ("satisficing", "mean_regret", "p90_regret", "max_regret", "mean")
DEFAULT_DIRECTIONS = {"bedded_in": "max", "failed": "min"}
METHODS = (
    "measure per policy and future: the share of the future's replications with the outcome (or the mean of the "
    "end-of-run metric); regret: the best policy's measure in the same future minus this policy's (reversed "
    "when lower is better), summarised over futures by its mean, 90th percentile and maximum; satisficing: "
    "share of futures meeting the target, 95% Wilson interval over futures; outcome shares: share of all the "
    "policy's runs, 95% Wilson interval; every policy ran with the same seeds in each future (common random "
    "numbers); vulnerabilities: PRIM (EMA Workbench) over the uncertain parameters"
)


@dataclass
class Settings:
    """The ``[robust]`` table of a robust experiment file, checked."""

    measure: str
    kind: str  # "outcome" | "event" | "metric"
    direction: str  # "max" | "min"
    target: float
    rank_by: str = "satisficing"
    boxes: int = 2
    threshold: float | None = None

    def better(self) -> str:
        return "higher is better" if self.direction == "max" else "lower is better"

    def label(self) -> str:
        if self.kind == "metric":
            return f"end-of-run {self.measure} (mean over a future's runs)"
        return f"chance of {phrase(self.measure)} (share of a future's runs)"

    def target_text(self) -> str:
        op = ">=" if self.direction == "max" else "<="
        if self.kind == "metric":
            return f"{self.measure} {op} {self.target:g}"
        return f"chance of {phrase(self.measure)} {op} {self.target:.0%}"


def settings(exp: Experiment) -> Settings:
    """Check the ``[robust]`` table of a robust experiment (errors name the file and the key)."""
    source = str(exp.path) if exp.path else "<experiment>"
    if exp.design != "robust":
        raise ExperimentError(
            source, "experiment.design", f'a robust-decision run needs design = "robust", not {exp.design!r}'
        )
    table = dict(exp.robust)
    for key in table:
        if key not in ROBUST_KEYS:
            raise ExperimentError(
                source,
                f"robust.{key}",
                "unknown key" + did_you_mean(key, ROBUST_KEYS) + "; allowed: " + ", ".join(ROBUST_KEYS),
            )
    events = outcome_event_kinds()
    measures = list(dict.fromkeys([*OUTCOMES, *events, *METRICS]))
    measure = table.get("measure", "bedded_in")
    if not isinstance(measure, str) or measure not in measures:
        hint = did_you_mean(measure, measures) if isinstance(measure, str) else ""
        raise ExperimentError(
            source,
            "robust.measure",
            f"expected an outcome ({', '.join(OUTCOMES)}), an outcome event or an end-of-run metric "
            f"(the columns of `buddysim run`'s series.parquet; docs/ODD.md), got {measure!r}{hint}",
        )
    kind = "outcome" if measure in OUTCOMES else "event" if measure in events else "metric"
    direction = table.get("direction", DEFAULT_DIRECTIONS.get(measure))
    if direction is None:
        raise ExperimentError(
            source, "robust.direction", f'say whether higher or lower {measure} is better: "max" or "min"'
        )
    if direction not in ("max", "min"):
        raise ExperimentError(source, "robust.direction", f'expected "max" or "min", got {direction!r}')
    target = table.get("target", 0.5 if kind != "metric" else None)
    if target is None:
        raise ExperimentError(
            source, "robust.target", f"the level of {measure} a future must reach to count as a success (a number)"
        )
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not math.isfinite(target):
        raise ExperimentError(source, "robust.target", f"expected a number, got {target!r}")
    if kind != "metric" and not 0.0 <= target <= 1.0:
        raise ExperimentError(source, "robust.target", f"a share: expected a number from 0 to 1, got {target!r}")
    rank_by = table.get("rank_by", "satisficing")
    if rank_by not in RANKINGS:
        raise ExperimentError(
            source,
            "robust.rank_by",
            f"expected one of {', '.join(RANKINGS)}, got {rank_by!r}"
            + (did_you_mean(rank_by, RANKINGS) if isinstance(rank_by, str) else ""),
        )
    boxes = table.get("boxes", 2)
    if isinstance(boxes, bool) or not isinstance(boxes, int) or not 1 <= boxes <= 10:
        raise ExperimentError(source, "robust.boxes", f"expected a whole number from 1 to 10, got {boxes!r}")
    threshold = table.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1
    ):
        raise ExperimentError(source, "robust.threshold", f"a PRIM density: expected 0 < x <= 1, got {threshold!r}")
    return Settings(measure, kind, direction, float(target), rank_by, boxes, threshold)


# --- the metrics, on a table of measures -------------------------------------------------------------------
def regret(measure: np.ndarray, direction: str = "max") -> np.ndarray:
    """Regret of each policy (column) in each future (row): shortfall from the best policy in that future."""
    m = np.asarray(measure, dtype=float)
    if direction == "max":
        return m.max(axis=1, keepdims=True) - m
    return m - m.min(axis=1, keepdims=True)


def satisficing(measure: np.ndarray, target: float, direction: str = "max") -> np.ndarray:
    """Share of futures (rows) in which each policy (column) meets the target."""
    m = np.asarray(measure, dtype=float)
    ok = m >= target if direction == "max" else m <= target
    return ok.mean(axis=0)


def scores(measure: pd.DataFrame, s: Settings) -> pd.DataFrame:
    """Per policy (a column of ``measure``, one row per future): the robustness scores, ranked by ``s.rank_by``."""
    m = measure.to_numpy(dtype=float)
    r = regret(m, s.direction)
    meets = m >= s.target if s.direction == "max" else m <= s.target
    best = r <= 1e-12
    n = m.shape[0]
    rows = []
    for j, name in enumerate(measure.columns):
        k = int(meets[:, j].sum())
        lo, hi = wilson_interval(k, n)
        rows.append(
            {
                "policy": name,
                "futures": n,
                "mean": float(m[:, j].mean()),
                "satisficing": k / n if n else math.nan,
                "satisficing_lo": lo,
                "satisficing_hi": hi,
                "mean_regret": float(r[:, j].mean()),
                "p90_regret": float(np.quantile(r[:, j], 0.9)),
                "max_regret": float(r[:, j].max()),
                "best_in": float(best[:, j].mean()),
            }
        )
    table = pd.DataFrame(rows)
    key = {
        "satisficing": ["satisficing", "mean_regret"],
        "mean_regret": ["mean_regret", "max_regret"],
        "p90_regret": ["p90_regret", "mean_regret"],
        "max_regret": ["max_regret", "mean_regret"],
        "mean": ["mean", "mean_regret"],
    }[s.rank_by]
    ascending = [
        c.endswith("regret") or (c == "mean" and s.direction == "min") for c in key
    ]  # satisficing: higher first
    order = table.sort_values(key, ascending=ascending, kind="mergesort").index
    table["rank"] = 0
    table.loc[order, "rank"] = np.arange(1, len(table) + 1)
    return table


# --- a finished robust sweep ---------------------------------------------------------------------------------
@dataclass
class Robust:
    experiment: Experiment
    settings: Settings
    policies: pd.DataFrame  # one row per policy: levers, outcome shares, scores, rank (in rank order)
    measure: pd.DataFrame  # futures x policies
    futures: pd.DataFrame  # one row per future: its uncertain parameters
    long: pd.DataFrame  # one row per policy and future: measure, regret, meets target
    dropped: int  # futures left out because a run failed there
    discoveries: dict = field(default_factory=dict)  # "top" / "none" -> Discovery

    @property
    def top(self) -> str:
        return str(self.policies.iloc[0]["policy"])

    def to_text(self) -> str:
        s, exp = self.settings, self.experiment
        n_f, n_p = len(self.futures), len(self.policies)
        lines = [
            f"Robust decisions: {n_p} policies x {n_f} futures x {exp.replications} replication(s); every policy "
            f"ran with the same seeds in each future.",
            f"Measure: {s.label()}, {s.better()}. Target: {s.target_text()}. Ranked by {s.rank_by.replace('_', ' ')}.",
        ]
        if self.dropped:
            lines.append(f"({self.dropped} future(s) left out: a run failed there; see runs.parquet)")
        kinds = self._kinds()
        policy_head, policy_cells = self._policy_cells()
        head = f"{'':4s}{policy_head} {'meets target':>19s}  {'regret: mean':>12s} {'p90':>6s} {'max':>6s}"
        widths = {k: max(20, len(phrase(k))) for k in kinds}  # a column as wide as its name: never cut
        head += "".join(f"  {phrase(k):>{widths[k]}s}" for k in kinds)
        lines += ["", head]
        for (_, r), cells in zip(self.policies.iterrows(), policy_cells):
            meets = f"{r['satisficing']:.0%} [{r['satisficing_lo']:.0%}-{r['satisficing_hi']:.0%}]"
            shares = "".join(f"  {_share(r, k):>{widths[k]}s}" for k in kinds)
            lines.append(
                f"{int(r['rank']):>2d}. {cells} {meets:>19s}  "
                f"{_fmt(r['mean_regret'], s):>12s} {_fmt(r['p90_regret'], s):>6s} {_fmt(r['max_regret'], s):>6s}"
                + shares
            )
        lines.append(
            "meets target: share of futures (95% CI); regret: shortfall from the best policy in the same future"
            + (" (points of chance)" if s.kind != "metric" else "")
            + f"; {', '.join(phrase(k) for k in kinds)}: share of all the policy's runs (95% CI)."
        )
        lines.append("")
        lines.append(f"Most robust ({s.rank_by.replace('_', ' ')}): {self.top}")
        for key, what in (("top", "the most robust policy misses the target"), ("none", "no policy meets the target")):
            d = self.discoveries.get(key)
            if d is None:
                continue
            lines.append("")
            lines.append(f"Futures where {what}: {d.base_rate:.0%} of {d.n_runs}")
            lines += ["  " + line for line in d.to_text().splitlines()[1:-1]]
        lines += ["", "Methods: " + METHODS + "."]
        return "\n".join(lines)

    def _policy_cells(self) -> tuple[str, list[str]]:
        """The policy column(s) of the terminal table: the name of a named policy, or one column per lever."""
        exp = self.experiment
        if any(p.named for p in exp.policies):
            width = min(40, max(len(n) for n in self.policies["policy"]))
            return f"{'policy':{width}s}", [f"{n[:width]:{width}s}" for n in self.policies["policy"]]
        keys = exp.lever_keys
        heads = [k.split(".", 1)[1][:24] for k in keys]
        values = [[_value(v) for v in self.policies[k]] for k in keys]
        widths = [max(len(h), *(len(v) for v in col)) for h, col in zip(heads, values)]
        head = " ".join(f"{h:>{w}s}" for h, w in zip(heads, widths))
        rows = [" ".join(f"{col[i]:>{w}s}" for col, w in zip(values, widths)) for i in range(len(self.policies))]
        return head, rows

    def _kinds(self) -> list[str]:
        return [k for k in outcome_event_kinds() if k in self.policies.columns]

    def to_markdown(self) -> str:
        s = self.settings
        kinds = self._kinds()
        out = [
            f"**Measure**: {s.label()}, {s.better()}. **Target**: {s.target_text()}. "
            f"**Ranked by** {s.rank_by.replace('_', ' ')}. {len(self.policies)} policies x {len(self.futures)} "
            f"futures x {self.experiment.replications} replication(s), common random numbers.",
            "",
            "| rank | policy | meets target (95% CI) | mean regret | p90 regret | max regret | "
            + " | ".join(phrase(k) for k in kinds)
            + " |",
            "|---:|---|---|---:|---:|---:|" + "---|" * len(kinds),
        ]
        for _, r in self.policies.iterrows():
            out.append(
                f"| {int(r['rank'])} | {r['policy']} | {r['satisficing']:.0%} [{r['satisficing_lo']:.0%}-"
                f"{r['satisficing_hi']:.0%}] | {_fmt(r['mean_regret'], s)} | {_fmt(r['p90_regret'], s)} | "
                f"{_fmt(r['max_regret'], s)} | "
                + " | ".join(f"{r[k]:.0%} [{r[k + '_lo']:.0%}-{r[k + '_hi']:.0%}]" for k in kinds)
                + " |"
            )
        for key, what in (("top", f"{self.top} misses the target"), ("none", "no policy meets the target")):
            d = self.discoveries.get(key)
            if d is not None:
                out += ["", f"Futures where {what}:", "", "```", d.to_text(), "```"]
        out += ["", "Methods: " + METHODS + "."]
        return "\n".join(out) + "\n"

    def to_csv(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = [folder / "robust_policies.csv", folder / "robust_futures.csv", folder / "robust_boxes.csv"]
        self.policies.to_csv(paths[0], index=False)
        self.long.to_csv(paths[1], index=False)
        frames = []
        for key, d in self.discoveries.items():
            t = d.table()
            t.insert(0, "futures", "top policy misses" if key == "top" else "no policy meets")
            frames.append(t)
        (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()).to_csv(paths[2], index=False)
        return paths

    def figures(self, folder: Path) -> list[Path]:
        from . import plots

        folder.mkdir(parents=True, exist_ok=True)
        out = [plots.robust_overview(self, folder / "robust.png")]
        d = self.discoveries.get("top")
        if d is not None:
            out.append(plots.robust_vulnerabilities(self, d, folder / "robust_vulnerabilities.png"))
        return out

    def to_html(self, folder: Path) -> str:
        """A report section: figures (embedded), the table, the vulnerabilities (for sim.analysis.report)."""
        import base64

        parts = [f"<p>{html_lib.escape(self.to_markdown().split(chr(10))[0].replace('**', ''))}</p>"]
        for path in self.figures(folder):
            data = base64.b64encode(path.read_bytes()).decode()
            parts.append(f'<img src="data:image/png;base64,{data}" alt="{html_lib.escape(path.stem)}">')
        kinds = self._kinds()
        st = self.settings
        head = ["rank", "policy", "meets target (95% CI)", "mean regret", "p90 regret", "max regret"]
        head += [f"{phrase(k)} (95% CI)" for k in kinds]
        rows = []
        for _, r in self.policies.iterrows():
            cells = [
                str(int(r["rank"])),
                r["policy"],
                f"{r['satisficing']:.0%} [{r['satisficing_lo']:.0%}-{r['satisficing_hi']:.0%}]",
                _fmt(r["mean_regret"], st),
                _fmt(r["p90_regret"], st),
                _fmt(r["max_regret"], st),
            ]
            cells += [f"{r[k]:.0%} [{r[k + '_lo']:.0%}-{r[k + '_hi']:.0%}]" for k in kinds]
            rows.append("<tr>" + "".join(f"<td>{html_lib.escape(c)}</td>" for c in cells) + "</tr>")
        parts.append(
            "<table><tr>"
            + "".join(f"<th>{html_lib.escape(h)}</th>" for h in head)
            + "</tr>"
            + "".join(rows)
            + "</table>"
        )
        if st.kind != "metric":
            parts.append('<p class="note">Regret in percentage points of chance.</p>')
        for key, what in (
            ("top", f"the most robust policy ({self.top}) misses the target"),
            ("none", "no policy meets the target"),
        ):
            d = self.discoveries.get(key)
            if d is not None:
                parts.append(f"<h3>Futures where {html_lib.escape(what)}</h3><pre>{html_lib.escape(d.to_text())}</pre>")
        parts.append(f'<p class="note">{html_lib.escape(METHODS)}.</p>')
        return "".join(parts)


def _value(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _share(r, kind: str) -> str:
    return f"{r[kind]:.0%} [{r[kind + '_lo']:.0%}-{r[kind + '_hi']:.0%}]"


def _fmt(x: float, s: Settings) -> str:
    return f"{x * 100:.0f}" if s.kind != "metric" else f"{x:.3g}"


def per_run_measure(runs: pd.DataFrame, s: Settings) -> np.ndarray:
    """The measure's value in each run: 1/0 for an outcome or an event, the metric otherwise."""
    if s.kind == "outcome":
        return (runs["outcome"] == s.measure).to_numpy(dtype=float)
    if s.kind == "event":
        return runs[f"week_{s.measure}"].notna().to_numpy(dtype=float)
    return runs[s.measure].to_numpy(dtype=float)


def analyse(folder: str | Path, exp: Experiment | None = None, runs: pd.DataFrame | None = None) -> Robust:
    """Score every policy of a finished robust sweep (its folder)."""
    folder = Path(folder)
    exp = exp or load_saved_experiment(folder)
    s = settings(exp)
    if runs is None:
        if not (folder / "runs.parquet").exists():
            raise ExperimentError(str(folder), None, "no runs.parquet here; is the sweep finished (or merged)?")
        runs = pd.read_parquet(folder / "runs.parquet")
    return analyse_runs(exp, runs, s)


def analyse_runs(exp: Experiment, runs: pd.DataFrame, s: Settings | None = None) -> Robust:
    s = s or settings(exp)
    names = [p.name for p in exp.policies]
    policy, future = exp.policy_and_future(runs["point"].to_numpy())
    runs = runs.assign(_policy=policy, _future=future)
    ok = runs[runs["status"] == "ok"].copy()
    ok["_m"] = per_run_measure(ok, s)
    table = ok.pivot_table(index="_future", columns="_policy", values="_m", aggfunc="mean")
    table = table.reindex(columns=range(len(names)))
    n_before = runs["_future"].nunique()
    table = table.dropna(axis=0, how="any")
    dropped = n_before - len(table)
    measure = pd.DataFrame(table.to_numpy(), index=table.index, columns=names)
    measure.index.name = "future"
    keys = [f.key for f in exp.uncertain]
    futures = runs[runs["_policy"] == 0].drop_duplicates("_future").set_index("_future")[keys]
    futures = futures.loc[measure.index]
    for k in keys:  # numbers as numbers (a design table holds them as objects), for PRIM and the figures
        if PARAM_BY_KEY[k].kind in (int, float):
            futures[k] = futures[k].astype(float)
    futures.index.name = "future"

    sc = scores(measure, s)
    lever_rows = pd.DataFrame([{"policy": p.name, **p.values} for p in exp.policies])
    shares = []
    kept = ok[ok["_future"].isin(measure.index)]
    for j, name in enumerate(names):
        sub = kept[kept["_policy"] == j]
        row = {"policy": name, "runs": len(sub)}
        for kind in outcome_event_kinds():
            col = f"week_{kind}"
            if col in sub.columns:
                hit = int(sub[col].notna().sum())
            elif "outcome" in sub.columns:
                hit = int((sub["outcome"] == kind).sum())
            else:
                continue
            lo, hi = wilson_interval(hit, len(sub))
            row[kind], row[kind + "_lo"], row[kind + "_hi"] = (hit / len(sub) if len(sub) else math.nan), lo, hi
        shares.append(row)
    policies = lever_rows.merge(pd.DataFrame(shares), on="policy").merge(sc, on="policy")
    policies = policies.sort_values("rank").reset_index(drop=True)

    r = regret(measure.to_numpy(), s.direction)
    m = measure.to_numpy()
    meets = m >= s.target if s.direction == "max" else m <= s.target
    long = pd.DataFrame(
        {
            "future": np.repeat(measure.index.to_numpy(), len(names)),
            "policy": np.tile(names, len(measure)),
            "measure": m.ravel(),
            "regret": r.ravel(),
            "meets_target": meets.ravel(),
        }
    ).merge(futures.reset_index(), on="future")

    result = Robust(exp, s, policies, measure, futures, long, dropped)
    if len(measure) >= 10 and keys:
        top = names.index(result.top)
        x = futures.reset_index(drop=True)
        result.discoveries["top"] = _prim(x, ~meets[:, top], s, f"{result.top} misses the target")
        result.discoveries["none"] = _prim(x, ~meets.any(axis=1), s, "no policy meets the target")
    return result


def _prim(x: pd.DataFrame, y: np.ndarray, s: Settings, outcome: str) -> Discovery:
    return prim_boxes(x, y, threshold=s.threshold, max_boxes=s.boxes, outcome=outcome, unit="futures")
