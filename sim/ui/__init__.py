"""The teaching page: buddysim live in the browser, for a class.

- :mod:`sim.ui.settings`: what the controls set, checked (a forged value is refused, not obeyed);
- :mod:`sim.ui.session`: one page's run(s), the play clock, the horizon, idle and closed pages;
- :mod:`sim.ui.view`: the one place the page reads a model (an immutable snapshot per frame);
- :mod:`sim.ui.draw`: the figures as two-layer SVG, drawn to the size the browser measured;
- :mod:`sim.ui.explain`: the banner, the event log, the end-of-run message, About, in plain words;
- :mod:`sim.ui.lessons`: prepared demonstrations, their seeds chosen by running the model;
- :mod:`sim.ui.page`: the Solara components; :mod:`sim.ui.server`: the server ``buddysim ui`` starts.
"""
