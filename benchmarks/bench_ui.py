"""Throughput of the teaching UI while playing: weeks per second and server CPU per week, driven by Playwright.

    .venv/bin/python benchmarks/bench_ui.py [--tree DIR] [--seconds 20] [--repeats 3] [--speed fastest|default|N]
                                            [--cpu 0] [--viewport 1280x720] [--json out.json]

Starts ``python -m sim ui`` from ``--tree`` (default: this checkout; give an unpacked older commit, e.g.
``git archive <commit> | tar -x -C /tmp/before``, to measure "before") pinned to one core (``--cpu``), opens
the page in headless Chromium (Debian's /usr/bin/chromium; every request not to 127.0.0.1 is blocked),
sets the speed (N weeks per second, or the page's fastest or default; Stop at outcome off),
presses Play and reads the week shown after ``--seconds``. For each repeat it prints the
weeks advanced per second of wall time (from the click on Play; "steady": from the first week shown
to the last, without the start-up) and the server's CPU seconds (user + system, the server process and
its children, from psutil) per week advanced, with the load average before and after. A traceback or a
page error during play is reported, not hidden. Each repeat is a fresh page (a new session at week 0); a run that
reaches the horizon is measured up to the moment it stopped.

Two pages are understood: the Mesa SolaraViz page of buddysim <= 0.1 (week read from "Time: N", speed =
the "Play Interval (ms)" slider) and the current page (week read from ``.bs-week``, speed from its picker).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
from playwright.sync_api import sync_playwright

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tree: Path, cpu: int | None, extra: list[str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", "ui", "--port", str(port), *extra],
        cwd=tree,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    if cpu is not None:
        os.sched_setaffinity(proc.pid, {cpu})  # the server it starts inherits this
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 240
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                if cpu is not None:
                    for child in psutil.Process(proc.pid).children(recursive=True):
                        child.cpu_affinity([cpu])
                return proc, url
        except OSError:
            time.sleep(0.5)
        if proc.poll() is not None:
            break
    stop_server(proc)
    raise RuntimeError(f"the UI in {tree} did not start")


def stop_server(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def cpu_seconds(pid: int) -> float:
    root = psutil.Process(pid)
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


class MesaPage:
    """buddysim <= 0.1: Mesa's SolaraViz with its Play Interval slider."""

    ready = "text=Time: 0"

    def __init__(self, page):
        self.page = page

    def week(self) -> int:
        return int(float(self.page.get_by_text(re.compile(r"^Time: ")).inner_text().split(":")[1]))

    def set_speed(self, speed: str) -> None:
        if speed not in ("fastest", "default"):
            raise SystemExit("the old page has no speed in weeks per second: use --speed fastest or default")
        if speed == "fastest":
            thumb = self.page.locator(".v-slider__thumb-container").first  # Play Interval (ms): 1 at its left end
            thumb.focus()
            self.page.keyboard.press("Home")
            time.sleep(1)

    def play(self) -> None:
        self.page.get_by_role("button", name="▶").click()

    def pause(self) -> None:
        button = self.page.get_by_role("button", name="❚❚")
        if button.count():
            button.click()


class BuddysimPage:
    """The current page: week in ``.bs-week`` ("Week N of H"), speed picker, Play/Pause, Stop at outcome off."""

    ready = ".bs-week"

    def __init__(self, page):
        self.page = page

    def week(self) -> int:
        return int(re.search(r"\d+", self.page.locator(".bs-week").first.inner_text()).group())

    def set_speed(self, speed: str) -> None:
        buttons = self.page.locator(".bs-speed .v-btn")
        if speed == "fastest":
            buttons.last.click()
        elif speed != "default":
            self.page.locator(".bs-speed .v-btn", has_text=re.compile(rf"^\s*{speed}\s*$")).click()
        # measure playing, not stopping at the outcome: turn "Stop at outcome" off
        stop = self.page.locator(".bs-stop-at-outcome")
        if "v-btn--outlined" not in (stop.get_attribute("class") or ""):
            stop.click()
        time.sleep(0.5)

    def play(self) -> None:
        self.page.locator(".bs-play").click()

    def pause(self) -> None:
        button = self.page.locator(".bs-play")
        if "Pause" in button.inner_text():
            button.click()


def open_page(browser, url, viewport, out):
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    page.on("pageerror", lambda e: out["errors"].append(str(e)))
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))
            else route.abort()
        ),
    )
    page.goto(url, wait_until="domcontentloaded")
    deadline = time.time() + 120
    while time.time() < deadline:
        if page.locator(".bs-week").count():
            return page, BuddysimPage(page)
        if page.get_by_text(re.compile(r"^Time: 0")).count():
            return page, MesaPage(page)
        time.sleep(0.3)
    raise RuntimeError("the page did not load")


def measure(url: str, server_pid: int, speed: str, seconds: float, repeats: int, viewport: tuple[int, int]) -> dict:
    """One fresh page (a new session, the model at week 0) per repeat."""
    out = {"runs": [], "errors": [], "tracebacks": 0}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(repeats):
            page, ui = open_page(browser, url, viewport, out)
            out["page"] = type(ui).__name__
            ui.set_speed(speed)
            time.sleep(1.0)
            start_week = ui.week()
            load0 = os.getloadavg()
            cpu0 = cpu_seconds(server_pid)
            t0 = time.perf_counter()
            ui.play()
            last, t_last = start_week, t0
            first = None  # (week, time) of the first change seen: the steady rate leaves out the start-up
            while time.perf_counter() - t0 < seconds:
                time.sleep(0.25)
                if page.get_by_text("Traceback").count():
                    out["tracebacks"] += 1
                    break
                try:
                    w = ui.week()
                except Exception:  # the page was replaced (a traceback)
                    break
                if w != last:
                    last, t_last = w, time.perf_counter()
                    if first is None:
                        first = (w, t_last)
            cpu1 = cpu_seconds(server_pid)
            try:
                ui.pause()
            except Exception:
                pass
            page.close()
            weeks = last - start_week
            wall = t_last - t0
            out["runs"].append(
                {
                    "weeks": weeks,
                    "wall_s": round(wall, 2),
                    "weeks_per_s": round(weeks / wall, 2) if wall > 0 else 0.0,
                    "steady_weeks_per_s": round((last - first[0]) / (t_last - first[1]), 2)
                    if first and t_last > first[1]
                    else None,
                    "cpu_s_per_week": round((cpu1 - cpu0) / weeks, 4) if weeks else None,
                    "load_before": [round(x, 2) for x in load0],
                    "load_after": [round(x, 2) for x in os.getloadavg()],
                }
            )
            time.sleep(2.0)  # let the closed session go before the next
        browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, default=ROOT, help="checkout to serve (default: this one)")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--speed", default="fastest", help="fastest, default, or weeks per second offered by the page")
    ap.add_argument("--cpu", type=int, default=0, help="core to pin the server to (-1: no pinning)")
    ap.add_argument("--viewport", default="1280x720")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    viewport = tuple(int(x) for x in args.viewport.split("x"))
    proc, url = start_server(args.tree.resolve(), None if args.cpu < 0 else args.cpu, [])
    try:
        result = measure(url, proc.pid, args.speed, args.seconds, args.repeats, viewport)
    finally:
        stop_server(proc)
    rates = [r["weeks_per_s"] for r in result["runs"]]
    cpus = [r["cpu_s_per_week"] for r in result["runs"] if r["cpu_s_per_week"] is not None]
    steady = [r["steady_weeks_per_s"] for r in result["runs"] if r["steady_weeks_per_s"] is not None]
    result.update(
        tree=str(args.tree),
        speed=args.speed,
        seconds=args.seconds,
        viewport=args.viewport,
        pinned_cpu=args.cpu,
        weeks_per_s_median=statistics.median(rates) if rates else None,
        weeks_per_s_min=min(rates) if rates else None,
        steady_weeks_per_s_median=statistics.median(steady) if steady else None,
        cpu_s_per_week_median=statistics.median(cpus) if cpus else None,
        uptime=subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
    )
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
