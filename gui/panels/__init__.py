"""The dockable views: each takes the RunController (its model) and the TimeCursor and
only subscribes to their signals. Items are created once and updated with setData/setImage."""

from gui.panels.gates import GatesPanel
from gui.panels.gradient_flow import GradientFlowPanel
from gui.panels.health import HealthPanel
from gui.panels.sample import SamplePanel
from gui.panels.states import StatesPanel

__all__ = ["GatesPanel", "GradientFlowPanel", "HealthPanel", "SamplePanel", "StatesPanel"]
