"""The per-week metrics every engine reports (names, order and kinds).

Downstream code (sweeps, analysis, the UI) imports metric names from here, never from an engine.
"""

from __future__ import annotations

from .engine import COUNTERS, METRICS, ORG_METRICS, StepContext, measure

__all__ = ["COUNTERS", "METRICS", "ORG_METRICS", "StepContext", "measure"]
