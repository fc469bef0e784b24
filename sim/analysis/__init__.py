"""Analysis for analysts: compare scenarios, sensitivity (SALib), scenario discovery (PRIM), HTML reports.

Everything returns pandas DataFrames and matplotlib figures, for notebooks as well as the CLI.
"""

from .compare import Comparison, Sample, compare, load_samples
from .discovery import Discovery, discover, prim_boxes
from .report import build_report
from .sensitivity import morris_indices, sensitivity, sobol_indices

__all__ = [
    "Comparison",
    "Discovery",
    "Sample",
    "build_report",
    "compare",
    "discover",
    "load_samples",
    "morris_indices",
    "prim_boxes",
    "sensitivity",
    "sobol_indices",
]
