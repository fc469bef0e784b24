"""Fault injection for the crash tests: named points where a process can be made to die or fail on purpose.

Mature stores test their recovery by failing on purpose at chosen places (SQLite's test VFS, FreeBSD's
fail points, TiKV's fail-rs). A point costs one dictionary lookup when nothing is armed. To arm one, set
``BUDDYSIM_FAILPOINT`` in the environment of the process (worker processes inherit it)::

    BUDDYSIM_FAILPOINT=worker.chunk.3            SIGKILL the worker process about to run chunk 3 (every time)
    BUDDYSIM_FAILPOINT=worker.chunk.3@2          ... only at its 2nd hit in a process
    BUDDYSIM_FAILPOINT=worker.chunk.3:enospc     raise OSError(ENOSPC) there instead (also: eio, error)

With ``BUDDYSIM_FAILPOINT_ONCE=<path>`` the point fires once across all processes (the first to create
``<path>`` fires; the others carry on), which is how a test makes one worker die once and checks that its
chunk is run again. The store's own crash tests do not need points in the store: they kill the sweeping
process at each of its file-system calls in turn (tests/crash_harness.py).
"""

from __future__ import annotations

import errno
import os
import signal
from collections import Counter

ENV = "BUDDYSIM_FAILPOINT"
ONCE_ENV = "BUDDYSIM_FAILPOINT_ONCE"
_hits: Counter = Counter()


def failpoint(name: str) -> None:
    """Die or fail here if ``BUDDYSIM_FAILPOINT`` names this point; otherwise do nothing."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    point, _, action = spec.partition(":")
    point, _, nth = point.partition("@")
    if point != name:
        return
    _hits[name] += 1
    if nth and _hits[name] != int(nth):
        return
    once = os.environ.get(ONCE_ENV)
    if once:
        try:
            os.close(os.open(once, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
    action = action or "kill"
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC) + " (injected at " + name + ")")
    if action == "eio":
        raise OSError(errno.EIO, os.strerror(errno.EIO) + " (injected at " + name + ")")
    raise RuntimeError(f"failure injected at {name}")
