"""Local worker processes for a sweep's chunks.

- A worker that dies (killed, out of memory) is replaced, and the chunk it was running is run again on the
  new one, up to :data:`MAX_ATTEMPTS` times; then the sweep stops with a message naming the chunk (its runs
  and seeds are in the design, so it can be run alone to see why). The other workers carry on meanwhile.
- Workers die with the sweeping process: on Linux each asks the kernel for SIGKILL when its parent dies
  (``prctl(PR_SET_PDEATHSIG)``), elsewhere a watchdog thread notices the parent is gone; so a sweep killed
  with SIGKILL leaves no worker computing on (and holding its caller's pipes).
- Each worker has one chunk at a time: the next is sent when it hands back a result (no two large messages
  can then block each other in the pipe), before the result is committed.

Workers are started with the ``spawn`` method (a fresh interpreter: safe with the threads numba and Arrow
start) and ignore Ctrl-C, which the sweeping process handles by stopping them.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from multiprocessing.connection import wait

from .chunk import Task, run_chunk
from .store import SweepError

#: Times a chunk is started on a worker that then dies before the sweep gives up on it.
MAX_ATTEMPTS = 3
#: Workers that die before starting any chunk, in a row, before the sweep gives up (a broken installation).
MAX_STARTUP_DEATHS = 3


def describe_exit(code: int | None) -> str:
    if code is None:
        return "it stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (the out-of-memory killer sends it, as does kill -9)" if -code == signal.SIGKILL else ""
        return f"it was killed by {name}{hint}"
    return f"it exited with status {code}"


def die_with_parent(parent_pid: int) -> None:
    """Make this process end when ``parent_pid`` does (Linux: PR_SET_PDEATHSIG; elsewhere: a watchdog)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="buddysim-parent-watch", daemon=True).start()


def worker_main(conn, parent_pid: int) -> None:
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        conn.send(("start", task.chunk))
        try:
            result = run_chunk(task)
        except Exception as exc:  # run_chunk records each run's errors itself; this is a refusal (other code)
            conn.send(("error", task.chunk, f"{type(exc).__name__}: {exc}"))
            continue
        conn.send(("done", *result))


class _Worker:
    def __init__(self, ctx):
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=worker_main, args=(child, os.getpid()), name="buddysim-worker", daemon=True)
        self.proc.start()
        child.close()
        self.task: Task | None = None  # the chunk sent to it, not yet handed back
        self.started = False  # whether it said it began that chunk
        self.ever_started = False


class LocalPool:
    """``run(tasks)`` yields ``(chunk, runs, series)`` as chunks finish, on ``workers`` processes."""

    def __init__(self, workers: int, *, log=print, max_attempts: int = MAX_ATTEMPTS):
        self.n = workers
        self.log = log
        self.max_attempts = max_attempts
        self.ctx = multiprocessing.get_context("spawn")
        self.workers: list[_Worker] = []
        self.attempts: dict[int, int] = {}
        self.restarts = 0
        self._startup_deaths = 0

    def run(self, tasks) -> Iterator[tuple]:
        todo: deque[Task] = deque()
        source = iter(tasks)
        exhausted = False
        finished = False
        try:
            self.workers = [_Worker(self.ctx) for _ in range(self.n)]
            while True:
                for w in self.workers:
                    if w.task is None:
                        task = todo.popleft() if todo else None
                        if task is None and not exhausted:
                            task = next(source, None)
                            exhausted = task is None
                        if task is None:
                            continue
                        self._send(w, task, todo)
                busy = [w for w in self.workers if w.task is not None]
                if not busy:
                    if todo:
                        continue
                    finished = True
                    return
                by_handle = {}
                for w in busy:
                    by_handle[w.conn] = w
                    by_handle[w.proc.sentinel] = w
                for handle in wait(list(by_handle)):
                    w = by_handle[handle]
                    if w not in self.workers:
                        continue  # already replaced in this round
                    result = self._receive(w, todo)
                    if result is not None:
                        yield result
        finally:
            self._stop(graceful=finished)

    def _send(self, w: _Worker, task: Task, todo: deque) -> None:
        w.task, w.started = task, False
        try:
            w.conn.send(task)
        except OSError:
            self._replace(w, todo)

    def _receive(self, w: _Worker, todo: deque):
        """Read what worker ``w`` says; on its death, requeue its chunk and replace it. Returns a result or None."""
        try:
            if not w.conn.poll():
                if w.proc.is_alive():
                    return None
                raise EOFError
            msg = w.conn.recv()
        except (EOFError, OSError):
            self._replace(w, todo)
            return None
        if msg[0] == "start":
            w.started = w.ever_started = True
            self._startup_deaths = 0
            return None
        if msg[0] == "error":
            raise SweepError("worker", None, f"chunk {msg[1]}: {msg[2]}")
        _, chunk, runs, series = msg
        w.task = None
        # Hand the worker its next chunk before the caller commits this one (the worker is idle meanwhile).
        nxt = todo.popleft() if todo else None
        if nxt is not None:
            self._send(w, nxt, todo)
        return chunk, runs, series

    def _replace(self, w: _Worker, todo: deque) -> None:
        w.proc.join(timeout=2)
        code = w.proc.exitcode
        with contextlib.suppress(OSError):
            w.conn.close()
        self.workers.remove(w)
        task = w.task
        if task is not None and not w.started:
            self.log(
                f"worker process {w.proc.pid} died before starting chunk {task.chunk} ({describe_exit(code)}); "
                "starting a new worker"
            )
        if task is not None:
            if w.started:
                n = self.attempts[task.chunk] = self.attempts.get(task.chunk, 0) + 1
                first, last = task.rows[0][0], task.rows[-1][0]
                if n >= self.max_attempts:
                    raise SweepError(
                        "worker",
                        None,
                        f"chunk {task.chunk} (runs {first}-{last}) was started {n} times and each time its worker "
                        f"process died ({describe_exit(code)}); the sweep stops. A run that needs more memory than "
                        f"the machine has is the usual cause: try fewer --workers, or run one of its runs alone "
                        f"(their parameters and seeds are in the design: buddysim sweep --dry-run shows its size)",
                    )
                self.log(
                    f"worker process {w.proc.pid} died while running chunk {task.chunk} (runs {first}-{last}): "
                    f"{describe_exit(code)}; starting a new worker and running the chunk again "
                    f"(attempt {n + 1} of {self.max_attempts})"
                )
            todo.appendleft(task)
        elif w.ever_started:
            self.log(f"worker process {w.proc.pid} died between chunks ({describe_exit(code)}); starting a new worker")
        if not w.ever_started:
            self._startup_deaths += 1
            if self._startup_deaths >= MAX_STARTUP_DEATHS:
                raise SweepError(
                    "worker",
                    None,
                    f"{self._startup_deaths} worker processes in a row died before starting work "
                    f"({describe_exit(code)}); is the installation complete (python -c 'import sim')?",
                )
        self.restarts += 1
        self.workers.append(_Worker(self.ctx))

    def _stop(self, graceful: bool) -> None:
        workers, self.workers = self.workers, []
        if graceful:
            for w in workers:
                with contextlib.suppress(OSError):
                    w.conn.send(None)
            for w in workers:
                w.proc.join(timeout=10)
        for w in workers:  # Ctrl-C, SIGTERM or an error: do not wait for chunks in flight; a resume redoes them
            if w.proc.is_alive():
                w.proc.terminate()
        for w in workers:
            w.proc.join(timeout=5)
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join(timeout=5)
            with contextlib.suppress(OSError):
                w.conn.close()
