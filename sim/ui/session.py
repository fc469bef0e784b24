"""One browser page's runs and their clock: stepping, playing, the horizon, and letting go.

A :class:`Session` holds one run (or two, side by side, in the comparison view) and one lock. Everything
that changes a model (Step, Play's clock, Reset, a lever) takes the lock; what the page draws is a
:class:`~sim.ui.view.RunView` copied under it, so drawing never races stepping whatever the speed.

Play runs on one thread per playing page. It keeps to the chosen speed in weeks per second by the wall
clock: when drawing falls behind, the next frame takes as many weeks as are due (frames are skipped, the
weeks are not), so the model keeps its speed however slow the drawing. It never steps past the horizon,
stops there (or when the outcome is decided, if asked), and stops when the page goes away.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from ..model import BuddyingModel
from ..model.outcomes import UNDECIDED
from .settings import DemoSettings, SettingError
from .view import RunView, Series, Structure, snapshot

log = logging.getLogger("sim.ui")

#: Speeds offered, in weeks per second (the last is "fastest").
SPEEDS = (1, 2, 5, 10, 20, 50)
DEFAULT_SPEED = 5
#: At most this many frames a second (a frame is published after each batch of weeks).
MAX_FPS = 20


def idle_limit_seconds() -> float:
    """How long a page may sit untouched (not playing) before its models are put away (BUDDYSIM_IDLE_MINUTES)."""
    try:
        minutes = float(os.environ.get("BUDDYSIM_IDLE_MINUTES", "20"))
    except ValueError:
        minutes = 20.0
    return max(minutes, 0.05) * 60


@dataclass
class Run:
    """One model with the settings that built it, and its series read so far."""

    settings: DemoSettings
    model: BuddyingModel
    structure: Structure
    series: Series = field(default_factory=Series)

    @classmethod
    def build(cls, settings: DemoSettings) -> Run:
        model = BuddyingModel(settings.build(), settings.seed)
        return cls(settings, model, Structure.of(model))

    @property
    def at_horizon(self) -> bool:
        return self.model.week >= self.model.P.steps

    def step(self) -> bool:
        """One week, unless the horizon is reached; True if it stepped."""
        if self.at_horizon:
            return False
        self.model.step()
        return True

    def view(self) -> RunView:
        return snapshot(self.model, self.series, self.structure)


@dataclass(frozen=True)
class Frame:
    """What the page shows: a view per run, whether playing, and a counter that changes every frame.

    ``views`` is empty when the session's models were put away (idle) or the session is closed.
    """

    number: int
    views: tuple
    playing: bool
    paused_reason: str = ""
    released: bool = False


class Session:
    """The runs of one browser page. ``on_frame`` is called (from whichever thread) with each new Frame."""

    def __init__(
        self,
        settings: list[DemoSettings],
        on_frame: Callable[[Frame], None] | None = None,
        idle_seconds: float | None = None,
    ):
        self.lock = threading.RLock()
        self._settings = list(settings)
        self.runs = [Run.build(s) for s in settings]
        self.released = False
        self.on_frame = on_frame
        self.speed = DEFAULT_SPEED
        self.pause_at_outcome = True
        self.playing = False
        self.closed = False
        self._frames = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.last_activity = time.monotonic()
        self.weeks_stepped = 0  # over the session's life, for the benchmark and the tests
        self.idle_seconds = idle_limit_seconds() if idle_seconds is None else idle_seconds
        self._closing = threading.Event()
        watchdog = threading.Thread(
            target=_watch_idle, args=(weakref.ref(self), self._closing), daemon=True, name="idle-watch"
        )
        watchdog.start()

    # -- reading ------------------------------------------------------------------------------------
    def frame(self, paused_reason: str = "") -> Frame:
        with self.lock:
            self._frames += 1
            views = tuple(r.view() for r in self.runs)
            return Frame(self._frames, views, self.playing, paused_reason, self.released)

    def _publish(self, paused_reason: str = "") -> Frame:
        frame = self.frame(paused_reason)
        callback = self.on_frame
        if callback is not None and not self.closed:
            callback(frame)
        return frame

    @property
    def at_horizon(self) -> bool:
        with self.lock:
            return all(r.at_horizon for r in self.runs)

    @property
    def settings(self) -> list[DemoSettings]:
        with self.lock:
            return list(self._settings)

    # -- changing -----------------------------------------------------------------------------------
    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def rebuild(self, settings: list[DemoSettings]) -> Frame:
        """New runs at week 0 with these settings (a lever, the seed, the scenario, a lesson, Reset)."""
        if not settings:
            raise SettingError("nothing to run")
        runs = [Run.build(s) for s in settings]  # outside the lock: the old runs keep drawing meanwhile
        self.pause()
        with self.lock:
            if self.closed:
                return self.frame()
            self.runs = runs
            self._settings = list(settings)
            self.released = False
        self.touch()
        return self._publish()

    def reset(self) -> Frame:
        return self.rebuild(self.settings)

    def revive(self) -> None:
        """Rebuild the runs put away while idle (same settings, back at week 0)."""
        if self.released and not self.closed:
            self.rebuild(self.settings)

    def step(self, weeks: int = 1) -> Frame:
        """Advance every run by ``weeks`` (never past its horizon); pauses play."""
        self.pause()
        self.revive()
        with self.lock:
            for _ in range(max(0, int(weeks))):
                if not self._step_all():
                    break
        self.touch()
        return self._publish()

    def _step_all(self) -> bool:
        stepped = False
        for r in self.runs:
            stepped = r.step() or stepped
        if stepped:
            self.weeks_stepped += 1
        return stepped

    def set_speed(self, speed) -> None:
        if speed not in SPEEDS:
            raise SettingError(f"Speed: expected one of {', '.join(map(str, SPEEDS))} weeks per second")
        self.speed = speed
        self.touch()

    # -- playing ------------------------------------------------------------------------------------
    def play(self) -> None:
        self.revive()
        with self.lock:
            if self.playing or self.closed or not self.runs or self.at_horizon:
                return
            self.playing = True
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._play_loop, args=(self._stop,), daemon=True, name="play")
        self.touch()
        self._thread.start()

    def pause(self) -> None:
        """Stop playing; returns when the play thread has stopped stepping."""
        with self.lock:
            thread = self._thread
            self.playing = False
            self._stop.set()
            self._thread = None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def toggle(self) -> None:
        if self.playing:
            self.pause()
            self._publish()
        else:
            self.play()

    def _play_loop(self, stop: threading.Event) -> None:
        try:
            self._publish()
            start = time.monotonic()
            done = 0
            min_gap = 1.0 / MAX_FPS
            while not stop.is_set():
                frame_start = time.monotonic()
                due = int((frame_start - start) * self.speed) - done
                if due <= 0:
                    stop.wait((done + 1) / self.speed - (frame_start - start))
                    continue
                reason = ""
                with self.lock:
                    if stop.is_set():
                        break
                    decided = [r.model.outcome != UNDECIDED for r in self.runs]
                    for _ in range(due):
                        if not self._step_all():
                            break
                        done += 1
                        now = [r.model.outcome != UNDECIDED for r in self.runs]
                        if self.pause_at_outcome and any(n and not b for n, b in zip(now, decided)):
                            reason = "outcome"
                            break
                    if self.at_horizon:
                        reason = reason or "horizon"
                    if reason:
                        self.playing = False
                        stop.set()
                self._publish(paused_reason=reason)
                self.touch()
                spent = time.monotonic() - frame_start
                if spent < min_gap:  # at most MAX_FPS frames a second
                    stop.wait(min_gap - spent)
        except Exception:  # a play thread never dies silently: it logs, stops playing and says so
            log.exception("play loop stopped by an error")
            with self.lock:
                self.playing = False
            try:
                self._publish(paused_reason="error")
            except Exception:
                log.exception("could not show the page that playing stopped")

    # -- letting go ---------------------------------------------------------------------------------
    def release(self) -> None:
        """Put the models away (idle page); the settings stay, and any control brings the runs back."""
        with self.lock:
            if self.playing or not self.runs:
                return
            self.runs = []
            self.released = True
        log.info("session idle for %.0f s: models released", self.idle_for())
        self._publish()

    def close(self) -> None:
        """Stop playing, drop the models and stop the idle watch (the page closed)."""
        self.closed = True
        self.on_frame = None
        self._closing.set()
        self.pause()
        with self.lock:
            self.runs = []

    def idle_for(self) -> float:
        return time.monotonic() - self.last_activity


def _watch_idle(ref: weakref.ref, closing: threading.Event) -> None:
    """Release a session's models once it has been idle too long (holds the session only weakly)."""
    while True:
        session = ref()
        if session is None:
            return
        wait = max(1.0, min(30.0, session.idle_seconds / 4))
        if not session.playing and session.runs and session.idle_for() > session.idle_seconds:
            try:
                session.release()
            except Exception:
                log.exception("releasing an idle session failed")
        del session
        if closing.wait(wait):
            return
