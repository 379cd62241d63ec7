"""The dockable views: each takes the RunController (its model) and the TimeCursor and
only subscribes to their signals. Items are created once and updated with setData/setImage."""

from rnnscope.gui.panels.gates import GatesPanel
from rnnscope.gui.panels.gradient_flow import GradientFlowPanel
from rnnscope.gui.panels.health import HealthPanel
from rnnscope.gui.panels.sample import SamplePanel
from rnnscope.gui.panels.states import StatesPanel

__all__ = ["GatesPanel", "GradientFlowPanel", "HealthPanel", "SamplePanel", "StatesPanel"]
