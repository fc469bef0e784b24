"""The teaching page's parts without a browser: settings from strangers, the play clock, the words, the figures.

The browser tests (tests/test_ui.py) drive the whole page in Chromium; these pin each part's rules with
real models and real threads, fast.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.model import BuddyingModel
from sim.model.outcomes import OUTCOMES, UNDECIDED
from sim.ui import draw, explain, lessons, server
from sim.ui.session import SPEEDS, Run, Session
from sim.ui.settings import LEVERS, DemoSettings, SettingError, public_message, scenario_names
from sim.ui.view import COLOUR_BY

BASE = DemoSettings.of("baseline", 3)


# --- settings -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [1e9, -1.0, float("nan"), float("inf"), "0.5", True, None, [0.5]])
def test_a_forged_lever_value_is_refused_with_a_message(bad):
    with pytest.raises(SettingError) as exc:
        BASE.with_lever("leadership.message_alignment", bad)
    assert "Messaging alignment" in str(exc.value) and "nothing was changed" in str(exc.value)


def test_a_lever_in_range_is_taken_and_integers_stay_integers():
    s = BASE.with_lever("leadership.message_alignment", 0.85).with_lever("initiative.simultaneous_changes", 7.0)
    assert s.lever("leadership.message_alignment") == 0.85
    assert s.lever("initiative.simultaneous_changes") == 7 and isinstance(
        s.build()["initiative.simultaneous_changes"], int
    )
    assert s.build()["organisations.staff_a"] == 100  # classroom size whatever the scenario


@pytest.mark.parametrize("name", ["../../etc/passwd", "/work/scenarios/baseline", "", None, 3, "BASELINE"])
def test_only_bundled_scenarios_are_accepted(name):
    with pytest.raises(SettingError):
        BASE.with_scenario(name)


@pytest.mark.parametrize("seed", ["twelve", "-1", "1.5", "9" * 20, str(2**63), "", True, -3, 2**63])
def test_bad_seeds_are_refused(seed):
    with pytest.raises(SettingError, match="Seed must be a whole number"):
        BASE.with_seed(seed)


def test_choosing_a_scenario_takes_its_lever_values():
    s = BASE.with_scenario("high_competition")
    assert s.lever("system.competition") == s.base()["system.competition"] == 0.9


@given(
    scenario=st.sampled_from(scenario_names()),
    seed=st.integers(0, 2**63 - 1),
    moves=st.lists(st.tuples(st.sampled_from(LEVERS), st.floats(0, 1)), max_size=4),
    union=st.sampled_from(["partner", "neutral", "excluded"]),
)
def test_settings_survive_the_address_bar(scenario, seed, moves, union):
    s = DemoSettings.of(scenario, seed).with_union(union)
    for lever, frac in moves:
        low, high = lever.bounds(s.base()[lever.key])
        value = low + frac * (high - low)
        value = round(value / lever.step) * lever.step if lever.integer else round(value, 2)
        s = s.with_lever(lever.key, min(max(value, low), high))
    back, problems = DemoSettings.from_query(s.to_query(), DemoSettings.of("baseline", 1))
    assert problems == []
    assert back == s


def test_a_forged_address_keeps_what_it_can_and_says_what_it_dropped():
    back, problems = DemoSettings.from_query(
        "scenario=high_competition&seed=7&system.competition=1e9&unions=bosses&evil=1", DemoSettings.of("baseline", 1)
    )
    assert back.scenario == "high_competition" and back.seed == 7
    assert back.lever("system.competition") == 0.9
    assert len(problems) == 3 and any("off the slider" in p for p in problems)


def test_messages_for_the_page_carry_no_server_paths():
    msg = public_message(ValueError("/work/wt/ui/scenarios/x.toml: run.steps: bad; see /usr/lib/python3/foo.py"))
    assert "/work" not in msg and "/usr" not in msg and "x.toml" in msg and "foo.py" in msg


# --- the session: stepping, playing, the horizon --------------------------------------------------------
def test_step_never_passes_the_horizon():
    s = Session([BASE])
    try:
        frame = s.step(10_000)
        view = frame.views[0]
        assert view.week == view.horizon == s.runs[0].model.P.steps
        assert s.step(5).views[0].week == view.horizon
        assert len(s.runs[0].model.records) == view.horizon + 1
    finally:
        s.close()


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_play_runs_to_the_horizon_and_stops_there():
    frames = []
    s = Session([BASE], on_frame=frames.append)
    s.pause_at_outcome = False
    s.speed = 400  # weeks per second: the clock, not the page, is under test here
    try:
        s.play()
        # the last frame, not `s.playing`: the play thread clears `playing` a moment before it publishes it
        assert wait_for(lambda: frames and not frames[-1].playing) and not s.playing
        horizon = s.runs[0].model.P.steps
        assert s.runs[0].model.week == horizon
        assert frames[-1].views[0].week == horizon and frames[-1].paused_reason == "horizon"
        weeks = [f.views[0].week for f in frames]
        assert weeks == sorted(weeks)  # frames in order
        s.play()  # at the horizon, Play does nothing
        assert not s.playing and s.runs[0].model.week == horizon
    finally:
        s.close()


def test_play_keeps_its_speed_by_skipping_frames_when_drawing_is_slow():
    drawn = []

    def slow_draw(frame):
        drawn.append(frame.views[0].week)
        time.sleep(0.25)  # a page that needs a quarter of a second per frame

    s = Session([BASE], on_frame=slow_draw)
    s.pause_at_outcome = False
    s.speed = 50
    try:
        t0 = time.monotonic()
        s.play()
        time.sleep(2.0)
        s.pause()
        week = s.runs[0].model.week
        elapsed = time.monotonic() - t0
        assert week >= 0.6 * 50 * min(elapsed, 2.0)  # the model kept (most of) its speed ...
        assert len(drawn) < week / 2  # ... while most weeks were never drawn
    finally:
        s.close()


def test_play_stops_when_the_outcome_is_decided_if_asked():
    lesson = lessons.load_lessons()[0]
    frames = []
    s = Session([lesson.settings()], on_frame=frames.append)
    s.speed = 400
    try:
        s.play()
        assert wait_for(lambda: frames and not frames[-1].playing) and not s.playing  # (as above)
        assert s.runs[0].model.week == lesson.outcome_week
        assert frames[-1].paused_reason == "outcome" and frames[-1].views[0].outcome == lesson.outcome
    finally:
        s.close()


def test_drawing_while_playing_at_full_speed_never_sees_a_half_made_week():
    """The old page crashed when it drew series whose length changed under it; frames are copies now."""
    s = Session([BASE, BASE.with_lever("system.competition", 0.9)])
    s.pause_at_outcome = False
    s.speed = 1000
    errors = []
    geo = draw.NetworkGeometry(600, 400, 14)

    def reader():
        while s.playing:
            try:
                frame = s.frame()
                for view in frame.views:
                    assert all(len(v) == len(view.weeks) for v in view.series.values())
                    draw.network_overlay(view, geo, "culture")
                cg = draw.chart_geometry(700, 500, 14, draw.DEFAULT_PANELS, 156, list(frame.views), None)
                draw.charts_overlay(list(frame.views), cg)
            except Exception as exc:  # pragma: no cover - the failure being tested for
                errors.append(exc)

    try:
        s.play()
        threads = [threading.Thread(target=reader) for _ in range(2)]
        for t in threads:
            t.start()
        assert wait_for(lambda: not s.playing)
        for t in threads:
            t.join()
        assert errors == []
    finally:
        s.close()


def test_a_view_is_a_copy_the_model_cannot_change():
    run = Run.build(BASE)
    view = run.view()
    culture = view.staff["culture"].copy()
    for _ in range(20):
        run.step()
    assert view.week == 0 and np.array_equal(view.staff["culture"], culture)
    assert all(v.size == 1 for v in view.series.values())


def test_any_change_rebuilds_at_week_zero_and_stops_play():
    s = Session([BASE])
    s.speed = 5
    try:
        s.play()
        assert wait_for(lambda: s.runs[0].model.week >= 1)
        frame = s.rebuild([BASE.with_lever("system.competition", 0.1)])
        assert not s.playing and frame.views[0].week == 0
        assert s.runs[0].settings.lever("system.competition") == 0.1
    finally:
        s.close()


def test_speeds_are_checked():
    s = Session([BASE])
    try:
        for bad in (0, -5, 1e9, "fast", None):
            with pytest.raises(SettingError):
                s.set_speed(bad)
        s.set_speed(SPEEDS[-1])
        assert s.speed == SPEEDS[-1]
    finally:
        s.close()


def test_an_idle_session_lets_its_models_go_and_any_control_brings_them_back():
    frames = []
    s = Session([BASE], on_frame=frames.append, idle_seconds=0.3)
    try:
        s.step(3)
        assert wait_for(lambda: frames and frames[-1].released, timeout=10)  # published just after the release
        assert s.released and s.runs == [] and frames[-1].views == ()
        frame = s.step()
        assert not s.released and frame.views[0].week == 1  # rebuilt from the same settings, then stepped
        assert s.runs[0].settings == BASE
    finally:
        s.close()


def test_a_closed_session_stops_its_threads_and_drops_its_models():
    before = threading.active_count()
    s = Session([BASE])
    s.speed = 5
    s.play()
    s.close()
    assert s.runs == [] and not s.playing
    assert wait_for(lambda: threading.active_count() <= before, timeout=10)
    s.play()
    assert not s.playing


# --- words: banner, log, About ----------------------------------------------------------------------------
def view_with(events, outcome=UNDECIDED, step=None, reason="", week=40, horizon=156):
    run = Run.build(BASE)
    v = run.view()
    from dataclasses import replace

    return replace(
        v, events=tuple(events), outcome=outcome, outcome_step=step, reason=reason, week=week, horizon=horizon
    )


def test_the_banner_names_the_conditions_actually_flagged():
    board = {"step": 33, "kind": "crossed_board_below_floor", "org": None, "value": 0.28}
    st_ = explain.status(view_with([board]))
    assert st_.kind == "at_risk" and "board commitment" in st_.detail and "since week 33, at 0.28" in st_.detail
    assert "staff's trust" not in st_.detail
    staff = {"step": 35, "kind": "crossed_staff_trust_below_floor", "org": None, "value": 0.29}
    cleared = {"step": 38, "kind": "left_board_below_floor", "org": None, "value": 0.31}
    st_ = explain.status(view_with([board, staff, cleared]))
    assert "staff's trust in the partner" in st_.detail and "board" not in st_.detail
    novel = {"step": 12, "kind": "crossed_regulator_risk_of_escalation", "org": None}
    assert "regulator risk of escalation" in explain.status(view_with([novel])).detail


def test_the_banner_gives_the_trackers_reason_for_any_outcome():
    for outcome in [*OUTCOMES, "exited_special_measures"]:
        if outcome == UNDECIDED:
            continue
        st_ = explain.status(view_with([], outcome=outcome, step=77, reason="because of X"))
        assert st_.headline.startswith(outcome.replace("_", " ").upper()) and "week 77" in st_.headline
        assert st_.detail == "because of X" and st_.colour.startswith("#")


def test_the_event_flags_agree_with_the_outcome_tracker():
    """The banner reads risk from the tracker's crossing events; check against its own counter, every week."""
    for name in ("high_competition", "similar_size_incompatible_culture", "place_based_goodwill"):
        for seed in (1, 2):
            m = BuddyingModel(DemoSettings.of(name, seed).build(), seed)
            weeks_at_risk = 0
            for _ in range(m.P.steps):
                m.step()
                risky = any(explain.is_risk(k) for k in explain.active_flags(m.events))
                # the tracker's own read-out: a failure route's spell below the floor is running
                assert risky == any(n > 0 for n in m.tracker.spells.values()), (name, seed, m.week)
                weeks_at_risk += risky
            assert 0 < weeks_at_risk < m.P.steps, (name, seed)  # both states were compared


def test_every_event_kind_gets_a_line_an_icon_and_a_colour():
    events = [
        {"step": 3, "kind": "departure", "org": "A", "seat": 0, "interim": True},
        {"step": 4, "kind": "appointment", "org": "B", "seat": 2},
        {"step": 5, "kind": "board_meeting_failed", "org": None},
        {"step": 6, "kind": "crossed_trust_above_bed_in", "org": None, "value": 0.56},
        {"step": 7, "kind": "inspection", "org": "A", "rating": "requires improvement"},
        {"step": 8, "kind": "exited", "org": "A", "reason": "sustained improvement"},
        {"step": 9, "kind": "failed", "org": None, "reason": "board commitment in A below 0.3"},
    ]
    lines = explain.event_lines(events)
    assert [x.week for x in lines] == [9, 8, 7, 6, 5, 4, 3]  # newest first, one per event
    for line in lines:
        assert line.icon and line.colour.startswith("#") and line.text and "\n" not in line.text
    by_kind = {x.kind: x for x in lines}
    assert "chief executive" in by_kind["departure"].text and "interim" in by_kind["departure"].text
    assert "rating=requires improvement" in by_kind["inspection"].text
    assert by_kind["failed"].colour == explain.outcome_colour("failed")
    assert len({by_kind[k].colour for k in ("departure", "appointment", "board_meeting_failed")}) == 3


def test_the_end_of_run_message_says_what_happened_and_what_to_do():
    msg = explain.end_of_run(view_with([], outcome="failed", step=90, reason="board below 0.3", week=156))
    assert "week 156 of 156" in msg and "FAILED at week 90" in msg and "Reset" in msg


def test_about_names_every_outcome_and_links_the_odd():
    text = explain.about_markdown(BASE.build())
    for outcome in OUTCOMES:
        assert outcome.replace("_", " ").upper() in text
    assert "docs/ODD.md" in text and "floor 0.3" in text


# --- figures ---------------------------------------------------------------------------------------------
def parse(svg_inner: str, w: int, h: int) -> ET.Element:
    return ET.fromstring(f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}">{svg_inner}</svg>')


@pytest.mark.parametrize(("w", "h", "fs"), [(450, 420, 14), (760, 820, 16), (300, 200, 14)])
def test_the_network_fits_its_box_with_every_staff_member_and_executive(w, h, fs):
    run = Run.build(BASE)
    for _ in range(30):
        run.step()
    view = run.view()
    geo = draw.NetworkGeometry(w, h, fs)
    base = parse(draw.network_base(view.structure, geo), w, h)
    over = parse(draw.network_overlay(view, geo, COLOUR_BY["Trust in the partner"]), w, h)
    ns = "{http://www.w3.org/2000/svg}"
    circles = over.findall(f"{ns}circle")
    assert len(circles) == view.structure.org.size
    for c in circles:
        assert 0 <= float(c.get("cx")) <= w and 0 <= float(c.get("cy")) <= h
    squares = over.findall(f"{ns}rect")
    assert len(squares) == view.structure.l_org.size
    assert sum(r.get("stroke") == draw.INTERIM_EDGE for r in squares) == int(view.l_vacant.sum())
    assert all(float(t.get("font-size")) >= fs for t in base.iter(f"{ns}text"))


def test_the_charts_draw_every_run_and_trust_with_text_no_smaller_than_asked():
    a, b = Run.build(BASE), Run.build(BASE.with_lever("system.competition", 0.9))
    for _ in range(40):
        a.step()
        b.step()
    views = [a.view(), b.view()]
    names = draw.paired_metrics(views[0].series)
    panels = [p for p in draw.DEFAULT_PANELS if p in names]
    geo = draw.chart_geometry(640, 560, 14, panels, 156, views, BASE.build())
    base = parse(draw.charts_base(geo), 640, 560)
    over = parse(draw.charts_overlay(views, geo), 640, 560)
    ns = "{http://www.w3.org/2000/svg}"
    lines = over.findall(f"{ns}polyline")
    assert len(lines) == len(panels) * 2 * 2
    assert sum(line.get("stroke-dasharray") is not None for line in lines) == len(panels) * 2  # run 2 dashed
    texts = list(base.iter(f"{ns}text"))
    assert texts and all(float(t.get("font-size")) >= 14 for t in texts)
    assert any(t.text == "week" for t in texts)
    assert any((t.text or "").startswith("floor") for t in texts)  # the scenario's failure floor is drawn
    for line in lines:
        for point in line.get("points").split():
            x, y = map(float, point.split(","))
            assert 0 <= x <= 640 and 0 <= y <= 560


def test_counts_are_drawn_as_a_mean_and_levels_as_they_are():
    assert draw.is_count("leavers_a") and not draw.is_count("partner_trust_a")
    assert np.allclose(draw.trailing_mean(np.array([0, 4, 0, 0, 8.0]), 4), [0, 2, 4 / 3, 1, 3])


def test_week_ticks_are_in_weeks_and_end_at_the_horizon():
    assert draw.week_ticks(156) == [0, 52, 104, 156]
    assert draw.week_ticks(260)[-1] == 260 and draw.week_ticks(30)[-1] == 30


# --- lessons ----------------------------------------------------------------------------------------------
def test_the_lessons_file_was_written_by_the_script_and_each_seed_still_gives_its_outcome():
    doc = json.loads(lessons.LESSONS.read_text())
    assert "python -m sim.ui.lessons" in doc["written_by"]
    found = lessons.load_lessons()
    assert lessons.MIN_LESSONS <= len(found) <= lessons.MAX_LESSONS
    for lesson in found:
        run = Run.build(lesson.settings())
        while run.step():
            pass
        view = run.view()
        stale = "the model's results changed: re-run `python -m sim.ui.lessons` (see docs/teaching.md)"
        assert (view.outcome, view.outcome_step) == (lesson.outcome, lesson.outcome_week), stale
        assert lesson.outcome != UNDECIDED and lesson.share >= doc["min_share"]
        assert abs(sum(lesson.shares.values()) - 1) < 1e-3 and lesson.runs == doc["runs"]


def test_the_chooser_picks_the_most_typical_run_of_the_commonest_clear_outcome():
    def trial(seed, outcome, week, level):
        return lessons.Trial(seed, outcome, week, "", np.full((10, 2), level))

    trials = [
        trial(1, "failed", 40, 0.1),
        trial(2, "failed", 60, 0.2),
        trial(3, "failed", 61, 0.21),  # the middle week and the middle trajectory
        trial(4, "failed", 90, 0.5),
        trial(5, "bedded_in", 50, 0.9),
        trial(6, UNDECIDED, None, 0.4),
        trial(7, UNDECIDED, None, 0.4),
        trial(8, UNDECIDED, None, 0.4),
        trial(9, UNDECIDED, None, 0.4),
        trial(10, UNDECIDED, None, 0.4),
    ]
    best, stats = lessons.choose(trials)
    assert best.seed == 3 and stats["target"] == "failed" and stats["share"] == 0.4
    assert stats["shares"][UNDECIDED] == 0.5
    best, stats = lessons.choose(trials, shows="bedded_in")
    assert best.seed == 5 and stats["share"] == 0.1
    best, _ = lessons.choose([trial(1, UNDECIDED, None, 0.4)])
    assert best is None


def test_the_chooser_on_real_runs_records_a_seed_that_reproduces():
    spec = {"lesson": [{"id": "t", "title": "T", "scenario": "place_based_goodwill", "watch": "{bed_in_weeks} weeks"}]}
    (lesson,) = lessons.build_lessons(spec, runs=12, min_share=0.0, log=lambda m: None)
    assert lesson.watch == f"{DemoSettings.of('place_based_goodwill').build()['outcome.bed_in_weeks']} weeks"
    run = Run.build(lesson.settings())
    while run.step():
        pass
    assert run.view().outcome == lesson.outcome and run.view().outcome_step == lesson.outcome_week


def test_a_lesson_text_naming_an_unknown_value_is_refused():
    with pytest.raises(SettingError, match="no_such_value"):
        lessons.fill("watch {no_such_value}", BASE.build())


# --- the server's safety catches ----------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_hosts_get_no_warning(host):
    assert server.host_warning(host, 8765) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.org"])
def test_other_hosts_get_a_warning_that_says_why(host):
    text = server.host_warning(host, 8765)
    assert text and host in text and "no login" in text and "127.0.0.1" in text


@pytest.mark.parametrize(("client", "status"), [("127.0.0.1", 200), ("::1", 200), ("192.168.1.9", 404)])
def test_server_statistics_answer_only_this_machine(client, status):
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"stats"})

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    wrapped = server.LocalOnly(app, ("/resourcez",))
    scope = {"type": "http", "path": "/resourcez", "client": (client, 5000)}
    asyncio.run(wrapped(scope, receive, send))
    assert sent[0]["status"] == status
    sent.clear()
    asyncio.run(wrapped({**scope, "path": "/"}, receive, send))
    assert sent[0]["status"] == 200


def test_the_cli_passes_host_and_timeouts_to_the_server():
    from sim.cli import build_parser

    args = build_parser().parse_args(["ui"])
    assert args.host == "127.0.0.1" and args.session_timeout > 0 and args.idle_minutes > 0


def test_series_csv_has_a_row_per_run_and_week():
    from sim.ui.page import series_csv

    a, b = Run.build(BASE), Run.build(BASE.with_seed(4))
    for _ in range(5):
        a.step()
    text = series_csv([a.view(), b.view()], [BASE, BASE.with_seed(4)])
    rows = [r.split(",") for r in text.strip().splitlines()]
    header = rows[0]
    assert header[:4] == ["setting", "scenario", "seed", "week"] and "partner_trust_a" in header
    assert len(rows) == 1 + 6 + 1
    assert [r[0] for r in rows[1:]] == ["1"] * 6 + ["2"]


# --- errors never reach the page as tracebacks ---------------------------------------------------------------
def widget_texts(widget, out=None) -> list[str]:
    out = [] if out is None else out
    for child in getattr(widget, "children", None) or []:
        if isinstance(child, str):
            out.append(child)
        else:
            widget_texts(child, out)
    value = getattr(widget, "value", None)
    if isinstance(value, str):
        out.append(value)
    return out


def test_a_part_that_fails_to_draw_becomes_a_message_and_the_log_gets_the_traceback(caplog):
    import solara

    from sim.ui.page import ErrorBoundary

    @solara.component
    def Broken():
        raise RuntimeError("cannot draw /work/secret/path.py")

    @solara.component
    def App():
        with ErrorBoundary():
            Broken()

    with caplog.at_level("ERROR", logger="sim.ui"):
        box, rc = solara.render(App())
    text = " ".join(widget_texts(box))
    assert "could not be drawn" in text and "Carry on" in text
    assert "Traceback" not in text and "/work" not in text
    assert any(r.exc_info and "cannot draw" in str(r.exc_info[1]) for r in caplog.records)
    rc.close()


def test_a_handler_that_fails_reports_briefly_and_logs_fully(caplog):
    from sim.ui.page import REFUSED, Message, guard

    said = []

    def broken(value):
        raise KeyError(f"/srv/buddysim/{value}")

    def refusing(value):
        raise SettingError(f"Seed: {value} is not a seed; nothing was changed")

    with caplog.at_level("ERROR", logger="sim.ui"):
        assert guard(said.append, "testing", broken)("x") is REFUSED
    assert isinstance(said[-1], Message) and said[-1].kind == "error"
    assert "reference" in said[-1].text and "/srv" not in said[-1].text and "Traceback" not in said[-1].text
    ref = said[-1].text.split("reference ")[1].split(" ")[0]
    assert any(ref in r.getMessage() and r.exc_info for r in caplog.records)
    assert guard(said.append, "testing", refusing)("abc") is REFUSED
    assert said[-1].kind == "warning" and "not a seed" in said[-1].text
    assert guard(said.append, "testing", lambda v: None)("fine") is None


def test_a_lesson_that_cannot_be_used_is_left_out_and_the_others_stay(tmp_path, caplog):
    doc = json.loads(lessons.LESSONS.read_text())
    good = doc["lessons"][0]
    gone = {**good, "id": "gone", "scenario": "a_scenario_that_was_removed"}
    (tmp_path / "lessons.json").write_text(json.dumps({**doc, "lessons": [gone, good, {"id": "broken"}]}))
    with caplog.at_level("WARNING"):
        loaded = lessons.load_lessons(tmp_path / "lessons.json")
    assert [lesson.id for lesson in loaded] == [good["id"]]
    assert "lesson left out: gone" in caplog.text and "lesson left out: broken" in caplog.text
    (tmp_path / "bad.json").write_text("{")
    assert lessons.load_lessons(tmp_path / "bad.json") == []
