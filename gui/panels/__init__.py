"""Every dock of the window, one module each, and their registry ``DOCKS``.

The step views (gates, gradient_flow, health, sample, states) take a model (the small
protocol in ``model.py``: the RunController, a compare side, or a test's fake) and the
TimeCursor, and only subscribe to their signals; items are created once and updated with
setData/setImage. The other docks (params, explanation, breakpoints, runs) drive the run.
Helpers: base.py (Panel, HeatmapPlot ...), scales.py, ranges.py, tokens.py, colormaps.py.

Adding a panel: its module with ``DOCK = Dock(...)`` (registry.py), and one line below.
"""

from rnnscope.gui.panels import (
    breakpoints,
    explanation,
    gates,
    gradient_flow,
    health,
    params,
    runs,
    sample,
    states,
)
from rnnscope.gui.panels.gates import GatesPanel
from rnnscope.gui.panels.gradient_flow import GradientFlowPanel
from rnnscope.gui.panels.health import HealthPanel
from rnnscope.gui.panels.registry import Dock, DockContext, Place
from rnnscope.gui.panels.sample import SamplePanel
from rnnscope.gui.panels.states import StatesPanel

# In the order the default layout places them (a split or a tab needs its neighbour first).
DOCKS: tuple[Dock, ...] = (
    params.DOCK,
    gradient_flow.DOCK,
    gates.DOCK,
    health.DOCK,
    states.DOCK,
    sample.DOCK,
    explanation.DOCK,
    breakpoints.DOCK,
    runs.DOCK,
)
DOCK_OF_DEMO_NAME: dict[str, str] = {shown: d.name for d in DOCKS for shown in (d.name, *d.shows)}

__all__ = [
    "DOCKS",
    "DOCK_OF_DEMO_NAME",
    "Dock",
    "DockContext",
    "GatesPanel",
    "GradientFlowPanel",
    "HealthPanel",
    "Place",
    "SamplePanel",
    "StatesPanel",
]
