"""The teaching page in a real headless Chromium (Playwright driving Debian's /usr/bin/chromium).

Each test starts from a fresh page of a `buddysim ui` server started on a free local port; every request
that is not to 127.0.0.1 is blocked (the page must work offline), and every page error, traceback or
outside request fails the test. Servers are stopped by their process group.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not Path(CHROMIUM).exists() or not shutil.which("npm"):
    if os.environ.get("BUDDYSIM_REQUIRE_BROWSER"):
        raise RuntimeError(f"the UI test needs {CHROMIUM} and npm (BUDDYSIM_REQUIRE_BROWSER is set)")
    pytest.skip(
        "needs Debian's chromium (apt-get install chromium) and npm; .ci/run installs them", allow_module_level=True
    )
playwright = pytest.importorskip("playwright.sync_api")
psutil = pytest.importorskip("psutil")
expect = playwright.expect

LESSONS = json.loads((ROOT / "sim" / "ui" / "lessons.json").read_text())["lessons"]
#: Set BUDDYSIM_SCREENSHOTS=docs/images to refresh the screenshots the docs show.
SCREENSHOTS = os.environ.get("BUDDYSIM_SCREENSHOTS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, log: Path, *extra: str):
        self.port = free_port()
        self.log = log
        with log.open("w") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sim", "ui", "--port", str(self.port), *extra],
                cwd=ROOT,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.url = f"http://127.0.0.1:{self.port}/"
        deadline = time.time() + 240  # the first start may fetch the browser assets from the npm registry
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(self.url, timeout=2).status == 200:
                    return
            except OSError:
                time.sleep(0.5)
            if self.proc.poll() is not None:
                raise RuntimeError(log.read_text())
        self.stop()
        raise RuntimeError("the UI did not start:\n" + log.read_text())

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)

    def rss_mb(self) -> float:
        root = psutil.Process(self.proc.pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20

    def kernels(self) -> int:
        with urllib.request.urlopen(self.url + "resourcez", timeout=5) as r:
            return int(json.loads(r.read())["kernels"]["total"])

    def assert_clean_log(self) -> None:
        text = self.log.read_text()
        assert "Could not load URL" not in text, "the page asked for a browser asset that is not installed"
        assert "Traceback" not in text, text[-3000:]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("ui") / "server.log", "--session-timeout", "3")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Tab:
    """One page of the demo, with everything that must never happen recorded."""

    def __init__(self, browser, url: str, size=(1280, 720), path: str = "", wait: bool = True):
        self.context = browser.new_context(viewport={"width": size[0], "height": size[1]}, accept_downloads=True)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.add_init_script(RECORD_SOCKETS)
        self.page.route("**/*", self._only_local)
        self.page.goto(url + path, wait_until="commit")
        if wait:
            self.ready()

    def ready(self) -> Tab:
        """Wait until the page shows the week and has drawn its charts."""
        self.page.locator(".bs-week").wait_for(timeout=90_000)
        self.page.locator(".bs-charts-svg polyline").first.wait_for(state="attached", timeout=30_000)
        return self

    def _only_local(self, route):
        url = route.request.url
        host = url.split("/")[2].split(":")[0] if "://" in url else ""
        if host in ("127.0.0.1", "localhost") or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    # reading
    def week(self) -> int:
        return int(re.search(r"Week (\d+)", self.page.locator(".bs-week").inner_text()).group(1))

    def wait_week(self, predicate, timeout=30.0) -> int:
        deadline = time.time() + timeout
        while time.time() < deadline:
            w = self.week()
            if predicate(w):
                return w
            time.sleep(0.1)
        raise AssertionError(f"the week shown stayed at {self.week()}")

    def playing(self) -> bool:
        return "Pause" in self.page.locator(".bs-play").inner_text()

    def headline(self) -> str:
        return self.page.locator(".bs-headline").first.inner_text()

    def assert_sound(self) -> None:
        assert self.page.get_by_text("Traceback").count() == 0
        assert self.page.locator(".bs-crash").count() == 0
        assert self.errors == [], self.errors
        assert self.outside == [], f"the page asked for outside content: {self.outside[:5]}"

    # doing
    def click(self, selector: str) -> None:
        self.page.locator(selector).first.click()

    def speed(self, value: int) -> None:
        self.page.locator(".bs-speed .v-btn", has_text=re.compile(rf"^\s*{value}\s*$")).click()

    def lever(self, key: str, presses: int) -> None:
        thumb = self.page.locator(f'.bs-lever[data-key="{key}"] .v-slider__thumb-container')
        thumb.focus()
        for _ in range(abs(presses)):
            self.page.keyboard.press("ArrowRight" if presses > 0 else "ArrowLeft")

    def choose(self, control: str, option: str) -> None:
        self.page.locator(f"{control} .v-select").click()
        self.page.get_by_role("option", name=option, exact=True).click()

    def forge(self, value) -> None:
        """Send the last widget value the page sent again, changed to ``value``: what a forged client sends."""
        self.page.evaluate(FORGE, value)

    def close(self) -> None:
        self.context.close()


#: Keeps the page's websockets and the widget updates it sends (for forging one).
RECORD_SOCKETS = """
(() => {
  const send = WebSocket.prototype.send;
  window.__bs = {sockets: [], updates: []};
  WebSocket.prototype.send = function (data) {
    if (!window.__bs.sockets.includes(this)) window.__bs.sockets.push(this);
    try {
      const msg = JSON.parse(data);
      const state = msg.content && msg.content.data && msg.content.data.state;
      if (state && 'v_model' in state) window.__bs.updates.push({socket: this, msg: msg});
    } catch (e) {}
    return send.call(this, data);
  };
})();
"""
FORGE = """(value) => {
  const last = window.__bs.updates[window.__bs.updates.length - 1];
  const msg = JSON.parse(JSON.stringify(last.msg));
  msg.content.data.state = {v_model: value};
  msg.header.msg_id = 'forged-' + Math.random();
  last.socket.send(JSON.stringify(msg));
}"""


# --- a lesson as a teacher gives it -----------------------------------------------------------------------
@pytest.mark.slow
def test_a_teacher_drives_the_demo(server, browser, tmp_path):
    tab = Tab(browser, server.url)
    page = tab.page
    first = LESSONS[0]
    expect(page.locator(".bs-lesson .v-select__selection")).to_have_text(first["title"])
    expect(page.locator(".bs-headline").first).to_contain_text("(week 0)")
    for help_box in page.locator(".bs-help").all():  # one line of help under every control
        assert help_box.inner_text().strip()
    assert page.locator(".bs-help").count() >= 9

    page.locator(".bs-step").click()
    tab.wait_week(lambda w: w == 1)
    expect(page.locator(".bs-headline").first).to_contain_text(re.compile(r"week 1\b"))

    tab.click(".bs-play")
    time.sleep(3)
    tab.click(".bs-play")
    expect(page.locator(".bs-play")).to_have_text(re.compile("Play"))
    played = tab.wait_week(lambda w: w > 3)
    time.sleep(0.5)
    assert tab.week() == played  # paused means paused

    # one entry per line in the event log, each with an icon and a colour
    events = page.locator(".bs-event")
    if events.count() >= 2:
        a, b = events.nth(0).bounding_box(), events.nth(1).bounding_box()
        assert b["y"] >= a["y"] + a["height"] - 1
        assert re.match(r"week \d+", events.nth(0).locator(".bs-event-week").inner_text())

    # a lever rebuilds the model at week 0, and the address remembers it
    tab.lever("leadership.message_alignment", +1)
    tab.wait_week(lambda w: w == 0)
    expect(page.locator('.bs-lever[data-key="leadership.message_alignment"] .bs-lever-label')).to_contain_text("0.55")
    expect(page).to_have_url(re.compile(r"leadership\.message_alignment=0\.55"))

    # a scenario sets its own levers
    page.locator(".bs-step").click()
    tab.wait_week(lambda w: w == 1)
    tab.choose(".bs-scenario", "high competition")
    tab.wait_week(lambda w: w == 0)
    expect(page.locator('.bs-lever[data-key="system.competition"] .bs-lever-label')).to_contain_text("0.90")

    # a bad seed gets a message and changes nothing; a good one resets
    page.locator(".bs-step").click()
    tab.wait_week(lambda w: w == 1)
    seed = page.get_by_label("Seed")
    new_seed = "13" if seed.input_value() == "12" else "12"  # a different seed than the lesson's
    seed.fill("twelve")
    expect(page.locator(".bs-seed")).to_contain_text("Seed must be a whole number")
    assert tab.week() == 1
    seed.fill(new_seed)
    tab.wait_week(lambda w: w == 0)
    expect(page.locator(".bs-seed")).not_to_contain_text("Seed must be a whole number")

    # a reload keeps the scenario, the levers and the seed
    page.reload(wait_until="domcontentloaded")
    page.locator(".bs-week").wait_for(timeout=60_000)
    expect(page.locator(".bs-scenario .v-select__selection")).to_have_text("high competition")
    expect(page.get_by_label("Seed")).to_have_value(new_seed)

    # About: plain words, every outcome, and the full description
    page.locator(".bs-about-button").click()
    expect(page.locator(".bs-about-text")).to_contain_text("What you are watching")
    expect(page.locator(".bs-about-text")).to_contain_text("FAILED")
    page.locator(".bs-odd-button").click()
    expect(page.locator(".bs-odd h2").first).to_be_visible()
    page.locator(".bs-about-close").click()

    # exports: the charts and the network as PNG, the series as CSV
    for _ in range(5):
        page.locator(".bs-step").click()
    tab.wait_week(lambda w: w == 5)
    for button, name in ((".bs-export-charts", "buddysim_charts.png"), (".bs-export-network", "network-1.png")):
        with page.expect_download() as info:
            page.locator(button).click()
        path = tmp_path / name
        info.value.save_as(path)
        assert info.value.suggested_filename == name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    with page.expect_download() as info:
        page.get_by_role("button", name="Series (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert [int(r["week"]) for r in rows] == list(range(6))
    assert {r["scenario"] for r in rows} == {"high_competition"} and {r["seed"] for r in rows} == {new_seed}

    tab.assert_sound()
    server.assert_clean_log()
    tab.close()


def test_each_browser_page_has_its_own_model(server, browser):
    first, second = Tab(browser, server.url), Tab(browser, server.url)
    first.click(".bs-step")
    first.click(".bs-step")
    first.wait_week(lambda w: w == 2)
    time.sleep(1)
    assert second.week() == 0
    first.assert_sound()
    second.assert_sound()
    first.close()
    second.close()


# --- never a traceback ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_sixty_seconds_of_fastest_play_never_shows_a_traceback(server, browser):
    """Play at the fastest speed for a minute, restarting at the end, with levers moved and the comparison
    switched on and off while it plays: no traceback, no page error, no error in the server's log."""
    tab = Tab(browser, server.url)
    page = tab.page
    tab.speed(50)
    tab.click(".bs-stop-at-outcome")  # off: play straight through to the horizon
    start = time.time()
    weeks = 0
    last = 0
    moved = compared = False
    tab.click(".bs-play")
    while time.time() - start < 60:
        time.sleep(0.4)
        assert page.get_by_text("Traceback").count() == 0 and page.locator(".bs-crash").count() == 0
        w = tab.week()
        weeks += max(0, w - last)
        last = w
        if not moved and time.time() - start > 15:
            tab.lever("system.competition", +2)  # while playing: a rebuild at week 0
            moved, last = True, 0
            tab.click(".bs-play")
        elif not compared and time.time() - start > 30:
            tab.click(".bs-compare")
            compared, last = True, 0
            tab.click(".bs-play")
        elif compared and time.time() - start > 45 and page.locator(".bs-banner").count() == 2:
            tab.click(".bs-compare")
            last = 0
            tab.click(".bs-play")
        elif not tab.playing():
            if page.locator(".bs-play").is_disabled():  # at the horizon: start again
                tab.click(".bs-reset")
                tab.wait_week(lambda x: x == 0)
                last = 0
            tab.click(".bs-play")
    if tab.playing():
        tab.click(".bs-play")
    assert weeks >= 156, f"only {weeks} weeks played in 60 s"
    tab.assert_sound()
    server.assert_clean_log()
    tab.close()


def test_forged_control_values_are_refused_in_the_page(server, browser):
    """A browser can send any value: a slider at 1e9, a scenario that is a path. The page says no."""
    tab = Tab(browser, server.url)
    page = tab.page
    label = page.locator('.bs-lever[data-key="system.competition"] .bs-lever-label')
    before = float(label.inner_text().rsplit(":", 1)[1])
    tab.lever("system.competition", +1)  # a real move, so that the page has sent a slider's value
    shown = f"{label.inner_text().rsplit(':', 1)[0]}: {before + 0.05:.2f}"
    expect(label).to_have_text(shown)
    tab.click(".bs-step")
    tab.wait_week(lambda w: w == 1)
    for forged in (1e9, -3, "0.5; rm -rf /", None):
        tab.forge(forged)
        expect(page.locator(".bs-message-warning")).to_be_visible()
        assert tab.week() == 1  # not rebuilt
        expect(label).to_have_text(shown)
        page.locator(".bs-message-close").click()
    tab.choose(".bs-unions", "partner")  # a real choice, then a forged one
    tab.wait_week(lambda w: w == 0)
    tab.click(".bs-step")
    tab.wait_week(lambda w: w == 1)
    tab.forge("../../../etc/passwd")
    expect(page.locator(".bs-message-warning")).to_contain_text("Trade unions")
    assert tab.week() == 1
    body = page.locator("body").inner_text()
    assert "/work" not in body and str(ROOT) not in body and "site-packages" not in body
    tab.assert_sound()
    server.assert_clean_log()
    tab.close()


# --- legible on a projector ---------------------------------------------------------------------------------
CONTROLS = [
    ".bs-reset",
    ".bs-step",
    ".bs-play",
    ".bs-speed",
    ".bs-week",
    ".bs-compare",
    ".bs-stop-at-outcome",
    ".bs-about-button",
    ".bs-lesson .v-select",
    ".bs-scenario .v-select",
    ".bs-unions .v-select",
    ".bs-seed input",
    ".bs-headline",
    ".bs-network-legend",
]

TEXT_SIZES = """(sel) => {
  const out = [];
  for (const svg of document.querySelectorAll(sel)) {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    for (const t of svg.querySelectorAll('text')) {
      out.push(parseFloat(t.getAttribute('font-size')) * scale);
    }
  }
  return out;
}"""


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["1280x720", "1920x1080"])
def test_projector_sizes_keep_controls_above_the_fold_and_text_large(server, browser, size):
    w, h = size
    tab = Tab(browser, server.url, size=size)
    page = tab.page
    tab.speed(50)
    tab.click(".bs-play")  # the first lesson, to its outcome: the page as a class sees it mid-lesson
    expect(page.locator(".bs-paused")).to_be_visible(timeout=60_000)
    assert tab.week() == LESSONS[0]["outcome_week"]
    page.locator(".bs-network-svg circle").first.wait_for()
    boxes = {sel: page.locator(sel).first.bounding_box() for sel in CONTROLS}
    boxes.update(
        {f"lever {i}": page.locator(".bs-lever .v-slider").nth(i).bounding_box() for i in range(5)},
    )
    for name, box in boxes.items():
        assert box is not None, f"{name} is not shown"
        assert box["x"] >= 0 and box["y"] >= 0, name
        assert box["x"] + box["width"] <= w + 1 and box["y"] + box["height"] <= h + 1, (
            f"{name} is below the fold: {box}"
        )
    charts = page.evaluate(TEXT_SIZES, ".bs-charts-svg")
    network = page.evaluate(TEXT_SIZES, ".bs-network-svg")
    assert charts and network
    assert min(charts + network) >= 14, f"chart text of {min(charts + network):.1f} px"
    week_px = float(page.locator(".bs-week").evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
    headline_px = float(page.locator(".bs-headline").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
    assert week_px >= 28 and headline_px >= 26  # readable from the back of a room
    # the network's legend is visible: on screen and on top at its centre
    legend = boxes[".bs-network-legend"]
    on_top = page.evaluate(
        "([x, y]) => !!document.elementFromPoint(x, y).closest('.bs-network-legend')",
        [legend["x"] + legend["width"] / 2, legend["y"] + legend["height"] / 2],
    )
    assert on_top, "something covers the network's legend"
    # the figures fill their space and do not spill over each other
    net = page.locator(".bs-network-svg").bounding_box()
    chart = page.locator(".bs-charts-svg").bounding_box()
    assert net["x"] + net["width"] <= chart["x"] + 1 and net["width"] > 0.25 * w and chart["height"] > 0.5 * h
    if SCREENSHOTS:
        out = ROOT / SCREENSHOTS
        out.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=out / f"ui_{w}x{h}.png")
    tab.assert_sound()
    tab.close()


# --- lessons, the end of a run, the comparison -----------------------------------------------------------
@pytest.mark.slow
def test_a_lesson_reaches_its_outcome_and_the_run_ends_cleanly(server, browser):
    lesson = LESSONS[1]
    tab = Tab(browser, server.url)
    page = tab.page
    tab.choose(".bs-lesson", lesson["title"])
    expect(page.locator(".bs-scenario .v-select__selection")).to_have_text(lesson["scenario"].replace("_", " "))
    expect(page.get_by_label("Seed")).to_have_value(str(lesson["seed"]))
    expect(page.locator(".bs-lesson-watch")).to_contain_text(lesson["watch"][:40])
    tab.speed(50)
    tab.click(".bs-play")
    outcome = lesson["outcome"].replace("_", " ").upper()
    expect(page.locator(".bs-headline").first).to_have_text(
        f"{outcome} at week {lesson['outcome_week']}", timeout=60_000
    )
    expect(page.locator(".bs-paused")).to_be_visible()  # stopped at the outcome, and says so
    assert tab.week() == lesson["outcome_week"] and not tab.playing()
    expect(page.locator(".bs-detail").first).to_have_text(lesson["reason"])
    tab.click(".bs-play")  # on to the horizon
    expect(page.locator(".bs-end")).to_contain_text("End of the run", timeout=60_000)
    horizon = int(re.search(r"of (\d+)", page.locator(".bs-week").inner_text()).group(1))
    assert tab.week() == horizon
    expect(page.locator(".bs-step")).to_be_disabled()
    expect(page.locator(".bs-play")).to_be_disabled()
    time.sleep(1.0)
    assert tab.week() == horizon  # never past the horizon
    tab.lever("system.competition", -1)  # any change starts again
    tab.wait_week(lambda w: w == 0)
    expect(page.locator(".bs-step")).to_be_enabled()
    expect(page.locator(".bs-play")).to_be_enabled()
    expect(page.locator(".bs-end")).to_have_count(0)
    tab.assert_sound()
    tab.close()


def settled_text(locator, quiet: float = 1.0, timeout: float = 20.0) -> str:
    """The locator's text once it has stopped changing for ``quiet`` seconds (updates still in flight land)."""
    deadline = time.time() + timeout
    text, since = locator.inner_text(), time.time()
    while time.time() < deadline:
        time.sleep(0.2)
        now = locator.inner_text()
        if now != text:
            text, since = now, time.time()
        elif time.time() - since >= quiet:
            return text
    raise AssertionError(f"the text kept changing: last {text!r}")


@pytest.mark.slow
def test_two_settings_side_by_side(server, browser, tmp_path):
    tab = Tab(browser, server.url)
    page = tab.page
    tab.click(".bs-compare")
    expect(page.locator(".bs-banner")).to_have_count(2)
    expect(page.locator(".bs-network-svg")).to_have_count(2)
    expect(page.locator(".bs-editing")).to_be_visible()
    expect(page.locator(".bs-side2")).to_have_class(re.compile("active"))  # editing setting 2
    label = page.locator('.bs-lever[data-key="system.competition"] .bs-lever-label')
    before = label.inner_text()
    tab.lever("system.competition", +4)
    expect(page.locator(".bs-network-caption").nth(1)).to_contain_text("competition")
    after = settled_text(label)  # every key press applied (they arrive one by one) before switching sides
    assert after != before
    page.locator(".bs-side1").click()  # setting 1 kept its own value
    expect(page.locator('.bs-lever[data-key="system.competition"] .bs-lever-label')).to_have_text(before)
    tab.click(".bs-stop-at-outcome")
    tab.speed(50)
    tab.click(".bs-play")
    expect(page.locator(".bs-end")).to_be_visible(timeout=60_000)
    dashed = page.locator(".bs-charts-svg polyline[stroke-dasharray]").count()
    solid = page.locator(".bs-charts-svg polyline:not([stroke-dasharray])").count()
    assert dashed == solid > 0
    assert len(set(page.locator(".bs-headline").all_inner_texts())) >= 1
    with page.expect_download() as info:
        page.get_by_role("button", name="Series (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert {r["setting"] for r in rows} == {"1", "2"} and len({r["seed"] for r in rows}) == 1
    by = {s: [r for r in rows if r["setting"] == s] for s in ("1", "2")}
    assert len(by["1"]) == len(by["2"]) and by["1"][-1]["partner_trust_a"] != by["2"][-1]["partner_trust_a"]
    tab.assert_sound()
    tab.close()


# --- memory --------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_memory_stays_flat_over_fifty_pages_opened_and_closed(browser, tmp_path):
    srv = Server(tmp_path / "server.log", "--session-timeout", "2")
    try:

        def settle() -> float:
            deadline = time.time() + 30
            while time.time() < deadline and srv.kernels() > 0:
                time.sleep(0.5)
            assert srv.kernels() == 0, "closed pages' sessions were not freed"
            time.sleep(1.0)
            return srv.rss_mb()

        samples = {}
        opened = 0
        while opened < 50:  # five pages at a time, as a class opening the demo would
            tabs = [Tab(browser, srv.url, wait=False) for _ in range(5)]  # loading side by side
            for tab in tabs:
                tab.ready().click(".bs-step")
            for tab in tabs:
                tab.wait_week(lambda w: w == 1)
                tab.assert_sound()
                tab.close()
            opened += len(tabs)
            if opened in (10, 50):
                samples[opened] = settle()
        growth = samples[50] - samples[10]
        print(f"server memory after 10 pages {samples[10]:.0f} MB, after 50 {samples[50]:.0f} MB")
        assert growth < 40, f"memory grew by {growth:.0f} MB over 40 pages opened and closed"
        srv.assert_clean_log()
    finally:
        srv.stop()


def test_the_ui_binds_to_loopback_by_default():
    from sim.cli import build_parser

    assert build_parser().parse_args(["ui"]).host == "127.0.0.1"
