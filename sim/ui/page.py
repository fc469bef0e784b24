"""The teaching page (Solara): controls, the live run(s), the banner, the figures, the event log, lessons.

Structure (one browser page = one :class:`~sim.ui.session.Session`):

- ``Page`` catches any error while drawing (an error boundary), so no traceback ever replaces the page;
- ``Demo`` owns the session and the settings, and every control's handler, each of them guarded: a
  value the demo will not use (a forged slider value, a bad seed) is refused with a message in the page,
  anything unexpected is logged on the server (with its traceback) and shown as a short message with
  a reference, never a path;
- ``Live`` owns the latest :class:`~sim.ui.session.Frame` and draws everything that changes while
  playing (the top bar's state, the banner, the figures, the log), so the controls are not redrawn on
  every frame.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import uuid
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path

import reacton.ipyvuetify as rv
import solara

from .draw import (
    CROSS_TIE,
    DEFAULT_PANELS,
    INTERIM_EDGE,
    VIRIDIS,
    WORK_TIE,
    NetworkGeometry,
    chart_geometry,
    charts_base,
    charts_overlay,
    metric_label,
    network_base,
    network_overlay,
    paired_metrics,
)
from .explain import about_markdown, end_of_run, event_lines, status
from .lessons import Lesson, load_lessons
from .session import SPEEDS, Session
from .settings import (
    LEVERS,
    UNION_HELP,
    DemoSettings,
    SettingError,
    public_message,
    scenario_names,
    scenario_question,
    union_choices,
)
from .view import COLOUR_BY
from .widgets import SvgFigure

log = logging.getLogger("sim.ui")
ODD = Path(__file__).resolve().parents[2] / "docs" / "ODD.md"
TITLE = "buddysim: a buddying partnership, live"


# --- messages and guarded handlers ----------------------------------------------------------------
@dataclass(frozen=True)
class Message:
    text: str
    kind: str = "warning"  # warning | error | info


#: What a guarded handler returns when it refused a value (the control then shows its old value again).
REFUSED = object()


def guard(set_message, what: str, fn):
    """``fn`` as a control's handler: refusals become a message, errors are logged and reported briefly."""

    def handler(*args, **kwargs):
        try:
            fn(*args, **kwargs)
            return None
        except SettingError as exc:
            set_message(Message(public_message(exc), "warning"))
        except Exception as exc:  # the page never shows a traceback; the server's log has it
            ref = uuid.uuid4().hex[:6]
            log.exception("error %s while %s", ref, what)
            set_message(
                Message(
                    f"Something went wrong while {what} ({type(exc).__name__}, reference {ref} in the server's log). "
                    f"The demo still works: carry on, or press Reset.",
                    "error",
                )
            )
        return REFUSED

    return handler


@solara.component
def Field(widget, value, on_value, **props):
    """A value control (``rv.Slider``, ``rv.Select``, ``rv.BtnToggle`` ...) whose refused values do not stick.

    The browser's copy of a control holds whatever was sent, even a forged 1e9 that a slider would then
    clamp to its end and send back as a real move. When ``on_value`` refuses (returns ``REFUSED``), the
    control is set back to ``value``; a value equal to ``value`` is no change and is not passed on.
    """
    holder = solara.use_ref(None)

    def handle(new):
        if new == value and type(new) is type(value):
            return
        if on_value(new) is REFUSED and holder.current is not None:
            try:
                solara.get_widget(holder.current).v_model = value
            except Exception:  # the control is gone (a rebuild): nothing to set back
                log.debug("could not reset a refused control", exc_info=True)

    holder.current = widget(v_model=value, on_v_model=handle, **props)
    return holder.current


# --- the page ---------------------------------------------------------------------------------------
@solara.component
def Layout(children=[]):  # noqa: B006 (Solara's signature)
    """No app bar or sidebar: the page lays itself out."""
    solara.Title(TITLE)
    with solara.Div(classes=["bs-root"]) as main:
        for child in children:
            solara.display(child)
    return main


@solara.component
def Page():
    with ErrorBoundary():
        Demo()


@solara.component
def ErrorBoundary(children=[]):  # noqa: B006
    exc, clear = solara.use_exception()
    logged = solara.use_ref(None)
    if exc is not None:
        if logged.current is not exc:
            logged.current = exc
            log.error("error while drawing the page", exc_info=exc)
        with solara.Div(classes=["bs-crash"]):
            solara.Error(
                f"Part of the page could not be drawn ({type(exc).__name__}; the server's log has the details). "
                f"Press Carry on to draw it again; your settings are kept."
            )
            solara.Button("Carry on", on_click=clear, color="primary", classes=["bs-carry-on"])
        return None
    # (a solara.Div here re-renders the failed child for ever; a Column does not)
    return solara.Column(children=children, classes=["bs-contents"], gap="0px")


def initial_settings(query: str | None, lessons: list[Lesson]) -> tuple[DemoSettings, str | None, list[str]]:
    """Settings from the address (``?lesson=id`` or ``?scenario=...&seed=...``), else the first lesson."""
    problems: list[str] = []
    fallback = lessons[0].settings() if lessons else DemoSettings.of("baseline", 1)
    first_lesson = lessons[0].id if lessons else None
    if query:
        params = dict(re.findall(r"([^=&?]+)=([^&]*)", query))
        wanted = params.get("lesson")
        if wanted:
            for lesson in lessons:
                if lesson.id == wanted:
                    return lesson.settings(), lesson.id, problems
            problems.append(f"no lesson called {wanted[:40]!r}")
        if "scenario" in params or "seed" in params:
            settings, problems2 = DemoSettings.from_query(query, DemoSettings.of("baseline", 1))
            return settings, None, problems + problems2
    return fallback, first_lesson, problems


@solara.component
def Demo():
    router = solara.use_router()
    lessons = solara.use_memo(load_lessons, [])

    def start():
        settings, lesson_id, problems = initial_settings(router.search, lessons)
        return Session([settings]), lesson_id, problems

    session, first_lesson, first_problems = solara.use_memo(start, [])
    message, set_message = solara.use_state(Message("; ".join(first_problems)) if first_problems else None)
    settings, set_settings = solara.use_state(session.settings)
    lesson_id, set_lesson_id = solara.use_state(first_lesson)
    editing, set_editing = solara.use_state(0)
    about, set_about = solara.use_state(False)

    def bind_close():
        try:
            from solara.server import kernel_context

            kernel_context.get_current_context().on_close(session.close)
        except Exception:  # not under the Solara server (a test render): the unmount below is enough
            pass
        return session.close

    solara.use_effect(bind_close, [])

    # -- handlers (every one guarded) --------------------------------------------------------------
    def apply(new: list[DemoSettings], lesson: str | None = None):
        session.rebuild(new)
        set_settings(list(new))
        set_lesson_id(lesson)
        set_message(None)
        query = f"lesson={lesson}" if lesson else new[0].to_query()
        if router.search != query:
            router.push(f"?{query}")

    def change(fn):
        """Apply ``fn`` to the setting being edited (1 or 2 when comparing), then rebuild."""
        current = session.settings
        side = min(editing, len(current) - 1)
        updated = list(current)
        updated[side] = fn(current[side])
        apply(updated)

    def on_lesson(lesson_id):
        lesson = next((x for x in lessons if x.id == lesson_id), None)
        if lesson is None:
            raise SettingError(f"Lesson: no lesson called {str(lesson_id)[:40]!r}; nothing was changed")
        new = lesson.settings()
        apply([new] + ([new] if len(session.settings) > 1 else []), lesson.id)

    def on_seed(text):
        seed = DemoSettings().with_seed(text).seed
        apply([s.with_seed(seed) for s in session.settings])

    def on_compare(on):
        current = session.settings
        if on and len(current) == 1:
            apply([current[0], current[0]], lesson_id)
            set_editing(1)
        elif not on and len(current) > 1:
            apply([current[0]], lesson_id)
            set_editing(0)

    def on_editing(index):
        if index not in (0, 1) or isinstance(index, bool):
            raise SettingError("Setting: expected 1 or 2")
        set_editing(index)

    def on_copy():
        current = session.settings
        if len(current) > 1:
            apply([current[0], current[0]], lesson_id)

    handlers = {
        "lesson": guard(set_message, "choosing a lesson", on_lesson),
        "scenario": guard(set_message, "choosing a scenario", lambda v: change(lambda s: s.with_scenario(v))),
        "lever": {
            lv.key: guard(set_message, f"moving {lv.label}", lambda v, k=lv.key: change(lambda s: s.with_lever(k, v)))
            for lv in LEVERS
        },
        "union": guard(set_message, "choosing the unions' stance", lambda v: change(lambda s: s.with_union(v))),
        "seed": guard(set_message, "setting the seed", on_seed),
        "compare": guard(set_message, "switching the comparison", on_compare),
        "copy": guard(set_message, "copying setting 1", on_copy),
        "editing": guard(set_message, "choosing a setting", on_editing),
        "about": guard(set_message, "opening About", lambda: set_about(True)),
    }

    solara.Style(CSS)
    with solara.Div(classes=["bs-app"]):
        Controls(settings, editing, lessons, lesson_id, handlers)
        Live(session, settings, lessons, lesson_id, message, set_message, handlers)
    About(about, set_about, settings[0])


# --- the controls (left) ------------------------------------------------------------------------------
def help_line(text: str, cls: str = ""):
    solara.Div(children=[text], classes=["bs-help", cls] if cls else ["bs-help"], attributes={"title": text})


def select(label, value, items, on_value, help, cls):
    with solara.Div(classes=["bs-control", cls]).key(cls):
        Field(
            rv.Select,
            value,
            on_value,
            label=label,
            items=items,
            dense=True,
            outlined=True,
            hide_details=True,
            attributes={"title": help},
        )
        help_line(help)


@solara.component
def Controls(settings: list, editing: int, lessons: list, lesson_id, handlers: dict):
    side = min(editing, len(settings) - 1)
    current = settings[side]
    base = current.base()
    with solara.Div(classes=["bs-controls"]):
        with solara.Div(classes=["bs-head"]):
            solara.Div(children=["buddysim"], classes=["bs-title"])
            solara.Button(
                "About this model",
                on_click=handlers["about"],
                text=True,
                color="primary",
                classes=["bs-about-button"],
                attributes={"title": "What the model is, what you see, how a run ends (plain words)"},
            )
        if lessons:
            items = [{"text": x.title, "value": x.id} for x in lessons]
            select(
                "Lesson",
                lesson_id,
                items,
                handlers["lesson"],
                "A prepared demonstration: scenario, seed and what to watch.",
                "bs-lesson",
            )
        if len(settings) > 1:
            with solara.Div(classes=["bs-control", "bs-editing"]).key("editing"):
                with solara.Row(gap="6px"):
                    Field(
                        rv.BtnToggle,
                        side,
                        handlers["editing"],
                        mandatory=True,
                        dense=True,
                        children=[
                            rv.Btn(children=["1 (solid)"], class_="bs-side1", small=True),
                            rv.Btn(children=["2 (dashed)"], class_="bs-side2", small=True),
                        ],
                    )
                    solara.Button(
                        "copy 1 → 2",
                        on_click=handlers["copy"],
                        outlined=True,
                        classes=["bs-copy"],
                        attributes={"title": "Make setting 2 the same as setting 1"},
                    )
                help_line("Edit setting 1 or 2 below; both share the seed.")
        select(
            "Scenario",
            current.scenario,
            [{"text": name.replace("_", " "), "value": name} for name in scenario_names()],
            handlers["scenario"],
            scenario_question(current.scenario) or "A starting situation; choosing one resets the levers.",
            "bs-scenario",
        )
        for lv in LEVERS:
            value = current.lever(lv.key)
            low, high = lv.bounds(base[lv.key])
            shown = lv.show(value)
            with solara.Div(classes=["bs-control", "bs-lever"], attributes={"data-key": lv.key}).key(f"lever-{lv.key}"):
                solara.Div(children=[f"{lv.label}: {shown}"], classes=["bs-lever-label"])
                Field(
                    rv.Slider,
                    value,
                    handlers["lever"][lv.key],
                    min=low,
                    max=high,
                    step=lv.step,
                    dense=True,
                    hide_details=True,
                    attributes={"title": lv.help, "aria-label": lv.label},
                )
                help_line(lv.help)
        select("Trade unions", current.union_stance, list(union_choices()), handlers["union"], UNION_HELP, "bs-unions")
        SeedField(current.seed, handlers["seed"]).key("seed")


@solara.component
def SeedField(seed: int, on_seed):
    """The seed box: applied as typed (a whole number starts the run again), refused in place otherwise."""
    text, set_text = solara.use_state(str(seed))
    error, set_error = solara.use_state("")
    shown = solara.use_ref(seed)
    if shown.current != seed:  # a lesson or the address changed the seed
        shown.current = seed
        if text != str(seed):
            set_text(str(seed))
            set_error("")

    def on_text(value):
        value = "" if value is None else str(value)
        set_text(value)
        try:
            new = DemoSettings().with_seed(value).seed
        except SettingError as exc:
            set_error(str(exc))
            return
        set_error("")
        if new != seed:
            on_seed(value)

    with solara.Div(classes=["bs-control", "bs-seed"]):
        rv.TextField(
            label="Seed",
            v_model=text,
            on_v_model=on_text,
            dense=True,
            error_messages=[error] if error else [],
            hide_details="auto",
            attributes={"title": "The dice: same seed and settings, same run"},
        )
        help_line("Same seed and settings, same run; another seed, another possible history.")


# --- the live part: top bar, banner, figures, log -------------------------------------------------------
@solara.component
def Live(session: Session, settings: list, lessons: list, lesson_id, message, set_message, handlers: dict):
    first = solara.use_memo(session.frame, [session])
    frame, set_frame = solara.use_state(first)
    speed, set_speed = solara.use_state(session.speed)
    stop_at_outcome, set_stop = solara.use_state(session.pause_at_outcome)
    colour_by, set_colour_by = solara.use_state(next(iter(COLOUR_BY)))
    exports, set_exports = solara.use_state((0, 0))
    hidden, set_hidden = solara.use_state(frozenset())

    def bind():
        session.on_frame = set_frame
        set_frame(session.frame())

        def unbind():
            if session.on_frame is set_frame:
                session.on_frame = None

        return unbind

    solara.use_effect(bind, [session])

    def on_speed(index):
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(SPEEDS):
            raise SettingError(f"Speed: expected one of {', '.join(map(str, SPEEDS))} weeks per second")
        session.set_speed(SPEEDS[index])
        set_speed(SPEEDS[index])

    def on_stop(value):
        session.pause_at_outcome = bool(value)
        set_stop(bool(value))

    def on_hide(kind):
        set_hidden(hidden - {kind} if kind in hidden else hidden | {kind})

    def on_colour(label):
        if label not in COLOUR_BY:
            raise SettingError(f"Colour staff by: expected one of {', '.join(COLOUR_BY)}")
        set_colour_by(label)

    act = {
        "reset": guard(set_message, "resetting", session.reset),
        "step": guard(set_message, "stepping", session.step),
        "play": guard(set_message, "playing", session.toggle),
        "speed": guard(set_message, "setting the speed", on_speed),
        "stop": guard(set_message, "setting Stop at outcome", on_stop),
        "colour": guard(set_message, "choosing the colours", on_colour),
        "hide": guard(set_message, "filtering the log", on_hide),
        "export_charts": guard(set_message, "exporting the charts", lambda: set_exports((exports[0] + 1, exports[1]))),
        "export_network": guard(
            set_message, "exporting the network", lambda: set_exports((exports[0], exports[1] + 1))
        ),
    }
    scenarios = solara.use_memo(lambda: [s.build() for s in settings], [settings])
    views = frame.views
    at_horizon = bool(views) and all(v.at_horizon for v in views)
    week = max((v.week for v in views), default=0)
    horizon = max((v.horizon for v in views), default=0)
    comparing = len(settings) > 1

    with solara.Div(classes=["bs-live"]):
        # top bar
        with solara.Div(classes=["bs-top"]).key("top"):
            solara.Button(
                "↺ Reset",
                on_click=act["reset"],
                outlined=True,
                classes=["bs-reset"],
                attributes={"title": "Back to week 0 with the same settings and seed"},
            )
            solara.Button(
                "Step ›",
                on_click=act["step"],
                disabled=frame.playing or at_horizon,
                color="primary",
                outlined=True,
                classes=["bs-step"],
                attributes={"title": "Advance one week"},
            )
            solara.Button(
                "❚❚ Pause" if frame.playing else "▶ Play",
                on_click=act["play"],
                disabled=at_horizon and not frame.playing,
                color="primary",
                classes=["bs-play"],
                attributes={"title": "Run week after week until the end (or the outcome); press again to pause"},
            )
            with solara.Div(classes=["bs-speed-box"], attributes={"title": "Weeks simulated per second while playing"}):
                solara.Div(children=["weeks/s"], classes=["bs-speed-label"])
                Field(
                    rv.BtnToggle,
                    SPEEDS.index(speed),
                    act["speed"],
                    mandatory=True,
                    dense=True,
                    class_="bs-speed",
                    children=[rv.Btn(children=[str(x)], small=False) for x in SPEEDS],
                )
            solara.Div(
                children=[f"Week {week} of {horizon}"],
                classes=["bs-week"],
                attributes={"title": "Weeks simulated so far, of the run's horizon"},
            )
            with solara.Div(classes=["bs-top-right"]):
                solara.Button(
                    "Compare",
                    on_click=lambda: handlers["compare"](not comparing),
                    outlined=not comparing,
                    color="primary",
                    classes=["bs-compare"],
                    attributes={"title": "Run two settings side by side, same seed: change a lever in one of them"},
                )
                solara.Button(
                    "Stop at outcome",
                    on_click=lambda: act["stop"](not stop_at_outcome),
                    outlined=not stop_at_outcome,
                    color="primary",
                    classes=["bs-stop-at-outcome"],
                    attributes={
                        "title": "Pause playing when the partnership beds in, fails or meets any other outcome"
                    },
                )

        with solara.Div(classes=["bs-main"]).key("main"):
            if message is not None:
                with solara.Div(classes=["bs-message", f"bs-message-{message.kind}"]).key("message"):
                    solara.Div(children=[message.text], classes=["bs-message-text"])
                    solara.Button("✕", on_click=lambda: set_message(None), text=True, classes=["bs-message-close"])
            if frame.released or not views:
                with solara.Div(classes=["bs-message", "bs-message-info", "bs-released"]).key("released"):
                    solara.Div(
                        children=[
                            "This page was idle, so its model was put away to save the server's memory. "
                            "Press Reset, Step or Play to start again with the same settings."
                        ]
                    )
                return
            Banner(views, scenarios).key("banner")
            if at_horizon:
                with solara.Div(classes=["bs-message", "bs-message-info", "bs-end"]).key("end"):
                    for k, v in enumerate(views):
                        prefix = f"Setting {k + 1}: " if comparing else ""
                        solara.Div(children=[prefix + end_of_run(v)])
            elif frame.paused_reason == "outcome":
                with solara.Div(classes=["bs-message", "bs-message-info", "bs-paused"]).key("paused"):
                    solara.Div(children=[f"Paused at the outcome (week {week}). Play carries on to week {horizon}."])
            elif frame.paused_reason == "error":
                with solara.Div(classes=["bs-message", "bs-message-error"]).key("play-error"):
                    solara.Div(children=["Playing stopped because of an error (the server's log has it). Press Reset."])
            with solara.Div(classes=["bs-figures"]).key("figures"):
                with solara.Div(classes=["bs-network-col"]):
                    with solara.Div(classes=["bs-network-head"]):
                        Field(
                            rv.Select,
                            colour_by,
                            act["colour"],
                            label="Colour staff by",
                            items=list(COLOUR_BY),
                            dense=True,
                            outlined=True,
                            hide_details=True,
                            class_="bs-colour-by",
                            attributes={"title": "What the colour of each staff dot shows (0 to 1)"},
                        )
                    for k, v in enumerate(views):
                        if comparing:
                            diff = settings[k].differences(settings[1 - k]) if k < len(settings) else []
                            caption = f"Setting {k + 1} ({'solid' if k == 0 else 'dashed'} lines)" + (
                                f": {', '.join(diff)}" if diff else ": same as the other"
                            )
                            solara.Div(children=[caption], classes=["bs-network-caption"]).key(f"caption-{k}")
                        NetworkFigure(v, COLOUR_BY[colour_by], exports[1] if k == 0 else 0, f"network-{k + 1}.png").key(
                            f"network-{k}"
                        )
                    NetworkLegend(colour_by, views[0]).key("legend")
                with solara.Div(classes=["bs-charts-col"]):
                    ChartsFigure(views, scenarios[0], exports[0])
                    ChartLegend(comparing)
        with solara.Div(classes=["bs-below"]).key("below"):
            with solara.Div(classes=["bs-export"]).key("export"):
                solara.Div(children=["Export:"], classes=["bs-export-label"])
                solara.Button(
                    "Charts (PNG)",
                    on_click=act["export_charts"],
                    outlined=True,
                    classes=["bs-export-charts"],
                    attributes={"title": "Download the charts as shown, as a PNG image"},
                )
                solara.Button(
                    "Network (PNG)",
                    on_click=act["export_network"],
                    outlined=True,
                    classes=["bs-export-network"],
                    attributes={"title": "Download the network as shown, as a PNG image"},
                )
                solara.FileDownload(
                    lambda: series_csv(views, settings),
                    filename="buddysim_series.csv",
                    label="Series (CSV)",
                    mime_type="text/csv",
                )
            lesson = next((x for x in lessons if x.id == lesson_id), None)
            if lesson is not None:
                with solara.Div(classes=["bs-lesson-card"]).key("lesson"):
                    solara.Div(children=[f"Lesson: {lesson.title}"], classes=["bs-lesson-title"])
                    solara.Div(children=[lesson.watch], classes=["bs-lesson-watch"])
                    solara.Div(children=[lesson.summary()], classes=["bs-lesson-summary"])
            with solara.Div(classes=["bs-logs"]).key("logs"):
                for k, v in enumerate(views):
                    EventLog(v, f"Setting {k + 1}: " if comparing else "", hidden, act["hide"])


@solara.component
def Banner(views, scenarios):
    with solara.Div(classes=["bs-banners"]):
        for k, v in enumerate(views):
            st = status(v, scenarios[k] if k < len(scenarios) else None)
            tag = f"{k + 1}: " if len(views) > 1 else ""
            with solara.Div(
                classes=["bs-banner", f"bs-status-{st.kind}"],
                style={"border-left-color": st.colour, "background": st.colour + "1f"},
            ):
                solara.Div(
                    children=[tag + st.headline],
                    classes=["bs-headline"],
                    style={"color": "#444444" if st.kind == "undecided" else st.colour},
                )
                solara.Div(children=[st.detail], classes=["bs-detail"], attributes={"title": st.detail})


# --- figures ------------------------------------------------------------------------------------------
def font_px(viewport_w: int) -> int:
    """Chart text in CSS pixels: 14 up to a 1600-pixel-wide window, 16 up to 2200, then 18."""
    return 14 if viewport_w < 1600 else 16 if viewport_w < 2200 else 18


@solara.component
def NetworkFigure(view, colour_attr: str, export_request: int, filename: str):
    box, set_box = solara.use_state((0, 0, 0))
    w, h, vw = box
    fs = font_px(vw)
    geo = NetworkGeometry(w, h, fs) if w and h else None
    base = solara.use_memo(lambda: network_base(view.structure, geo) if geo else "", [view.structure, geo])
    overlay = network_overlay(view, geo, colour_attr) if geo else ""
    with solara.Div(classes=["bs-figure", "bs-network"]):
        SvgFigure.element(
            base=base,
            overlay=overlay,
            view_w=w,
            view_h=h,
            font_px=fs,
            css_class="bs-network-svg",
            label="The two trusts' staff networks",
            filename=filename,
            export_request=export_request,
            on_box_w=lambda x: set_box(lambda b: (x, b[1], b[2])),
            on_box_h=lambda y: set_box(lambda b: (b[0], y, b[2])),
            on_viewport_w=lambda x: set_box(lambda b: (b[0], b[1], x)),
        )


@solara.component
def NetworkLegend(colour_by: str, view):
    gradient = ", ".join(VIRIDIS[i] for i in range(0, 256, 32)) + f", {VIRIDIS[255]}"
    crossings = int(view.x_u.size)
    html = f"""
<div class="bs-legend-row">
  <span class="bs-key"><span class="bs-sq" style="border-color:#222"></span>executives (chief executive largest),
  colour = commitment</span>
  <span class="bs-key"><span class="bs-sq" style="border-color:{INTERIM_EDGE};border-width:3px"></span>interim</span>
</div>
<div class="bs-legend-row">
  <span class="bs-key"><span class="bs-dot"></span>staff, colour = {escape(colour_by.lower())}</span>
  <span class="bs-key"><span class="bs-line" style="background:{WORK_TIE}"></span>work tie</span>
  <span class="bs-key"><span class="bs-line" style="background:{CROSS_TIE};height:3px"></span>tie across the
  partnership ({crossings})</span>
  <span class="bs-key">0 <span class="bs-bar" style="background:linear-gradient(to right, {gradient})"></span> 1</span>
</div>"""
    solara.HTML(tag="div", unsafe_innerHTML=html, classes=["bs-legend", "bs-network-legend"])


@solara.component
def ChartsFigure(views, scenario, export_request: int):
    box, set_box = solara.use_state((0, 0, 0))
    w, h, vw = box
    fs = font_px(vw)
    names = paired_metrics(views[0].series)
    panels = [m for m in DEFAULT_PANELS if m in names] or names[:6]
    if h and h < 18 * fs:  # a very short box: the four charts nearest the outcome
        panels = panels[:4]
    horizon = max(v.horizon for v in views)
    geo = chart_geometry(w, h, fs, panels, horizon, list(views), scenario) if w and h else None
    base = solara.use_memo(lambda: charts_base(geo) if geo else "", [geo])
    overlay = charts_overlay(list(views), geo) if geo else ""
    with solara.Div(classes=["bs-figure", "bs-charts"]):
        SvgFigure.element(
            base=base,
            overlay=overlay,
            view_w=w,
            view_h=h,
            font_px=fs,
            css_class="bs-charts-svg",
            label="Charts: " + ", ".join(metric_label(p) for p in panels),
            filename="buddysim_charts.png",
            export_request=export_request,
            on_box_w=lambda x: set_box(lambda b: (x, b[1], b[2])),
            on_box_h=lambda y: set_box(lambda b: (b[0], y, b[2])),
            on_viewport_w=lambda x: set_box(lambda b: (b[0], b[1], x)),
        )


@solara.component
def ChartLegend(comparing: bool):
    from ..analysis.plots import ORG_COLOURS, ORG_LABELS

    keys = [
        f'<span class="bs-key"><span class="bs-line" style="background:{ORG_COLOURS[o]};height:3px"></span>'
        f"{escape(ORG_LABELS[o])}</span>"
        for o in "ab"
    ]
    keys.append(
        '<span class="bs-key"><span class="bs-line bs-dashed" style="border-color:#000"></span>bed-in level</span>'
    )
    keys.append('<span class="bs-key"><span class="bs-line bs-dotted" style="border-color:#d73027"></span>floor</span>')
    if comparing:
        keys.append('<span class="bs-key">solid = setting 1, dashed = setting 2</span>')
    solara.HTML(tag="div", unsafe_innerHTML=f'<div class="bs-legend-row">{"".join(keys)}</div>', classes=["bs-legend"])


# --- the event log ------------------------------------------------------------------------------------
@solara.component
def EventLog(view, prefix: str, hidden: frozenset, on_hide):
    n = len(view.events)
    lines = solara.use_memo(lambda: event_lines(view.events, limit=10_000), [n, view.structure])
    counts: dict[str, tuple[int, str, str]] = {}
    for line in lines:
        c = counts.get(line.kind)
        counts[line.kind] = (1 + (c[0] if c else 0), line.icon, line.colour)
    shown = [x for x in lines if x.kind not in hidden][:150]
    with solara.Div(classes=["bs-log"]):
        solara.Div(children=[f"{prefix}Event log ({n} events; newest first)"], classes=["bs-log-title"])
        with solara.Div(classes=["bs-log-kinds"]):
            for kind, (count, icon, colour) in sorted(counts.items()):
                solara.Button(
                    f"{icon} {kind.replace('_', ' ')} ({count})",
                    on_click=lambda k=kind: on_hide(k),
                    text=kind in hidden,
                    outlined=kind not in hidden,
                    classes=["bs-kind"],
                    style={"color": colour},
                    attributes={"title": ("Show" if kind in hidden else "Hide") + " these events"},
                )
        if not lines:
            solara.Div(children=["No events yet: press Step or Play."], classes=["bs-log-empty"])
        rows = "".join(
            f'<div class="bs-event" data-kind="{escape(x.kind)}"><span class="bs-event-week">week {x.week}</span>'
            f'<span class="bs-event-icon" style="color:{x.colour}">{escape(x.icon)}</span>'
            f'<span class="bs-event-text">{escape(x.text)}</span></div>'
            for x in shown
        )
        solara.HTML(tag="div", unsafe_innerHTML=rows, classes=["bs-events"])


# --- About ----------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _odd_html() -> str:
    from markdown_it import MarkdownIt

    try:
        text = ODD.read_text(encoding="utf-8")
    except OSError:
        return "<p>The model description is the file docs/ODD.md of buddysim's source.</p>"
    return MarkdownIt("commonmark").enable("table").render(text)


@lru_cache(maxsize=8)
def _markdown(text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").render(text)


@solara.component
def About(open_: bool, set_open, settings: DemoSettings):
    show_odd, set_show_odd = solara.use_state(False)
    if not open_:
        return
    with (
        rv.Dialog(v_model=open_, on_v_model=set_open, max_width="980px", scrollable=True),
        rv.Card(class_="bs-about"),
    ):
        rv.CardTitle(children=["About this model"])
        with rv.CardText():
            solara.HTML(
                tag="div", unsafe_innerHTML=_markdown(about_markdown(settings.build())), classes=["bs-about-text"]
            )
            solara.Button(
                "Hide the full description" if show_odd else "Read the full description (docs/ODD.md)",
                on_click=lambda: set_show_odd(not show_odd),
                outlined=True,
                color="primary",
                classes=["bs-odd-button"],
            )
            if show_odd:
                solara.HTML(tag="div", unsafe_innerHTML=_odd_html(), classes=["bs-odd"])
        with rv.CardActions():
            solara.Button("Close", on_click=lambda: set_open(False), color="primary", classes=["bs-about-close"])


# --- CSV --------------------------------------------------------------------------------------------------
def series_csv(views, settings) -> str:
    """Every metric of every week of every run shown, one row per run and week."""
    out = io.StringIO()
    names = sorted({k for v in views for k in v.series})
    writer = csv.writer(out)
    writer.writerow(["setting", "scenario", "seed", "week", *names, "outcome", "outcome_week"])
    for k, v in enumerate(views):
        s = settings[k] if k < len(settings) else settings[0]
        for i, week in enumerate(v.weeks.tolist()):
            row = [k + 1, s.scenario, s.seed, int(week)]
            for name in names:
                values = v.series.get(name)
                x = values[i] if values is not None and i < values.size else float("nan")
                row.append("" if x != x else f"{x:.6g}")
            writer.writerow([*row, v.outcome, "" if v.outcome_step is None else v.outcome_step])
    return out.getvalue()


CSS = (Path(__file__).with_name("page.css")).read_text()
