"""Solara's browser assets, installed locally so the teaching UI works with no internet.

Solara fetches its front-end (Vuetify app, RequireJS, Font Awesome, the grid
layout) from a CDN at run time and caches what it fetched under
``<prefix>/share/solara/cdn/``. Offline (a classroom, an NHS network that
blocks outside content) the page stays blank. ``install()`` fills that cache
from the npm registry once, with ``npm pack``, laid out as the CDN paths that
Solara asks for; after that the UI needs no network at all.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

#: What Solara (1.64, ipywidgets 8, Vuetify 2 app) loads from its CDN.
ASSETS = (
    "@widgetti/solara-vuetify-app@10.1.1",
    "requirejs@2.3.6",
    "font-awesome@4.5.0",
    "@widgetti/vue-grid-layout@2.3.13-alpha.2",
)
MARKER = ".buddysim-complete"


def cdn_dir() -> Path:
    try:
        import solara.settings

        return Path(solara.settings.assets.proxy_cache_dir)
    except (ImportError, AttributeError):
        return Path(sys.prefix) / "share" / "solara" / "cdn"


def missing() -> list[str]:
    root = cdn_dir()
    return [spec for spec in ASSETS if not (root / spec / MARKER).exists()]


def install(log=print) -> Path:
    """Download (npm pack) and unpack every missing asset; returns the cache folder."""
    root = cdn_dir()
    todo = missing()
    if not todo:
        return root
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "npm is needed once to fetch Solara's browser assets (apt-get install npm, or Node.js); "
            "after that the UI works offline"
        )
    for spec in todo:
        log(f"fetching {spec} from the npm registry")
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run(
                [npm, "pack", spec, "--pack-destination", tmp, "--silent"], capture_output=True, text=True, timeout=300
            )
            if out.returncode:
                raise RuntimeError(f"npm pack {spec} failed: {out.stderr.strip()[-500:]}")
            tgz = next(Path(tmp).glob("*.tgz"))
            target = root / spec
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            with tarfile.open(tgz) as tar:
                for member in tar.getmembers():
                    parts = Path(member.name).parts
                    if len(parts) < 2 or ".." in parts or member.issym() or member.islnk():
                        continue
                    member.name = str(Path(*parts[1:]))  # drop the "package/" folder npm adds
                    tar.extract(member, target, filter="data")
            _write_main(target)
            (target / MARKER).write_text(spec + "\n")
    return root


def _write_main(target: Path) -> None:
    """A bare ``<spec>`` URL is served as ``<spec>/__main.js``: the package's main file, as the CDN resolves it."""
    pkg = json.loads((target / "package.json").read_text())
    for key in ("jsdelivr", "browser", "main"):
        main = pkg.get(key)
        if isinstance(main, str) and (target / main).is_file():
            shutil.copyfile(target / main, target / "__main.js")
            return


if __name__ == "__main__":  # pragma: no cover
    print(install())
