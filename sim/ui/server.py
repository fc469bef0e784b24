"""The web server behind ``buddysim ui``: Solara's app under uvicorn, with a classroom's safety catches.

    python -m sim.ui.server [--host 127.0.0.1] [--port 8765] [--session-timeout 60] [--idle-minutes 20]

- binds 127.0.0.1 unless told otherwise, and warns, naming what becomes reachable, when it is not a
  loopback address;
- a page closed or a browser killed frees its session after ``--session-timeout`` seconds (Solara's
  kernel cull; its default is a day), and a page left open but untouched puts its models away after
  ``--idle-minutes`` (:class:`sim.ui.session.Session`);
- Solara's server statistics page (``/resourcez``) answers only to this machine;
- no traceback or server path reaches a browser: the page catches its own errors, and an unexpected
  server error answers a plain "Internal Server Error";
- a value a browser sends is checked before the page shows it (ipywidgets' echo of it is off).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_warning(host: str, port: int) -> str | None:
    """The warning to print for a non-loopback ``--host`` (None for a loopback one)."""
    if is_loopback(host):
        return None
    where = "every network this machine is on" if host in ("0.0.0.0", "::", "") else f"the network of {host}"
    return (
        f"warning: --host {host} makes the demo reachable from {where} on port {port}: anyone who can reach it "
        f"can open pages, run models on this machine and use its memory and CPU. There is no login. Use it only "
        f"on a network you trust (a classroom's), and stop the server after the lesson. The default, 127.0.0.1, "
        f"serves this machine only."
    )


class LocalOnly:
    """ASGI middleware: the paths given answer 404 to any client that is not on this machine."""

    def __init__(self, app, paths: tuple[str, ...]):
        self.app = app
        self.paths = paths

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("path", "").rstrip("/") in self.paths:
            client = scope.get("client") or ("", 0)
            if not is_loopback(str(client[0])):
                await send(
                    {"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]}
                )
                await send({"type": "http.response.body", "body": b"Not Found"})
                return
        await self.app(scope, receive, send)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m sim.ui.server", description="serve the buddysim teaching page")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--session-timeout", type=float, default=60.0, help="seconds a closed page's session is kept")
    ap.add_argument("--idle-minutes", type=float, default=20.0, help="minutes before an untouched page's models go")
    return ap


def serve(host: str, port: int, session_timeout: float = 60.0, idle_minutes: float = 20.0) -> None:
    os.environ["SOLARA_APP"] = "sim.app"
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "false")
    os.environ["SOLARA_KERNEL_CULL_TIMEOUT"] = f"{max(session_timeout, 1.0):g}s"
    os.environ["BUDDYSIM_IDLE_MINUTES"] = f"{idle_minutes:g}"
    # ipywidgets echoes every value a browser sends straight back to it before the page has checked it; a
    # forged 1e9 would reach the slider, which clamps it to its end and sends that back as a real move.
    # One page per session has nothing to keep in step, so the echo is off and a refused value never shows.
    os.environ["JUPYTER_WIDGETS_ECHO"] = "0"
    os.environ["SERVER_NAME"] = host
    os.environ["SERVER_PORT"] = str(port)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("sim.ui").setLevel(logging.INFO)

    import uvicorn
    from solara.server import settings as solara_settings

    solara_settings.main.mode = "production"
    import solara.server.starlette as solara_starlette

    app = LocalOnly(solara_starlette.app, ("/resourcez",))
    uvicorn.run(app, host=host, port=port, log_level="warning", ws="auto", lifespan="on")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not 0 < args.port < 65536:
        print(f"--port: expected 1-65535, got {args.port}", file=sys.stderr)
        return 2
    if args.session_timeout <= 0 or args.idle_minutes <= 0:
        print("--session-timeout and --idle-minutes must be positive", file=sys.stderr)
        return 2
    warning = host_warning(args.host, args.port)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    serve(args.host, args.port, args.session_timeout, args.idle_minutes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
