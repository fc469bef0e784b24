"""The briefing's claims as directional hypotheses, each tested by a paired experiment.

A claims file (TOML, data only) lists claims; each names the statement of the
briefing it encodes, a base scenario, the changes that make the claim's
factor *absent* (``without``) and *present* (``with``), the outcome measure
and the direction the claim predicts::

    [[claim]]
    id = "stable_leadership"
    claim = "Stable and visible leadership raises the chance of bedding in"
    briefing = "The importance of stable and visible leadership across both organisations"
    measure = "bedded_in"            # bedded_in | failed  (share of runs)
    direction = "higher"             # with vs without
    [claim.without]
    "leadership.turnover_a" = 1.5
    [claim.with]
    "leadership.turnover_a" = 0.15

``measure`` is one of the run's outcome events: ``bedded_in``, ``failed``,
``exited_special_measures`` or ``reentered_special_measures`` (did it happen
within the horizon). Both arms run the same ``replications`` seeds (common random
numbers: every submodel draws the same numbers in both arms wherever the
factor does not reach), so the arms are *paired*. The effect is the difference
in the share of runs (with minus without) with Newcombe's paired 95% interval
(1998, method 10), which uses the pairing and is narrower than the unpaired one
when the arms move together; the claim **holds** when the interval excludes
zero in the predicted direction, is **contradicted** when it excludes zero the
other way, and is **not shown** otherwise. Each row also reports, without a
verdict, the factor's effect on A exiting special measures within the horizon:
whether it reaches the regime's outcome at all. Nothing here is tuned: a contradicted
claim is reported as such, with the mechanism that causes it left to the
analyst (docs/ODD.md).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..analysis.stats import newcombe_paired_interval
from ..run import iter_replications
from ..scenario import Scenario, ScenarioError, load_scenario

MEASURES = ("bedded_in", "failed", "exited_special_measures", "reentered_special_measures")
EXIT = "exited_special_measures"


@dataclass
class Claim:
    id: str
    claim: str
    briefing: str
    measure: str
    direction: str
    base: Scenario
    without: dict
    with_: dict


def load_claims(path: str | Path) -> list[Claim]:
    path = Path(path)
    source = str(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(source, None, "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, None, f"not valid TOML: {exc}") from None
    claims = []
    for i, c in enumerate(doc.get("claim", [])):
        where = f"claim[{i}]"
        for key in ("id", "claim", "briefing", "measure", "direction", "with", "without"):
            if key not in c:
                raise ScenarioError(source, f"{where}.{key}", "required")
        if c["measure"] not in MEASURES:
            raise ScenarioError(source, f"{where}.measure", f"expected one of {', '.join(MEASURES)}")
        if c["direction"] not in ("higher", "lower"):
            raise ScenarioError(source, f"{where}.direction", 'expected "higher" or "lower"')
        try:
            base = load_scenario(path.parent / c["scenario"]) if "scenario" in c else Scenario(name="defaults")
            base.replace(c["with"])
            base.replace(c["without"])
        except ScenarioError as exc:
            raise ScenarioError(source, f"{where}: {exc.key}", exc.message) from None
        claims.append(
            Claim(
                c["id"],
                c["claim"],
                c["briefing"],
                c["measure"],
                c["direction"],
                base,
                dict(c["without"]),
                dict(c["with"]),
            )
        )
    if not claims:
        raise ScenarioError(source, "claim", "no [[claim]] tables")
    return claims


def _happened(result, measure: str) -> bool:
    """Whether ``measure`` (an outcome event) happened in a run within its horizon."""
    return result.outcome == measure or any(e["kind"] == measure for e in result.events)


def _arm(args) -> list[tuple[bool, bool]]:
    """Per replication of one arm of one claim: (the claim's measure happened, A exited special measures). A
    picklable task. With a posterior, replication r of the arm's base takes posterior draw r, then the arm's
    changes (same draws in both arms)."""
    values, delta, measure, replications, seed, posterior = args
    if posterior is None:
        runs = iter_replications(Scenario(values).replace(delta), seed, replications)
    else:
        from ..run import run
        from .posterior import posterior_scenario, replication_seeds

        base = Scenario(values)
        runs = (
            run(posterior_scenario(posterior, base, r, seed).replace(delta), s)
            for r, s in enumerate(replication_seeds(seed, replications))
        )
    return [(_happened(r, measure), _happened(r, EXIT)) for r in runs]


def paired_counts(without: list[bool], with_: list[bool]) -> tuple[int, int, int, int]:
    """(both, only without, only with, neither) over pairs of runs with the same seed."""
    both = sum(a and b for a, b in zip(without, with_))
    only_without = sum(a and not b for a, b in zip(without, with_))
    only_with = sum(b and not a for a, b in zip(without, with_))
    return both, only_without, only_with, len(without) - both - only_without - only_with


def check_claims(
    claims: list[Claim],
    replications: int = 200,
    seed: int = 2013,
    changes: dict | None = None,
    workers: int = 1,
    posterior=None,
) -> pd.DataFrame:
    """Run both arms of every claim (same seeds) and judge each claim; one row per claim. ``posterior``
    (sim.validation.posterior.Posterior): replication r of both arms runs on posterior draw r."""
    tasks = []
    for c in claims:
        for delta in (c.without, c.with_):
            base = dict(c.base.replace(changes or {}))
            tasks.append((base, dict(delta), c.measure, replications, seed, posterior))
    if workers > 1:
        import concurrent.futures as cf
        import multiprocessing

        with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            arms = list(pool.map(_arm, tasks))
    else:
        arms = [_arm(t) for t in tasks]
    rows = []
    for i, c in enumerate(claims):
        without, with_ = arms[2 * i], arms[2 * i + 1]
        d, lo, hi = newcombe_paired_interval(*paired_counts([m for m, _ in without], [m for m, _ in with_]))
        ex, ex_lo, ex_hi = newcombe_paired_interval(*paired_counts([e for _, e in without], [e for _, e in with_]))
        predicted_up = c.direction == "higher"
        if lo > 0 or hi < 0:
            verdict = "holds" if (lo > 0) == predicted_up else "contradicted"
        else:
            verdict = "not shown"
        rows.append(
            {
                "id": c.id,
                "claim": c.claim,
                "briefing": c.briefing,
                "measure": f"share {c.measure.replace('_', ' ')}",
                "predicted": c.direction,
                "without": sum(m for m, _ in without) / replications,
                "with": sum(m for m, _ in with_) / replications,
                "effect": d,
                "low": lo,
                "high": hi,
                "exit_effect": ex,
                "exit_low": ex_lo,
                "exit_high": ex_hi,
                "replications": replications,
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame) -> str:
    lines = [
        "| claim | briefing | measure | without | with | effect (95% CI, paired) | predicted | verdict "
        "| effect on exit from special measures |",
        "|---|---|---|---:|---:|---|---|---|---|",
    ]
    for r in table.to_dict("records"):
        exit_effect = (
            f"{r['exit_effect'] * 100:+.1f} pts [{r['exit_low'] * 100:+.1f}, {r['exit_high'] * 100:+.1f}]"
            if "exit_effect" in r
            else ""
        )
        lines.append(
            f'| {r["claim"]} | "{r["briefing"]}" | {r["measure"]} | {r["without"]:.1%} | '
            f"{r['with']:.1%} | {r['effect'] * 100:+.1f} pts [{r['low'] * 100:+.1f}, "
            f"{r['high'] * 100:+.1f}] | {r['predicted']} | **{r['verdict']}** | {exit_effect} |"
        )
    return "\n".join(lines) + "\n"
