"""The browser face: a live teaching demo of buddysim in Mesa's SolaraViz.

Start it with ``buddysim ui`` (binds 127.0.0.1). Each browser session gets its
own model. A scenario picker, sliders for the main levers and a seed field
rebuild the model at once; Step / Play / Reset are Mesa's. The demo runs
about a hundred staff per trust (teams of ten) so it stays smooth; everything
else is the chosen scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import solara
from matplotlib.lines import Line2D
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from .analysis.plots import ORG_COLOURS, ORG_LABELS, OUTCOME_COLOURS
from .model import BuddyingModel
from .run import describe_event
from .scenario import load_scenario

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"
DEMO_STAFF = 100
#: The levers on the sliders: scenario key -> (label, min, max, step)
LEVERS = {
    "leadership.turnover_a": ("Executive turnover in A (per year)", 0.0, 3.0, 0.05),
    "leadership.message_alignment": ("Messaging alignment", 0.0, 1.0, 0.05),
    "system.competition": ("Competition incentives", 0.0, 1.0, 0.05),
    "partnership.engagement_authenticity": ("Engagement authenticity", 0.0, 1.0, 0.05),
    "initiative.simultaneous_changes": ("Simultaneous changes", 0, 10, 1),
}
COLOUR_BY = {
    "Improvement culture": "culture",
    "Trust in partner": "tp",
    "Loyalty to own trust": "loyalty",
    "Trust in own leaders": "tl",
}


def bundled_scenarios() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml")) or ["baseline"]


@dataclass
class DemoSettings:
    """What the controls set: a bundled scenario, lever values and a seed (validated integer)."""

    scenario: str = "baseline"
    levers: dict = field(default_factory=dict)
    union_stance: str | None = None
    seed: int = 1

    def base(self):
        """The chosen bundled scenario (all defaults if its file is gone)."""
        path = SCENARIO_DIR / f"{self.scenario}.toml"
        return load_scenario(path) if path.exists() else load_scenario()

    def with_scenario(self, name: str) -> DemoSettings:
        values = replace(self, scenario=name).base()
        return replace(
            self, scenario=name, levers={k: values[k] for k in LEVERS}, union_stance=values["staff.union_stance"]
        )

    def build(self):
        base = self.base()
        ratio = base["organisations.staff_b"] / base["organisations.staff_a"]
        changes = {
            "organisations.staff_a": DEMO_STAFF,
            "organisations.staff_b": int(round(DEMO_STAFF * min(3.0, max(1 / 3, ratio)))),
            "organisations.team_size": 10,
            **self.levers,
        }
        if self.union_stance:
            changes["staff.union_stance"] = self.union_stance
        return base.replace(changes)


class SettingsBox:
    """One per browser session: the current settings, so that Mesa's Reset rebuilds with what the controls say."""

    def __init__(self, current: DemoSettings | None = None):
        self.current = current if current is not None else DemoSettings().with_scenario("baseline")


class DemoModel(BuddyingModel):
    """BuddyingModel built from the demo's settings; network positions computed once and cached."""

    def __init__(self, settings: SettingsBox | DemoSettings | None = None):
        if isinstance(settings, SettingsBox):
            settings = settings.current
        settings = settings if settings is not None else DemoSettings().with_scenario("baseline")
        super().__init__(settings.build(), settings.seed)
        self.settings = settings
        self.positions = self._layout()

    def _layout(self) -> np.ndarray:
        """Spring layout of each trust's work network, A on the left, B on the right (once per model)."""
        st = self.state
        pos = np.zeros((st.n, 2))
        g = nx.Graph()
        g.add_nodes_from(range(st.n))
        g.add_edges_from(zip(st.e_u.tolist(), st.e_v.tolist()))
        for o, (lo, hi), dx in ((0, (0, self.P.n_a), -1.25), (1, (self.P.n_a, st.n), 1.25)):
            sub = g.subgraph(range(lo, hi))
            layout = nx.spring_layout(sub, seed=o + 1, iterations=60)
            xy = np.array([layout[i] for i in range(lo, hi)])
            xy = (xy - xy.mean(axis=0)) / (np.abs(xy).max() + 1e-9)
            pos[lo:hi] = xy + np.array([dx, 0.0])
        return pos


def _segments(pos: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y of many line segments in one polyline, NaN-separated (one draw call, not one per tie)."""
    gap = np.full(u.size, np.nan)
    return (np.vstack([pos[u, 0], pos[v, 0], gap]).T.ravel(), np.vstack([pos[u, 1], pos[v, 1], gap]).T.ravel())


def _show(fig) -> None:
    fig.tight_layout()
    solara.FigureMatplotlib(fig, format="png", dpi=80)
    plt.close(fig)


# --- components --------------------------------------------------------------------------------------
@solara.component
def OutcomeBanner(model: DemoModel):
    update_counter.get()  # re-render after each step
    t = model.tracker
    week = model.week
    if t.outcome == "bedded_in":
        solara.Success(f"BEDDED IN at week {t.step}: {t.reason}", icon="mdi-handshake")
    elif t.outcome == "failed":
        solara.Error(f"FAILED at week {t.step}: {t.reason}", icon="mdi-close-octagon")
    elif t.bad_run > 0:
        solara.Warning(f"AT RISK (week {week}): trust below the floor for {t.bad_run} of {t.fail_weeks} weeks")
    elif t.good_run > 0:
        solara.Info(f"BEDDING IN (week {week}): above the thresholds for {t.good_run} of {t.bed_weeks} weeks")
    else:
        solara.Info(f"UNDECIDED (week {week}): neither bedding in nor at risk")


@solara.component
def NetworkView(model: DemoModel):
    update_counter.get()  # re-render after each step
    colour_by = solara.use_reactive("Improvement culture")
    solara.ToggleButtonsSingle(value=colour_by, values=list(COLOUR_BY))
    st = model.state
    pos = model.positions
    values = getattr(st, COLOUR_BY[colour_by.value])
    fig, ax = plt.subplots(figsize=(10, 5.2))
    ax.plot(*_segments(pos, st.e_u, st.e_v), color="#bbbbbb", lw=0.5, zorder=1)
    if st.x_u.size:
        ax.plot(*_segments(pos, st.x_u, st.x_v), color="#7570b3", lw=1.8, alpha=0.9, zorder=2)
    sc = ax.scatter(
        pos[:, 0],
        pos[:, 1],
        c=values,
        cmap="viridis",
        vmin=0,
        vmax=1,
        s=36,
        edgecolors=[ORG_COLOURS["ab"[o]] for o in st.org],
        linewidths=0.5,
        zorder=3,
    )
    k = model.P.seats
    for o, dx in ((0, -1.25), (1, 1.25)):
        xs = dx + np.linspace(-0.6, 0.6, k)
        commit = st.l_commit[o * k : (o + 1) * k]
        vacant = st.l_vacant[o * k : (o + 1) * k]
        ax.scatter(
            xs,
            np.full(k, 1.35),
            c=commit,
            cmap="viridis",
            vmin=0,
            vmax=1,
            s=[260 if s == 0 else 160 for s in range(k)],
            marker="s",
            edgecolors=["#d73027" if v else "k" for v in vacant],
            linewidths=2,
            zorder=4,
        )
        ax.text(dx, 1.62, ORG_LABELS["ab"[o]], ha="center", fontsize=12, color=ORG_COLOURS["ab"[o]], fontweight="bold")
    ax.set_xlim(-2.5, 2.5)
    ax.set_ylim(-1.25, 1.8)
    ax.axis("off")
    legend = [
        Line2D(
            [],
            [],
            marker="s",
            color="w",
            markerfacecolor="#999999",
            markeredgecolor="k",
            markersize=12,
            label="executive (CEO largest; red edge = interim); colour = commitment",
        ),
        Line2D(
            [],
            [],
            marker="o",
            color="w",
            markerfacecolor="#999999",
            markersize=7,
            label=f"staff; colour = {colour_by.value.lower()}",
        ),
        Line2D([], [], color="#bbbbbb", lw=1, label="work tie"),
        Line2D([], [], color="#7570b3", lw=2, label=f"cross-organisation tie ({st.x_u.size})"),
    ]
    ax.legend(handles=legend, loc="lower center", ncol=2, fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.12))
    fig.colorbar(sc, ax=ax, fraction=0.025, pad=0.01, label="0-1")
    _show(fig)


@solara.component
def Charts(model: DemoModel):
    update_counter.get()  # re-render after each step
    rec = model.records
    steps = [r["step"] for r in rec]
    panels = [
        ("partner_trust", "Trust in the partner"),
        ("culture", "Improvement culture"),
        ("loyalty", "Loyalty to own trust"),
        ("adoption", "Adoption of the shared method"),
        ("leavers", "Staff leaving per week"),
        ("board_commitment", "Board commitment"),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(12, 5.5), sharex=True)
    horizon = model.P.steps
    for ax, (m, title) in zip(axes.flat, panels):
        for o in "ab":
            ax.plot(steps, [r[f"{m}_{o}"] for r in rec], color=ORG_COLOURS[o], lw=2, label=ORG_LABELS[o])
        ax.set_title(title, fontsize=11)
        ax.set_xlim(0, horizon)
        if m != "leavers":
            ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    t = model.tracker
    axes[0][0].axhline(t.bed_trust, color="k", ls="--", lw=1)
    axes[0][0].axhline(t.floor, color=OUTCOME_COLOURS["failed"], ls=":", lw=1.2)
    axes[1][0].axhline(t.bed_adoption, color="k", ls="--", lw=1)
    axes[1][2].axhline(t.floor, color=OUTCOME_COLOURS["failed"], ls=":", lw=1.2)
    for ax in axes[1]:
        ax.set_xlabel("week")
    axes[0][0].legend(fontsize=8, loc="lower left")
    _show(fig)


@solara.component
def EventLog(model: DemoModel):
    update_counter.get()  # re-render after each step
    events = [e for e in model.events if e["kind"] != "board_meeting_failed"]
    failed_meetings = sum(e["kind"] == "board_meeting_failed" for e in model.events)
    with solara.Card(f"Event log ({len(events)} events; {failed_meetings} failed board meetings)"):
        if not events:
            solara.Text("No events yet: press Step or Play.")
        for e in reversed(events[-14:]):
            solara.Text(describe_event(e))


@solara.component
def Controls(model: solara.Reactive, box: SettingsBox):
    """Scenario picker, levers and seed; any change rebuilds this session's model (a reset)."""
    settings = solara.use_reactive(box.current)
    seed_text = solara.use_reactive(str(box.current.seed))
    seed_error = solara.use_reactive(None)

    def rebuild(new: DemoSettings):
        box.current = new
        settings.value = new
        model.value = DemoModel(box)

    def set_lever(key, value):
        rebuild(replace(settings.value, levers={**settings.value.levers, key: value}))

    def set_seed(text: str):
        seed_text.value = text
        try:
            seed = int(text.strip())
            if not 0 <= seed < 2**63:
                raise ValueError
        except ValueError:
            seed_error.value = f"Seed must be a whole number from 0 to 2^63-1, not {text!r}; the model was not reset."
            return
        seed_error.value = None
        rebuild(replace(settings.value, seed=seed))

    with solara.Card("Scenario and levers"):
        solara.Select(
            label="Scenario",
            values=bundled_scenarios(),
            value=settings.value.scenario,
            on_value=lambda name: rebuild(settings.value.with_scenario(name)),
        )
        for key, (label, lo, hi, step) in LEVERS.items():
            value = settings.value.levers.get(key)
            if isinstance(lo, int):
                solara.SliderInt(
                    label=f"{label}: {int(value)}",
                    value=int(value),
                    min=lo,
                    max=hi,
                    step=step,
                    on_value=lambda v, k=key: set_lever(k, int(v)),
                )
            else:
                solara.SliderFloat(
                    label=f"{label}: {float(value):.2f}",
                    value=float(value),
                    min=lo,
                    max=hi,
                    step=step,
                    on_value=lambda v, k=key: set_lever(k, float(v)),
                )
        solara.Select(
            label="Trade unions",
            values=["excluded", "neutral", "partner"],
            value=settings.value.union_stance or "neutral",
            on_value=lambda v: rebuild(replace(settings.value, union_stance=v)),
        )
        solara.InputText(label="Seed", value=seed_text.value, on_value=set_seed, continuous_update=False)
        if seed_error.value:
            solara.Error(seed_error.value)


@solara.component
def Page():
    # Per browser session: settings and model live in this component's state, never at module level.
    box = solara.use_memo(SettingsBox, [])
    model = solara.use_reactive(solara.use_memo(lambda: DemoModel(box), []))
    with solara.Sidebar():
        Controls(model, box)
    SolaraViz(
        model,
        components=[(OutcomeBanner, 0), (NetworkView, 0), (Charts, 0), (EventLog, 0)],
        model_params={"settings": box},
        name="buddysim: a buddying partnership, live",
        play_interval=150,
    )
