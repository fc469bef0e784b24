"""What the demo's controls set, checked as if it came from a stranger: a scenario, lever values, a seed.

A browser can send any value for any control (a forged slider value of 1e9, a scenario name that is a
path), so every value is checked here against what the control offers before it reaches the model;
a refusal is a :class:`SettingError` with a message fit for the page. Settings also travel in the page's
address (``?scenario=...&seed=...``) so that a reload keeps them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from ..scenario import PARAM_BY_KEY, Scenario, ScenarioError, load_scenario

#: Staff per trust in the demo (A; B keeps the scenario's size ratio, within 1/3-3x): a class can watch it.
DEMO_STAFF = 100
DEMO_TEAM_SIZE = 10
SEED_MAX = 2**63 - 1


@dataclass(frozen=True)
class Lever:
    """A slider: the scenario key it sets, its label, its teaching range and step, and one line of help."""

    key: str
    label: str
    low: float
    high: float
    step: float
    help: str

    @property
    def integer(self) -> bool:
        return PARAM_BY_KEY[self.key].kind is int

    @property
    def unit(self) -> str:
        return PARAM_BY_KEY[self.key].unit

    def show(self, value) -> str:
        """The value as the slider's label shows it (rates with their unit)."""
        text = f"{int(value)}" if self.integer else f"{float(value):.2f}"
        return text + ("/year" if self.unit == "per year" else "")

    def bounds(self, scenario_value=None) -> tuple[float, float]:
        """The slider's ends: the teaching range, widened to take in the scenario's own value."""
        if scenario_value is None:
            return self.low, self.high
        return min(self.low, scenario_value), max(self.high, scenario_value)

    def check(self, value, scenario_value=None) -> float | int:
        """The value as the model wants it, or a SettingError (not a number, not finite, off the slider)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingError(f"{self.label}: expected a number, got {str(value)[:40]!r}; nothing was changed")
        low, high = self.bounds(scenario_value)
        if not math.isfinite(value) or not low <= value <= high:
            raise SettingError(f"{self.label}: {value:g} is off the slider ({low:g} to {high:g}); nothing was changed")
        if self.integer:
            return int(round(value))
        return round(float(value), 6)


LEVERS: tuple[Lever, ...] = (
    Lever(
        "leadership.turnover_a",
        "Executive turnover in A",
        0.0,
        3.0,
        0.05,
        "How often each of A's executives leaves (a year's rate); an interim fills the gap.",
    ),
    Lever(
        "leadership.message_alignment",
        "Messaging alignment",
        0.0,
        1.0,
        0.05,
        "How far the two boards tell staff one story about the partnership (1 = one joint message).",
    ),
    Lever(
        "system.competition",
        "Competition between the trusts",
        0.0,
        1.0,
        0.05,
        "How strongly the system rewards the two trusts for competing (0 = not at all).",
    ),
    Lever(
        "partnership.engagement_authenticity",
        "Engagement authenticity",
        0.0,
        1.0,
        0.05,
        "Staff genuinely involved in the change (1) or consulted for show (0).",
    ),
    Lever(
        "initiative.simultaneous_changes",
        "Simultaneous changes",
        0,
        10,
        1,
        "Other improvement programmes running at once; each adds to staff's change fatigue.",
    ),
)
LEVER_BY_KEY = {lv.key: lv for lv in LEVERS}
UNION_KEY = "staff.union_stance"
UNION_HELP = "Trade unions as partners in the change, neutral, or kept out of it."


def union_choices() -> tuple[str, ...]:
    return tuple(PARAM_BY_KEY[UNION_KEY].choices or ("neutral",))


class SettingError(ValueError):
    """A control's value the demo will not use; the message is shown in the page as it is."""


# --- bundled scenarios -------------------------------------------------------------------------------
def _scenario_folder() -> Path:
    return Path(__file__).resolve().parents[2] / "scenarios"


@lru_cache(maxsize=1)
def bundled_scenarios() -> dict[str, Path]:
    """Name -> file of every bundled scenario (``sim.scenario.bundled_scenarios`` where the package has it)."""
    try:
        from ..scenario import bundled_scenarios as from_package  # the packaged scenarios, when they exist
    except ImportError:
        from_package = None
    if from_package is not None:
        found = dict(from_package())
    else:
        found = {p.stem: p for p in sorted(_scenario_folder().glob("*.toml"))}
    return dict(sorted(found.items()))


@lru_cache(maxsize=64)
def _load(name: str) -> Scenario:
    path = bundled_scenarios().get(name)
    return load_scenario(path) if path is not None else load_scenario()


def scenario_names() -> list[str]:
    return list(bundled_scenarios()) or ["baseline"]


def scenario_question(name: str) -> str:
    """The first line of the scenario file's header comment: the question it asks."""
    try:
        text = _load(name).description
    except ScenarioError:
        return ""
    return text.splitlines()[0].strip() if text else ""


def check_scenario(name) -> str:
    if not isinstance(name, str) or name not in scenario_names():
        raise SettingError(f"Scenario: no bundled scenario called {str(name)[:40]!r}; nothing was changed")
    return name


def check_seed(value) -> int:
    """A seed from the seed box (text) or the address (text) or a lesson (int)."""
    if isinstance(value, bool):
        raise SettingError("Seed must be a whole number from 0 to 2^63-1; the model was not reset.")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"\d{1,19}", text):
            raise SettingError(
                f"Seed must be a whole number from 0 to 2^63-1, not {value[:40]!r}; the model was not reset."
            )
        value = int(text)
    if not isinstance(value, int) or not 0 <= value <= SEED_MAX:
        raise SettingError("Seed must be a whole number from 0 to 2^63-1; the model was not reset.")
    return value


def check_union(value) -> str:
    if value not in union_choices():
        raise SettingError(
            f"Trade unions: expected one of {', '.join(union_choices())}, got {str(value)[:40]!r}; nothing was changed"
        )
    return value


def public_message(exc: BaseException) -> str:
    """An error's message for the page: never a server path (a file's name is enough)."""
    text = str(exc) or type(exc).__name__
    return re.sub(r"(?:[A-Za-z]:)?(?:[\\/][\w.\-+@~ ]+)+[\\/]([\w.\-+@~]+)", r"\1", text)[:300]


# --- one setting of the demo -------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoSettings:
    """A bundled scenario, the levers' values, the unions' stance and a seed: everything a run depends on."""

    scenario: str = "baseline"
    levers: dict = field(default_factory=dict)
    union_stance: str = "neutral"
    seed: int = 1

    @classmethod
    def of(cls, scenario: str = "baseline", seed: int = 1) -> DemoSettings:
        """The scenario with its own lever values."""
        return cls(seed=check_seed(seed)).with_scenario(scenario)

    def base(self) -> Scenario:
        return _load(self.scenario)

    def with_scenario(self, name: str) -> DemoSettings:
        name = check_scenario(name)
        values = _load(name)
        return replace(
            self,
            scenario=name,
            levers={lv.key: values[lv.key] for lv in LEVERS},
            union_stance=values[UNION_KEY],
        )

    def with_lever(self, key: str, value) -> DemoSettings:
        lever = LEVER_BY_KEY.get(key)
        if lever is None:
            raise SettingError(f"no lever called {str(key)[:40]!r}")
        return replace(self, levers={**self.levers, key: lever.check(value, self.base()[key])})

    def with_seed(self, value) -> DemoSettings:
        return replace(self, seed=check_seed(value))

    def with_union(self, value) -> DemoSettings:
        return replace(self, union_stance=check_union(value))

    def lever(self, key: str):
        return self.levers.get(key, self.base()[key])

    def build(self) -> Scenario:
        """The scenario the model runs: the chosen one at classroom size, with the levers applied."""
        base = self.base()
        ratio = base["organisations.staff_b"] / base["organisations.staff_a"]
        changes = {
            "organisations.staff_a": DEMO_STAFF,
            "organisations.staff_b": int(round(DEMO_STAFF * min(3.0, max(1 / 3, ratio)))),
            "organisations.team_size": DEMO_TEAM_SIZE,
            **self.levers,
            UNION_KEY: self.union_stance,
        }
        try:
            return base.replace(changes)
        except ScenarioError as exc:
            raise SettingError(public_message(exc)) from None

    def differences(self, other: DemoSettings) -> list[str]:
        """Plain words for what differs from ``other`` (for the comparison view)."""
        out = []
        if self.scenario != other.scenario:
            out.append(f"scenario {self.scenario}")
        for lv in LEVERS:
            a, b = self.lever(lv.key), other.lever(lv.key)
            if a != b:
                out.append(f"{lv.label.split(' (')[0].lower()} {a:g}")
        if self.union_stance != other.union_stance:
            out.append(f"unions {self.union_stance}")
        return out

    # -- the page's address ------------------------------------------------------------------------
    def to_query(self) -> str:
        base = self.base()
        items = {"scenario": self.scenario, "seed": str(self.seed)}
        for lv in LEVERS:
            if self.lever(lv.key) != base[lv.key]:
                items[lv.key] = f"{self.lever(lv.key):g}"
        if self.union_stance != base[UNION_KEY]:
            items["unions"] = self.union_stance
        return urlencode(items)

    @classmethod
    def from_query(cls, query: str | None, default: DemoSettings) -> tuple[DemoSettings, list[str]]:
        """Settings from an address's query; what cannot be used is skipped and named in the second value."""
        problems: list[str] = []
        if not query:
            return default, problems
        params = dict(parse_qsl(query.lstrip("?"), keep_blank_values=True))
        settings = default
        if "scenario" in params:
            try:
                settings = settings.with_scenario(params["scenario"])
            except SettingError as exc:
                problems.append(str(exc))
        for key, text in params.items():
            try:
                if key == "seed":
                    settings = settings.with_seed(text)
                elif key == "unions":
                    settings = settings.with_union(text)
                elif key in LEVER_BY_KEY:
                    try:
                        number = float(text)
                    except ValueError:
                        number = text
                    settings = settings.with_lever(key, number)
                elif key != "scenario":
                    problems.append(f"the address has an unknown setting {key[:40]!r}; ignored")
            except SettingError as exc:
                problems.append(str(exc))
        return settings, problems
