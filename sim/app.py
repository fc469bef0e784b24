"""The browser face: ``buddysim ui`` serves this module's ``Page`` (Solara); the code lives in :mod:`sim.ui`."""

from .ui.page import Layout, Page

__all__ = ["Layout", "Page"]
