"""Plain words for the page: the status banner, the event log's lines, the end-of-run message, the About panel.

Nothing here knows the list of outcomes, events or metrics by heart. The banner takes the outcome and the
tracker's reason from the model; while a run is undecided, it names the conditions the outcome tracker
has flagged (its ``crossed_<condition>`` / ``left_<condition>`` events): a condition with ``below`` in
its name is a risk, one with ``above`` is progress. Event kinds and outcomes the page has never heard
of are still shown, in a colour of their own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..analysis.plots import OUTCOME_COLOURS
from ..model.outcomes import OUTCOMES, UNDECIDED
from ..run import describe_event

#: Colours for kinds the page has no colour for: a stable pick by name.
PALETTE = ("#1f78b4", "#6a3d9a", "#b15928", "#33a02c", "#e31a1c", "#ff7f00", "#a6761d", "#666666")
RISK, PROGRESS = "#c2410c", "#1a7f37"


def _stable_colour(name: str) -> str:
    return PALETTE[int(hashlib.md5(name.encode()).hexdigest(), 16) % len(PALETTE)]


def outcome_label(outcome: str) -> str:
    return outcome.replace("_", " ").upper()


def outcome_colour(outcome: str) -> str:
    if outcome in OUTCOME_COLOURS:
        return OUTCOME_COLOURS[outcome]
    low = outcome.lower()
    if any(w in low for w in ("fail", "relapse", "escalat", "withdraw", "dissolv")):
        return OUTCOME_COLOURS.get("failed", "#d73027")
    if any(w in low for w in ("exit", "bedded", "sustain", "success")):
        return "#1b7837"
    return _stable_colour(outcome)


# --- the outcome tracker's flagged conditions ------------------------------------------------------
FLAG_WORDS = {
    "staff_trust_below_floor": "staff's trust in the partner is below the floor",
    "board_below_floor": "board commitment is below the floor",
    "trust_above_bed_in": "trust in the partner is above the bed-in level",
    "adoption_above_bed_in": "adoption of the shared method is above the bed-in level",
}


def flag_words(name: str) -> str:
    return FLAG_WORDS.get(name, name.replace("_", " "))


def active_flags(events) -> dict[str, dict]:
    """Conditions the outcome tracker has flagged and not yet cleared: name -> the event that set it."""
    flags: dict[str, dict] = {}
    for e in events:
        kind = str(e.get("kind", ""))
        if kind.startswith("crossed_"):
            flags[kind[len("crossed_") :]] = e
        elif kind.startswith("left_"):
            flags.pop(kind[len("left_") :], None)
    return flags


def is_risk(flag: str) -> bool:
    return "below" in flag or "risk" in flag


def is_progress(flag: str) -> bool:
    return "above" in flag and not is_risk(flag)


@dataclass(frozen=True)
class Status:
    """The banner: a short headline (the outcome or state), the cause in words, and a colour."""

    headline: str
    detail: str
    colour: str
    kind: str  # the outcome, or "at_risk", "progress", "undecided"


def status(view, scenario=None) -> Status:
    """What the banner says about one run (a :class:`~sim.ui.view.RunView`)."""
    if view.outcome != UNDECIDED:
        detail = view.reason or "the outcome tracker gave no reason"
        return Status(
            f"{outcome_label(view.outcome)} at week {view.outcome_step}",
            detail,
            outcome_colour(view.outcome),
            view.outcome,
        )
    flags = active_flags(view.events)
    risks = {k: e for k, e in flags.items() if is_risk(k)}
    good = {k: e for k, e in flags.items() if is_progress(k)}
    if view.at_horizon:
        detail = "neither bedded in nor failed by the end of the run"
        if risks:
            detail += "; at the end " + "; ".join(flag_words(k) for k in risks)
        return Status(f"UNDECIDED at week {view.week}", detail, OUTCOME_COLOURS.get(UNDECIDED, "#878787"), UNDECIDED)
    if risks:
        parts = [f"{flag_words(k)} ({_since(e)})" for k, e in risks.items()]
        detail = "; ".join(parts)
        weeks = _scenario_value(scenario, "outcome.fail_weeks")
        if weeks is not None:
            detail += f". {weeks} weeks in a row below a floor dissolve the partnership"
        return Status(
            f"AT RISK (week {view.week})", detail + (f". {view.reason}" if view.reason else ""), RISK, "at_risk"
        )
    if good:
        parts = [f"{flag_words(k)} ({_since(e)})" for k, e in good.items()]
        detail = "; ".join(parts)
        weeks = _scenario_value(scenario, "outcome.bed_in_weeks")
        if weeks is not None and len(good) < 2:
            detail += f". Bedding in needs every condition to hold for {weeks} weeks"
        elif weeks is not None:
            detail += f". {weeks} weeks of this and the partnership has bedded in"
        return Status(f"MAKING PROGRESS (week {view.week})", detail, PROGRESS, "progress")
    detail = view.reason or "neither at risk nor near bedding in"
    return Status(f"UNDECIDED (week {view.week})", detail, OUTCOME_COLOURS.get(UNDECIDED, "#878787"), UNDECIDED)


def _since(event: dict) -> str:
    """'since week 33, at 0.28': when a condition was flagged and the tracker's value then."""
    value = event.get("value")
    tail = f", at {value:.2f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
    return f"since week {event.get('step')}{tail}"


def _scenario_value(scenario, key):
    try:
        return scenario[key] if scenario is not None and key in scenario else None
    except (KeyError, TypeError):
        return None


def end_of_run(view) -> str:
    """The message at the horizon."""
    if view.outcome != UNDECIDED:
        result = f"the partnership {outcome_label(view.outcome)} at week {view.outcome_step} ({view.reason})"
    else:
        result = "the partnership neither bedded in nor failed"
    return (
        f"End of the run: week {view.week} of {view.horizon}. In this run {result}. "
        f"Change a lever, the seed or the scenario, or press Reset, to run again."
    )


# --- the event log -----------------------------------------------------------------------------------
EVENT_STYLE = {
    "departure": ("▼", "#b35806"),
    "appointment": ("▲", "#1b7837"),
    "board_meeting_failed": ("✖", "#d73027"),
    "message_conflict": ("⚠", "#7b3294"),
}


@dataclass(frozen=True)
class EventLine:
    week: int
    icon: str
    colour: str
    kind: str
    text: str


def event_style(kind: str) -> tuple[str, str]:
    """Icon and colour for an event kind; kinds not listed get one from their name."""
    if kind in EVENT_STYLE:
        return EVENT_STYLE[kind]
    if kind in OUTCOMES or kind.replace("_", "") in {o.replace("_", "") for o in OUTCOMES}:
        return ("★", outcome_colour(kind))
    if kind.startswith("crossed_"):
        flag = kind[len("crossed_") :]
        return ("⚠", RISK) if is_risk(flag) else ("▲", PROGRESS) if is_progress(flag) else ("●", _stable_colour(flag))
    if kind.startswith("left_"):
        flag = kind[len("left_") :]
        return ("✔", PROGRESS) if is_risk(flag) else ("▼", "#777777")
    low = kind.lower()
    if any(w in low for w in ("fail", "relapse", "escalat", "withdraw", "dissolv")):
        return ("✖", outcome_colour("failed"))
    if any(w in low for w in ("exit", "bedded", "success")):
        return ("★", outcome_colour(kind))
    return ("●", _stable_colour(kind))


def event_text(e: dict) -> str:
    """One event in plain words, without its week (shown in its own column)."""
    kind = str(e.get("kind", "event"))
    if kind.startswith(("crossed_", "left_")):
        crossed = kind.startswith("crossed_")
        flag = kind.split("_", 1)[1]
        value = e.get("value")
        tail = f" ({value:.2f})" if isinstance(value, (int, float)) else ""
        return ("now: " if crossed else "no longer: ") + flag_words(flag) + tail
    if kind in OUTCOMES and e.get("reason"):
        return f"{outcome_label(kind)}: {e['reason']}"
    try:
        text = describe_event({"step": e.get("step", 0), **e, "kind": kind})
    except (KeyError, TypeError, ValueError):
        text = kind.replace("_", " ")
    head, sep, rest = text.partition(": ")
    return rest if sep and head.startswith("week") else text


def event_lines(events, limit: int = 200, hide: tuple = ()) -> list[EventLine]:
    """The latest ``limit`` events, newest first, minus kinds in ``hide``."""
    out = []
    for e in reversed(events):
        kind = str(e.get("kind", "event"))
        if kind in hide:
            continue
        icon, colour = event_style(kind)
        step = e.get("step")
        out.append(EventLine(int(step) if isinstance(step, int) else -1, icon, colour, kind, event_text(e)))
        if len(out) >= limit:
            break
    return out


# --- About this model ---------------------------------------------------------------------------------
OUTCOME_WORDS = {
    "bedded_in": "trust in the partner and use of the shared improvement method stayed high enough in both "
    "trusts, for long enough, that the partnership has become part of how they work.",
    "failed": "staff's trust in the partner, or a board's commitment to the partnership, stayed below a floor "
    "for so long that the partnership was dissolved.",
    "undecided": "neither happened by the end of the run (the horizon).",
    "exited": "the regulator judged that A had improved enough to leave special measures.",
}


def about_markdown(scenario=None) -> str:
    """The About panel in plain words (Markdown), with the outcome thresholds of the current scenario."""
    outcomes = [o for o in OUTCOMES]
    lines = []
    for o in outcomes:
        lines.append(f"- **{outcome_label(o)}**: " + OUTCOME_WORDS.get(o, "see the model's full description."))
    thresholds = []
    for key, words in (
        ("outcome.bed_in_trust", "trust in the partner of at least {v:g}"),
        ("outcome.bed_in_adoption", "adoption of at least {v:g}"),
        ("outcome.bed_in_weeks", "held for {v:g} weeks"),
        ("outcome.fail_floor", "floor {v:g}"),
        ("outcome.fail_weeks", "for {v:g} weeks"),
    ):
        v = _scenario_value(scenario, key)
        if v is not None:
            thresholds.append(words.format(v=v))
    threshold_line = f"In this scenario: {', '.join(thresholds)}." if thresholds else ""
    return f"""
**What you are watching.** Two NHS trusts in a *buddying* partnership. **A** (orange) is a trust in
difficulty, for example one placed in special measures. **B** (green) is a stronger trust asked to help
it, its *buddy*. One step is one week; a run lasts a few years.

**The dots are staff** (about a hundred in each trust here), joined by grey ties to the people they work
with. Each carries, on a scale from 0 to 1: their improvement culture, their trust in the partner trust,
their trust in their own leaders, their loyalty to their own trust and their change fatigue, and whether
they use the shared improvement method. Pick what colours the dots above the network.

**The squares are the executive teams** (the chief executive is the largest), coloured by their
commitment to the partnership. A red edge means the post is held by an interim.

**Purple lines are ties across the partnership**, staff of A and B who work together. They grow with
joint work that goes well and fade without contact.

**How a run ends.**

{chr(10).join(lines)}

{threshold_line}

**The levers** on the left change the situation; each change starts the run again from week 0 with the
same seed, so you see the effect of that lever alone. The **seed** picks one possible history: the same
settings and seed always give the same run; another seed gives another history of the same situation.

**This is a model, not a forecast.** It shows how these mechanisms can play out, under assumptions that
are written down, with their evidence, in the model's full description (the ODD protocol, `docs/ODD.md`).
"""
