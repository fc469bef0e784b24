"""Fill the parameter tables of docs/ODD.md from the schema and the calibration's priors.

    .venv/bin/python docs/build_tables.py          # rewrite the tables in place
    .venv/bin/python docs/build_tables.py --check  # exit 1 if any table is out of date (the tests run this)

A table is whatever lies between ``<!-- parameters: key key ... -->`` and ``<!-- /parameters -->``. Each row is
one parameter: its unit, default and allowed values (sim/scenario.py, the one source), its prior (the
distribution the calibration draws it from, validation/calibration.toml; "fixed" if it is not calibrated)
and its meaning.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.scenario import PARAM_BY_KEY  # noqa: E402

ODD = ROOT / "docs" / "ODD.md"
CALIBRATION = ROOT / "validation" / "calibration.toml"
BLOCK = re.compile(r"(<!-- parameters: ([^>]*?) -->\n)(.*?)(<!-- /parameters -->)", re.S)


def priors() -> dict[str, str]:
    """Each calibrated parameter's prior, in words."""
    if not CALIBRATION.exists():
        return {}
    doc = tomllib.loads(CALIBRATION.read_text())
    out = {}
    for key, spec in doc.get("prior", {}).items():
        kind = spec.get("distribution", "uniform")
        if kind in ("uniform", "loguniform"):
            name = "uniform" if kind == "uniform" else "log-uniform"
            out[key] = f"{name} {spec['low']:g}–{spec['high']:g}"
        elif kind in ("normal", "truncnormal", "beta"):
            args = ", ".join(f"{k} {v:g}" for k, v in spec.items() if k != "distribution")
            out[key] = f"{kind} ({args})"
        else:
            out[key] = kind
    return out


def _default(p) -> str:
    return f'`"{p.default}"`' if isinstance(p.default, str) else f"`{p.default!r}`"


def table(keys: list[str], prior: dict[str, str]) -> str:
    rows = ["| parameter | unit | default | allowed | prior | meaning |", "|---|---|---|---|---|---|"]
    for key in keys:
        p = PARAM_BY_KEY[key]
        rows.append(f"| `{key}` | {p.unit} | {_default(p)} | {p.allowed()} | {prior.get(key, 'fixed')} | {p.doc} |")
    return "\n".join(rows) + "\n"


def build(text: str) -> str:
    prior = priors()

    def fill(m: re.Match) -> str:
        keys = m.group(2).split()
        unknown = [k for k in keys if k not in PARAM_BY_KEY]
        if unknown:
            raise SystemExit(f"docs/ODD.md: unknown parameters in a table marker: {', '.join(unknown)}")
        return m.group(1) + table(keys, prior) + m.group(4)

    return BLOCK.sub(fill, text)


def main() -> int:
    text = ODD.read_text()
    new = build(text)
    if "--check" in sys.argv[1:]:
        if new != text:
            print("docs/ODD.md: parameter tables are out of date; run .venv/bin/python docs/build_tables.py")
            return 1
        return 0
    ODD.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
