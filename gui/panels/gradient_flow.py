"""Gradient flow: how much gradient reaches each timestep, over training and at this step.

Top: a heatmap of ||dL/dh_t|| (batch mean) on a log colour scale, training step on x and
timestep t on y; a horizontal band fading towards t = 0 is a vanishing gradient, a bright band
an exploding one. Its colour levels follow the data in whole decades (45 of them for a GRU
on copy at T = 500), and the user can drag the bar (double-click: follow the data again).
Bottom: the shown step's ||dL/dh_t|| against t on a log axis, with
||dL/dc_t|| beside it for LSTM (the cell-state "gradient highway").
Clicking the heatmap seeks to that step and moves the timestep cursor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from rnnscope.gui.panels import colormaps
from rnnscope.gui.panels.base import (
    HeatmapPlot,
    LayerSelector,
    Panel,
    add_plot,
    info_label,
    set_lines,
    set_title,
    swatch,
)
from rnnscope.gui.panels.ranges import StableRange, StepAxisRange
from rnnscope.gui.panels.registry import Dock, Place, step_view

MAX_COLUMNS = 800  # steps are averaged into at most this many image columns


def _positive(a: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return None
    out = np.asarray(a, dtype=np.float64).copy()
    out[~(out > 0)] = np.nan  # log axis: zero or negative cannot be drawn
    return out


class GradientFlowPanel(Panel):
    title = "Gradient flow"

    def __init__(self, controller: Any, cursor: Any, parent: Any = None) -> None:
        super().__init__(controller, cursor, parent)
        self.layer = LayerSelector()
        self.layer.currentIndexChanged.connect(self._on_layer)
        self.info = info_label()
        lay = self._layout()
        lay.addLayout(self._header(self.layer, self.info))
        self.view = pg.GraphicsLayoutWidget()
        lay.addWidget(self.view, 1)
        glw = self.view.ci
        self.heat = HeatmapPlot(
            glw,
            0,
            0,
            title="‖∂L/∂hₜ‖ over training (log colour scale)",
            x_label="training step",
            y_label="timestep t",
            colormap=colormaps.GRADIENT_FLOW,
            levels=colormaps.GRADIENT_FLOW_LEVELS,
            bar_label="‖∂L/∂hₜ‖",
            interactive_bar=True,
            invert_y=False,
            scale="log10",
        )
        self.step_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(colormaps.SKY, width=1))
        self.heat.plot.addItem(self.step_line)
        self.heat.cursor_line.setAngle(0)  # the timestep cursor is horizontal here
        self.curve_plot = add_plot(glw, 1, 0, "gradient norm reaching t, shown step")
        p = self.curve_plot
        p.setLogMode(x=False, y=True)
        p.setLabel("bottom", "timestep t")
        p.setLabel("left", "gradient norm")
        self.h_curve = p.plot(
            pen=pg.mkPen(colormaps.ORANGE, width=2),
            name="‖∂L/∂hₜ‖",
            connect="finite",
        )
        self.c_curve = p.plot(
            pen=pg.mkPen(colormaps.SKY, width=2, style=pg.QtCore.Qt.PenStyle.DashLine),
            name="‖∂L/∂cₜ‖ (cell)",
            connect="finite",
        )
        p.vb.setMouseEnabled(x=False, y=False)
        p.hideButtons()
        self.heat_x = StepAxisRange(self.heat.plot.vb)
        self.curve_x = StableRange(p.vb, "x", from_zero=True)
        self.curve_y = StableRange(p.vb, "y", log=True, axis_item=p.getAxis("left"))
        self.t_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(colormaps.CURSOR))
        p.addItem(self.t_line)
        self._bounds: list[pg.InfiniteLine] = []
        self._curve_bounds: list[pg.InfiniteLine] = []
        glw.layout.setRowStretchFactor(0, 3)
        glw.layout.setRowStretchFactor(1, 2)
        self.view.scene().sigMouseClicked.connect(self._on_click)
        self._revision = -1
        self._bin = 1  # steps per heatmap column (the record's info line says it when > 1)
        self._t_total = 0

    # ------------------------------------------------------------ updates
    def _on_layer(self, _i: int) -> None:
        self._revision = -1
        self._dirty |= {"history", "record"}
        self.refresh()

    def _update_run(self) -> None:
        shape = self.controller.shape
        self.layer.set_layers(shape.layers if shape is not None else 1)
        lstm = shape is not None and shape.has_cell_state
        self.c_curve.setVisible(lstm)
        title = "reaching t: " + swatch("‖∂L/∂hₜ‖", colormaps.ORANGE)
        if lstm:
            title += " · " + swatch("‖∂L/∂cₜ‖ (cell, dashed)", colormaps.SKY)
        set_title(self.curve_plot, title)
        self._revision = -1
        self._t_total = 0
        self._bin = 1
        self.heat.reset_scale()
        for r in (self.heat_x, self.curve_x, self.curve_y):
            r.reset()

    def _update_history(self) -> None:
        h = self.controller.history
        if h.revision == self._revision:
            return
        self._revision = h.revision
        n = len(h)
        if not n:
            self.heat.set_data(None)
            return
        img, b = h.log10_h_grad(self.layer.layer, MAX_COLUMNS)
        t_total = img.shape[0]
        self.heat.set_data(img, rect=QRectF(0, 0, img.shape[1] * b, t_total), fit_view=False)
        self.heat_x.update_steps(n)
        if self._t_total != t_total:
            self._t_total = t_total
            self.heat.plot.vb.setYRange(0, t_total, padding=0)
        lengths = list(h.part_lengths().values())
        self._bin = b
        # encoder | decoder separation (horizontal: t is on y here)
        set_lines(self.heat.plot, self._bounds, np.cumsum(lengths)[:-1].tolist(), angle=0)

    def _update_record(self, rec: Any) -> None:
        if rec is None:
            self.h_curve.setData([], [])
            self.c_curve.setData([], [])
            self.info.setText("")
            return
        layer = min(self.layer.layer, rec.layers - 1)
        h = _positive(rec.h_grad_norm[layer])
        t = np.arange(h.shape[0])
        self.h_curve.setData(t, h)
        self.curve_x.update(0.0, float(max(len(t) - 1, 1)))
        c = rec.c_grad_norm
        if c is not None and self.c_curve.isVisible():
            c_layer = _positive(c[layer])
            self.c_curve.setData(t, c_layer)
            self.curve_y.update(np.concatenate([h, c_layer]))
        else:
            self.c_curve.setData([], [])
            self.curve_y.update(h)
        self.step_line.setVisible(not self.controller.follow_live)
        if not self.controller.follow_live:
            self.step_line.setPos(rec.step + 0.5)
        finite = h[np.isfinite(h)]
        text = f"step {rec.step} · batch mean"
        if finite.size >= 2 and finite[-1] > 0:
            text += f" · ‖∂L/∂h₀‖ / ‖∂L/∂h_T₋₁‖ = {finite[0] / finite[-1]:.2g}"
        if self._bin > 1:
            text += f" · heatmap: {self._bin} steps per column"
        self.info.setText(text)
        self.info.setToolTip(text)
        starts = [s.start - 0.5 for s in rec.part_slices.values()][1:]
        set_lines(self.curve_plot, self._curve_bounds, starts, angle=90)

    def _update_cursor(self, t: int) -> None:
        self.t_line.setPos(t)
        self.heat.set_cursor(t + 0.5)

    # ------------------------------------------------------------ input
    def _on_click(self, event: Any) -> None:
        pos = event.scenePos()
        if self.heat.contains(pos):
            p = self.heat.to_view(pos)
            self.cursor.set(int(p.y()))
            self.controller.seek(int(p.x()))
        elif self.curve_plot.vb.sceneBoundingRect().contains(pos):
            p = self.curve_plot.vb.mapSceneToView(pos)
            self.cursor.set(round(p.x()))


DOCK = Dock(
    "gradient_flow", GradientFlowPanel.title, step_view(GradientFlowPanel), Place("right"), compares=True
)
