"""The teaching UI in a real headless Chromium (Playwright driving Debian's /usr/bin/chromium).

The test starts `buddysim ui` on a free local port, blocks every request that
is not to 127.0.0.1 (so the page must work offline), and drives the page as a
teacher would. The server is stopped by its pid.
"""

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("ui") / "server.log"
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sim", "ui", "--port", str(port)],
            cwd=ROOT,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 240  # the first start may fetch the browser assets from the npm registry
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
        if proc.poll() is not None:
            raise RuntimeError(log.read_text())
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        raise RuntimeError("the UI did not start:\n" + log.read_text())
    yield url, log
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_page(browser, url, errors, outside):
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.on("pageerror", lambda e: errors.append(str(e)))

    def only_local(route):
        host = route.request.url.split("/")[2] if "://" in route.request.url else ""
        if host.split(":")[0] in ("127.0.0.1", "localhost") or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_text("Time: 0").wait_for(timeout=90_000)
    return page


def time_shown(page) -> float:
    text = page.get_by_text(re.compile(r"^Time: ")).inner_text()
    return float(text.split(":")[1])


def wait_time(page, predicate, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate(time_shown(page)):
            return time_shown(page)
        time.sleep(0.2)
    raise AssertionError(f"time shown stayed at {time_shown(page)}")


def test_a_teacher_drives_the_demo(server, browser, tmp_path):
    url, log = server
    errors, outside = [], []
    page = open_page(browser, url, errors, outside)
    # The networks and the charts render (matplotlib figures as images), with the banner and the event log.
    page.get_by_text("UNDECIDED (week 0)").wait_for(timeout=30_000)
    page.get_by_text("Event log").wait_for()
    images = page.locator("img")
    assert images.count() >= 2
    for i in range(images.count()):
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 200"), "a figure did not render"

    # Step advances the counter and the banner.
    page.get_by_role("button", name="Step").click()
    wait_time(page, lambda t: t == 1)
    page.get_by_text(re.compile(r"\(week 1\)|at week 1")).wait_for(timeout=10_000)

    # Play for a few seconds, then pause.
    page.get_by_role("button", name="▶").click()
    time.sleep(4)
    page.get_by_role("button", name="❚❚").click()
    played = wait_time(page, lambda t: t > 3)
    assert played > 3

    # Moving a slider rebuilds the model (a reset to week 0).
    slider = page.locator(".v-slider__thumb-container").nth(1)  # messaging alignment
    slider.focus()
    page.keyboard.press("ArrowRight")
    wait_time(page, lambda t: t == 0)
    page.get_by_text("Messaging alignment: 0.55").wait_for(timeout=10_000)

    # Step again, then change the scenario: reset, and the levers take the scenario's values.
    page.get_by_role("button", name="Step").click()
    wait_time(page, lambda t: t == 1)
    page.locator(".v-select").first.click()
    page.get_by_role("option", name="high_competition").click()
    wait_time(page, lambda t: t == 0)
    page.get_by_text("Competition incentives: 0.90").wait_for(timeout=10_000)

    # A bad seed gets a message, not a traceback, and does not reset.
    page.get_by_role("button", name="Step").click()
    wait_time(page, lambda t: t == 1)
    seed = page.get_by_label("Seed")
    seed.fill("twelve")
    seed.press("Enter")
    page.get_by_text("Seed must be a whole number").wait_for(timeout=10_000)
    assert time_shown(page) == 1
    assert page.get_by_text("Traceback").count() == 0
    seed.fill("12")
    seed.press("Enter")
    wait_time(page, lambda t: t == 0)
    assert page.get_by_text("Seed must be a whole number").count() == 0

    shot = tmp_path / "ui.png"
    page.screenshot(path=shot, full_page=True)
    assert shot.stat().st_size > 20_000
    (ROOT / "results").mkdir(exist_ok=True)
    shutil.copyfile(shot, ROOT / "results" / "ui_screenshot.png")
    assert errors == [], errors
    assert outside == [], f"the page asked for outside content: {outside[:5]}"
    assert "Could not load URL" not in log.read_text()
    page.close()


def test_each_browser_session_has_its_own_model(server, browser):
    url, _ = server
    errors, outside = [], []
    first = open_page(browser, url, errors, outside)
    second = open_page(browser, url, errors, outside)
    first.get_by_role("button", name="Step").click()
    first.get_by_role("button", name="Step").click()
    wait_time(first, lambda t: t == 2)
    time.sleep(1)
    assert time_shown(second) == 0
    assert errors == [] and outside == []
    first.close()
    second.close()


def test_ui_binds_to_loopback_by_default():
    from sim.cli import build_parser

    args = build_parser().parse_args(["ui"])
    assert args.host == "127.0.0.1"
