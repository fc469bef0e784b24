"""The page's one custom widget: an SVG figure that measures its box and exports itself as PNG.

The browser reports the figure's box (``box_w``, ``box_h``, CSS pixels) and the window's width; the server
answers with the SVG's two layers drawn to exactly that size (:mod:`sim.ui.draw`). Incrementing
``export_request`` makes the browser rasterise the SVG at twice its size and download it as
``filename``: what the class sees, nothing fetched from anywhere.
"""

from __future__ import annotations

import ipyvue
import traitlets


class SvgFigure(ipyvue.VueTemplate):
    template_file = (__file__, "vue/svg_figure.vue")

    base = traitlets.Unicode("").tag(sync=True)
    overlay = traitlets.Unicode("").tag(sync=True)
    view_w = traitlets.Int(0).tag(sync=True)
    view_h = traitlets.Int(0).tag(sync=True)
    box_w = traitlets.Int(0).tag(sync=True)
    box_h = traitlets.Int(0).tag(sync=True)
    viewport_w = traitlets.Int(0).tag(sync=True)
    font_px = traitlets.Int(14).tag(sync=True)
    css_class = traitlets.Unicode("").tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)
    filename = traitlets.Unicode("figure.png").tag(sync=True)
    export_request = traitlets.Int(0).tag(sync=True)
