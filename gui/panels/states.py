"""States: the probe sample's hidden state h_t and (LSTM) cell state c_t, units x timesteps,
with the per-unit gradients dL/dh_t (and dL/dc_t) that reached them.

Diverging colour map, white at 0. h_t = o * tanh(c_t) (or tanh(.)) lives in -1..1 (fixed
scale); c_t is unbounded: its symmetric scale is rounded to 1/2/5 x 10^k for the shown step.
The per-unit gradients span many decades along t (that is the vanishing gradient), so they use
a signed log scale: sign(x) * (log10|x| - floor), the floor and top in whole decades fitted to
the frame; hovering shows the value itself. Dragging a colour bar sets its range (double-click:
follow the data again).
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg

from rnnscope.gui.panels import colormaps
from rnnscope.gui.panels.base import HeatmapGrids, HeatmapPlot, LayerSelector, Panel, info_label
from rnnscope.gui.panels.registry import Dock, Place, step_view

FIELDS = {  # name: (record attribute, title, colour scale: gui.panels.scales)
    "h": ("hidden", "hₜ hidden state", "fixed"),
    "c": ("cell", "cₜ cell state", "linear"),
    "dh": ("h_grad", "∂L/∂hₜ per unit (signed log)", "signed_log"),
    "dc": ("c_grad", "∂L/∂cₜ per unit (signed log)", "signed_log"),
}


class StatesPanel(Panel):
    title = "States"

    def __init__(self, controller: Any, cursor: Any, parent: Any = None) -> None:
        super().__init__(controller, cursor, parent)
        self.layer = LayerSelector()
        self.layer.currentIndexChanged.connect(lambda _i: self._redraw_record())
        self.hover = info_label(style="color: #F0E442; font-family: monospace;")
        lay = self._layout()
        lay.addLayout(self._header(self.layer, self.hover))
        self.view = pg.GraphicsLayoutWidget()
        lay.addWidget(self.view, 1)
        self.maps: dict[str, HeatmapPlot] = {}
        self.grids = HeatmapGrids(self.view)
        self._drawn: tuple[Any, int] | None = None  # (record, layer) the heatmaps show
        self._fields: list[str] = []
        self.view.scene().sigMouseMoved.connect(self._on_hover)
        self.view.scene().sigMouseClicked.connect(self._on_click)

    def _redraw_record(self) -> None:
        self._dirty.add("record")
        self.refresh()

    def _update_run(self) -> None:
        self._drawn = None
        for m in self.maps.values():
            m.reset_scale()
        shape = self.controller.shape
        if shape is None:
            return
        self.layer.set_layers(shape.layers)
        lstm = shape.has_cell_state
        fields = ["c", "h", "dc", "dh"] if lstm else ["h", "dh"]
        if fields == self._fields:
            return
        self._fields = fields
        self.maps = self.grids.show(tuple(fields), lambda layout: self._build(layout, fields, lstm))

    @staticmethod
    def _build(layout: pg.GraphicsLayout, fields: list[str], lstm: bool) -> dict[str, HeatmapPlot]:
        maps = {}
        for i, name in enumerate(fields):
            _attr, title, scale = FIELDS[name]
            maps[name] = HeatmapPlot(
                layout,
                i % 2 if lstm else 0,
                i // 2 if lstm else i,
                title=title,
                x_label="timestep t",
                y_label="unit" if (i // 2 if lstm else i) == 0 else "",
                colormap=colormaps.DIVERGING,
                levels=colormaps.SIGNED_LEVELS if scale != "signed_log" else (-3.0, 0.0),
                scale=scale,
                interactive_bar=scale != "fixed",
            )
        return maps

    def _update_record(self, rec: Any) -> None:
        if rec is None:
            self._drawn = None
            for m in self.maps.values():
                m.set_data(None)
            return
        if not rec.has_frame:
            return
        layer = min(self.layer.layer, rec.layers - 1)
        if self._drawn is not None and self._drawn[0] is rec and self._drawn[1] == layer:
            return  # this very frame is on screen already: nothing to upload
        self._drawn = (rec, layer)
        starts = [s.start for s in rec.part_slices.values()][1:]
        for name, m in self.maps.items():
            attr = FIELDS[name][0]
            arr = getattr(rec, attr)
            if arr is None:
                m.set_data(None)
                continue
            m.set_data(arr[layer].T)  # (H, T); a data-following scale fits itself (the bar says to what)
            m.set_boundaries(starts)

    def _update_cursor(self, t: int) -> None:
        for m in self.maps.values():
            m.set_cursor(t + 0.5)

    def _on_hover(self, pos: Any) -> None:
        for name, m in self.maps.items():
            hit = m.value_at(pos)
            if hit is not None:
                unit, t, value = hit
                label = {"h": "h", "c": "c", "dh": "∂L/∂h", "dc": "∂L/∂c"}[name]
                self.hover.setText(f"{label}[unit {unit}, t {t}] = {value:.4g}")
                return
        self.hover.setText("")

    def _on_click(self, event: Any) -> None:
        for m in self.maps.values():
            hit = m.value_at(event.scenePos())
            if hit is not None:
                self.cursor.set(hit[1])
                return


DOCK = Dock(
    "states",
    StatesPanel.title,
    step_view(StatesPanel),
    Place("split", "gradient_flow", "vertical"),
    compares=True,
)
