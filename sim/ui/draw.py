"""The demo's figures as SVG, drawn to the pixel size the browser measured, in two layers.

Each figure is a *base* layer that changes only when the size, the panels or the structure change (axes,
grid, titles, thresholds, the work ties of the network), and an *overlay* that changes every frame (the
series, the staff's colours, the ties across the partnership, the executives). The browser keeps the
base and swaps only the overlay, so a frame costs the server a few milliseconds of string formatting
and the network a few kilobytes. Sizes are CSS pixels: an SVG drawn at ``width`` x ``height`` with
fonts of ``font_px`` shows text of exactly that size on screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from html import escape

import numpy as np

from ..analysis.plots import ORG_COLOURS, ORG_LABELS, TIMELINE_COLOUR
from ..model.metrics import COUNTERS
from ..timeline import firings, marks
from .explain import outcome_colour
from .view import RunView, Structure

FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
GRID = "#d9d9d9"
AXIS = "#555555"
WORK_TIE = "#c8c8c8"
CROSS_TIE = "#7570b3"
INTERIM_EDGE = "#d73027"
RUN_DASH = ("", "7 4")  # setting 1 solid, setting 2 dashed


def _viridis() -> list[str]:
    from matplotlib import colormaps

    rgba = colormaps["viridis"](np.linspace(0, 1, 256))
    return ["#{:02x}{:02x}{:02x}".format(*(int(round(255 * c)) for c in row[:3])) for row in rgba]


VIRIDIS = _viridis()


def colour_of(values: np.ndarray) -> list[str]:
    """Viridis colours for values in [0, 1] (NaN -> light grey)."""
    idx = np.clip(np.nan_to_num(values, nan=-1.0) * 255, -1, 255).astype(int)
    return [VIRIDIS[i] if i >= 0 else "#eeeeee" for i in idx.tolist()]


# --- the network's layout (computed once per structure, shared by every session) -----------------------
@lru_cache(maxsize=32)
def _layout_cached(key: tuple, org: bytes, e_u: bytes, e_v: bytes, e_dtype: str) -> np.ndarray:
    import networkx as nx

    org_a = np.frombuffer(org, dtype=np.int8)
    u = np.frombuffer(e_u, dtype=e_dtype)
    v = np.frombuffer(e_v, dtype=e_dtype)
    n = org_a.size
    pos = np.zeros((n, 2))
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(zip(u.tolist(), v.tolist()))
    for o in (0, 1):
        rows = np.flatnonzero(org_a == o)
        if rows.size == 0:
            continue
        sub = g.subgraph(rows.tolist())
        # a larger optimal distance than networkx's default spreads the teams over the drawing
        layout = nx.spring_layout(sub, seed=o + 1, iterations=80, k=2.5 / np.sqrt(max(rows.size, 1)))
        xy = np.array([layout[i] for i in rows.tolist()])
        xy = xy - (xy.max(axis=0) + xy.min(axis=0)) / 2
        pos[rows] = xy / (np.abs(xy).max(axis=0) + 1e-9)  # fill [-1, 1] in x and in y
    return pos


def layout(structure: Structure) -> np.ndarray:
    """Each trust's work network spring-laid out in [-1, 1]^2 (A and B separately)."""
    return _layout_cached(
        structure.key(),
        structure.org.tobytes(),
        structure.e_u.tobytes(),
        structure.e_v.tobytes(),
        structure.e_u.dtype.str,
    )


# --- the network figure ----------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkGeometry:
    width: int
    height: int
    font_px: int

    @property
    def board_y(self) -> float:
        return 2.2 * self.font_px + 14

    def centres(self) -> tuple[tuple[float, float], float, float, float]:
        """Centre x of A and B, centre y, and the half-width and half-height of a trust's drawing."""
        top = self.board_y + self.font_px + 6
        bottom = self.height - 8
        half_w = max(10.0, self.width / 4 - 14)
        half_h = max(10.0, (bottom - top) / 2)
        return (self.width * 0.25, self.width * 0.75), top + half_h, half_w, half_h

    def node_radius(self, n: int) -> float:
        _, _, rx, ry = self.centres()
        return float(max(2.5, min(6.5, math.sqrt(rx * ry / max(n, 1)) * 0.38)))


def network_xy(pos: np.ndarray, org: np.ndarray, geo: NetworkGeometry) -> np.ndarray:
    (ax, bx), cy, rx, ry = geo.centres()
    cx = np.where(org == 0, ax, bx)
    return np.column_stack([cx + pos[:, 0] * rx, cy + pos[:, 1] * ry])


def _segments(xy: np.ndarray, u: np.ndarray, v: np.ndarray) -> str:
    if u.size == 0:
        return ""
    pts = np.column_stack([xy[u], xy[v]])
    return " ".join(map("M{:.1f} {:.1f}L{:.1f} {:.1f}".format, *pts.T.tolist()))


@lru_cache(maxsize=16)
def leader_xy(structure: Structure, geo: NetworkGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Positions and sizes of the executives' squares: a row above each trust, chief executive first."""
    (ax, bx), _, rx, _ = geo.centres()
    xy = np.zeros((structure.l_org.size, 2))
    size = np.zeros(structure.l_org.size)
    for o, cx in ((0, ax), (1, bx)):
        seats = np.flatnonzero(structure.l_org == o)
        k = seats.size
        if k == 0:
            continue
        step = min(2.6 * geo.font_px, (1.6 * rx) / max(k - 1, 1))
        xs = cx + (np.arange(k) - (k - 1) / 2) * step
        xy[seats] = np.column_stack([xs, np.full(k, geo.board_y)])
        size[seats] = geo.font_px * 1.15
        size[seats[0]] = geo.font_px * 1.5
    return xy, size


@lru_cache(maxsize=16)
def _circle_heads(structure: Structure, geo: NetworkGeometry) -> tuple[list[str], list[str]]:
    """Per staff member, the unchanging start and end of its circle (position, size, edge colour)."""
    xy = network_xy(layout(structure), structure.org, geo)
    r = geo.node_radius(int(structure.org.size / 2))
    edges = [ORG_COLOURS["a"], ORG_COLOURS["b"]]
    heads = [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="' for x, y in xy.tolist()]
    tails = [f'" stroke="{edges[o]}" stroke-width="1"/>' for o in structure.org.tolist()]
    return heads, tails


@lru_cache(maxsize=16)
def _node_xy(structure: Structure, geo: NetworkGeometry) -> np.ndarray:
    return network_xy(layout(structure), structure.org, geo)


def network_base(structure: Structure, geo: NetworkGeometry) -> str:
    """Work ties, the trusts' names and the boards' label: everything that stays for the whole run."""
    xy = network_xy(layout(structure), structure.org, geo)
    (ax, bx), _, _, _ = geo.centres()
    fs = geo.font_px
    parts = [
        f'<rect x="0" y="0" width="{geo.width}" height="{geo.height}" fill="#ffffff"/>',
        f'<path d="{_segments(xy, structure.e_u, structure.e_v)}" stroke="{WORK_TIE}" stroke-width="0.8" fill="none"/>',
    ]
    for o, cx in ((0, ax), (1, bx)):
        label = ORG_LABELS["ab"[o]]
        parts.append(
            f'<text x="{cx:.0f}" y="{fs + 2}" font-size="{fs + 2}" font-weight="bold" text-anchor="middle" '
            f'fill="{ORG_COLOURS["ab"[o]]}" font-family="{FONT}">{escape(label)}</text>'
        )
    return "".join(parts)


def network_overlay(view: RunView, geo: NetworkGeometry, colour_attr: str) -> str:
    """Ties across the partnership, staff coloured by ``colour_attr``, executives coloured by commitment."""
    structure = view.structure
    xy = _node_xy(structure, geo)
    parts = []
    if view.x_u.size:
        # thinner and fainter as they multiply, so that a hundred ties do not hide the staff
        width = max(0.9, min(2.0, 60 / view.x_u.size))
        opacity = 0.85 if view.x_u.size <= 30 else 0.55
        parts.append(
            f'<path d="{_segments(xy, view.x_u, view.x_v)}" stroke="{CROSS_TIE}" stroke-width="{width:.2g}" '
            f'stroke-opacity="{opacity}" fill="none"/>'
        )
    values = view.staff.get(colour_attr)
    if values is None:
        values = np.full(structure.org.size, np.nan)
    values = values.copy()
    if view.present is not None:
        values[~view.present] = np.nan
    heads, tails = _circle_heads(structure, geo)
    parts.append("".join([h + f + t for h, f, t in zip(heads, colour_of(values), tails)]))
    lxy, size = leader_xy(structure, geo)
    lfill = colour_of(view.l_commit)
    for (x, y), s, f, vacant in zip(lxy.tolist(), size.tolist(), lfill, view.l_vacant.tolist()):
        edge, width = (INTERIM_EDGE, 3) if vacant else ("#222222", 1.5)
        parts.append(
            f'<rect x="{x - s / 2:.1f}" y="{y - s / 2:.1f}" width="{s:.1f}" height="{s:.1f}" fill="{f}" '
            f'stroke="{edge}" stroke-width="{width}"/>'
        )
    return "".join(parts)


# --- the charts ------------------------------------------------------------------------------------
#: Plain names for the metrics that come in pairs (A, B); others are named from their key.
METRIC_LABELS = {
    "partner_trust": "Trust in the partner",
    "board_commitment": "Board commitment",
    "adoption": "Adoption of shared method",
    "culture": "Improvement culture",
    "loyalty": "Loyalty to own trust",
    "leader_trust": "Trust in own leaders",
    "fatigue": "Change fatigue",
    "leavers": "Leavers",
    "headcount": "Staff in post",
    "interim_seats": "Interim executives",
}
#: Counts (a week's leavers, encounters ...) are drawn as a trailing mean over this many weeks.
COUNT_WINDOW = 4
#: Charts shown by default, in this order, when the model reports them.
DEFAULT_PANELS = ("partner_trust", "board_commitment", "adoption", "culture", "loyalty", "leavers")
#: Reference lines: metric -> (scenario key, label, style); drawn only when the scenario has the key.
REFERENCE_LINES = {
    "partner_trust": (("outcome.bed_in_trust", "bed-in", "bed"), ("outcome.fail_floor", "floor", "floor")),
    "adoption": (("outcome.bed_in_adoption", "bed-in", "bed"),),
    "board_commitment": (("outcome.fail_floor", "floor", "floor"),),
}


def metric_label(name: str) -> str:
    return METRIC_LABELS.get(name, name.replace("_", " ").capitalize())


def paired_metrics(names) -> list[str]:
    """Metrics reported for both trusts (``x_a`` and ``x_b``), in the order first seen."""
    names = list(names)
    have = set(names)
    return [n[:-2] for n in names if n.endswith("_a") and n[:-2] + "_b" in have]


def nice_ceiling(x: float) -> float:
    if not math.isfinite(x) or x <= 1.0:
        return 1.0
    mag = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if x <= m * mag:
            return m * mag
    return 10 * mag


@dataclass(frozen=True)
class ChartGeometry:
    width: int
    height: int
    font_px: int
    panels: tuple  # metric names
    horizon: int
    ymax: tuple  # per panel
    references: tuple  # per panel: ((value, label, style), ...)
    averaged: tuple = ()  # per panel: drawn as a trailing mean (a count)

    @property
    def columns(self) -> int:
        """1 to 3 columns, whichever gives panels nearest 3:2 (wide enough to read a trend)."""
        n = len(self.panels)
        if n <= 1 or self.height <= 0:
            return 1

        def misfit(cols: int) -> float:
            rows = math.ceil(n / cols)
            return abs(math.log((self.width / cols) / (self.height / rows) / 1.5))

        return min(range(1, min(n, 3) + 1), key=misfit)

    @property
    def rows(self) -> int:
        return max(1, math.ceil(len(self.panels) / self.columns))

    def box(self, i: int) -> tuple[float, float, float, float]:
        """Plot area (left, top, width, height) of panel ``i``."""
        fs = self.font_px
        cw, ch = self.width / self.columns, self.height / self.rows
        c, r = i % self.columns, i // self.columns
        left = c * cw + 3.2 * fs
        top = r * ch + 1.9 * fs
        w = cw - 3.2 * fs - 1.2 * fs
        h = ch - 1.9 * fs - 2.6 * fs
        return left, top, max(w, 10), max(h, 10)

    def x(self, i: int, weeks: np.ndarray) -> np.ndarray:
        left, _, w, _ = self.box(i)
        return left + np.asarray(weeks, dtype=float) / max(self.horizon, 1) * w

    def y(self, i: int, values: np.ndarray) -> np.ndarray:
        _, top, _, h = self.box(i)
        return top + (1 - np.asarray(values, dtype=float) / self.ymax[i]) * h


def week_ticks(horizon: int) -> list[int]:
    step = 52 if horizon > 78 else 13 if horizon > 26 else 4
    if horizon > 8 * 52:
        step = 52 * math.ceil(horizon / (6 * 52))
    ticks = list(range(0, horizon, step))
    if len(ticks) > 1 and horizon - ticks[-1] < step / 2:
        ticks.pop()  # too close to the horizon's label
    return [*ticks, horizon]


def _fmt(v: float) -> str:
    return f"{v:g}" if v >= 10 or v == 0 else f"{v:.1f}".rstrip("0").rstrip(".") if v >= 1 else f"{v:.2g}"


def charts_base(geo: ChartGeometry) -> str:
    """Frames, grid, ticks (weeks), titles and threshold lines of every panel."""
    fs = geo.font_px
    parts = [f'<rect x="0" y="0" width="{geo.width}" height="{geo.height}" fill="#ffffff"/>']
    ticks = week_ticks(geo.horizon)
    for i, name in enumerate(geo.panels):
        left, top, w, h = geo.box(i)
        title = metric_label(name) + (f" ({COUNT_WINDOW}-wk mean)" if geo.averaged and geo.averaged[i] else "")
        room = int((w + 2.2 * fs) / (0.6 * (fs + 1)))
        if len(title) > room:
            title = title[: max(room - 1, 4)].rstrip() + "…"
        parts.append(
            f'<text x="{left - 2.2 * fs:.0f}" y="{top - 0.55 * fs:.0f}" font-size="{fs + 1}" font-weight="bold" '
            f'fill="#222" font-family="{FONT}">{escape(title)}</text>'
        )
        for t in ticks:
            x = float(geo.x(i, [t])[0])
            parts.append(f'<path d="M{x:.1f} {top:.1f}V{top + h:.1f}" stroke="{GRID}" stroke-width="1"/>')
            parts.append(
                f'<text x="{x:.1f}" y="{top + h + 1.15 * fs:.1f}" font-size="{fs}" text-anchor="middle" '
                f'fill="{AXIS}" font-family="{FONT}">{t}</text>'
            )
        for frac in (0.0, 0.5, 1.0):
            v = geo.ymax[i] * frac
            y = float(geo.y(i, [v])[0])
            parts.append(f'<path d="M{left:.1f} {y:.1f}H{left + w:.1f}" stroke="{GRID}" stroke-width="1"/>')
            parts.append(
                f'<text x="{left - 0.35 * fs:.1f}" y="{y + 0.35 * fs:.1f}" font-size="{fs}" text-anchor="end" '
                f'fill="{AXIS}" font-family="{FONT}">{_fmt(v)}</text>'
            )
        parts.append(
            f'<rect x="{left:.1f}" y="{top:.1f}" width="{w:.1f}" height="{h:.1f}" fill="none" stroke="{AXIS}" '
            f'stroke-width="1"/>'
        )
        if i // geo.columns == geo.rows - 1 or i + geo.columns >= len(geo.panels):
            parts.append(
                f'<text x="{left + w / 2:.1f}" y="{top + h + 2.3 * fs:.1f}" font-size="{fs}" text-anchor="middle" '
                f'fill="{AXIS}" font-family="{FONT}">week</text>'
            )
        for value, label, style in geo.references[i]:
            y = float(geo.y(i, [value])[0])
            colour, dash = ("#000000", "6 4") if style == "bed" else ("#d73027", "2 3")
            parts.append(
                f'<path d="M{left:.1f} {y:.1f}H{left + w:.1f}" stroke="{colour}" stroke-width="1.4" '
                f'stroke-dasharray="{dash}"/>'
            )
            parts.append(
                f'<text x="{left + w - 3:.1f}" y="{y - 3:.1f}" font-size="{fs}" text-anchor="end" fill="{colour}" '
                f'font-family="{FONT}">{escape(label)} {value:g}</text>'
            )
    return "".join(parts)


def _polyline(x: np.ndarray, y: np.ndarray) -> str:
    ok = np.isfinite(y)
    if ok.sum() < 1:
        return ""
    return " ".join(map("{:.1f},{:.1f}".format, x[ok].tolist(), y[ok].tolist()))


def charts_overlay(views: list[RunView], geo: ChartGeometry) -> str:
    """The series of every run (A and B in their colours; the second run dashed), the outcome weeks and the
    weeks the scenario's timeline acted (grey dashes, labelled in the first panel, the label also on hover)."""
    parts = []
    for i, name in enumerate(geo.panels):
        _, top, _, h = geo.box(i)
        for k, view in enumerate(views):
            for m in marks(firings((k, e) for e in view.events)):
                x = float(geo.x(i, [m.week])[0])
                label = escape(m.label)
                parts.append(
                    f'<path d="M{x:.1f} {top:.1f}V{top + h:.1f}" stroke="{TIMELINE_COLOUR}" stroke-width="1.5" '
                    f'stroke-dasharray="6 2 1 2" stroke-opacity="0.85" class="timeline-mark"><title>week {m.week}: '
                    f"{label}</title></path>"
                )
                if i == 0:
                    parts.append(
                        f'<text x="{x + 3:.1f}" y="{top + geo.font_px:.1f}" font-size="{0.8 * geo.font_px:.0f}" '
                        f'fill="{TIMELINE_COLOUR}" class="timeline-label">{label}</text>'
                    )
            if view.decided and view.outcome_step is not None:
                x = float(geo.x(i, [view.outcome_step])[0])
                parts.append(
                    f'<path d="M{x:.1f} {top:.1f}V{top + h:.1f}" stroke="{outcome_colour(view.outcome)}" '
                    f'stroke-width="2" stroke-dasharray="{RUN_DASH[k % 2] or "none"}" stroke-opacity="0.8"/>'
                )
            for o in "ab":
                values = view.series.get(f"{name}_{o}")
                if values is None:
                    continue
                if geo.averaged and geo.averaged[i]:
                    values = trailing_mean(values, COUNT_WINDOW)
                points = _polyline(geo.x(i, view.weeks), geo.y(i, np.minimum(values, geo.ymax[i])))
                if points:
                    dash = f' stroke-dasharray="{RUN_DASH[k % 2]}"' if RUN_DASH[k % 2] else ""
                    parts.append(
                        f'<polyline points="{points}" fill="none" stroke="{ORG_COLOURS[o]}" stroke-width="2.5" '
                        f'stroke-linejoin="round"{dash}/>'
                    )
    return "".join(parts)


def is_count(name: str) -> bool:
    """A metric counted afresh each week (the model's COUNTERS: leavers, encounters ...), not a level."""
    return name in COUNTERS


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each week and the ``window - 1`` before it (fewer at the start)."""
    v = np.nan_to_num(values, nan=0.0)
    c = np.concatenate([[0.0], np.cumsum(v)])
    idx = np.arange(1, v.size + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def chart_geometry(
    width: int, height: int, font_px: int, panels, horizon: int, views: list[RunView], scenario
) -> ChartGeometry:
    """Geometry for ``panels``: y up to 1 for shares, a round ceiling for counts; thresholds from the scenario."""
    ymax, refs, averaged = [], [], []
    for name in panels:
        series = [v.series[f"{name}_{o}"] for v in views for o in "ab" if v.series.get(f"{name}_{o}") is not None]
        count = is_count(f"{name}_a") or is_count(name)
        top = 0.0
        for values in series:
            shown = trailing_mean(values, COUNT_WINDOW) if count else values
            if shown.size and np.isfinite(shown).any():
                top = max(top, float(np.nanmax(shown)))
        averaged.append(count)
        ymax.append(nice_ceiling(top))
        lines = []
        for key, label, style in REFERENCE_LINES.get(name, ()):
            if scenario is not None and key in scenario:
                lines.append((float(scenario[key]), label, style))
        refs.append(tuple(lines))
    return ChartGeometry(
        int(width), int(height), int(font_px), tuple(panels), int(horizon), tuple(ymax), tuple(refs), tuple(averaged)
    )
