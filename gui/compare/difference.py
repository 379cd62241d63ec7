"""Difference view: log10 ||dL/dh_t|| of run A minus run B over steps x timesteps.

Red where more gradient reaches timestep t in A than in B, blue where less (a decade is
1.0), white where they agree; the colour scale is symmetric around 0. It covers the steps
both runs have and their common timesteps; steps are averaged into at most
``MAX_COLUMNS`` columns, like the gradient-flow heatmap. Clicking moves both sides there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QVBoxLayout, QWidget

from gui import colormaps
from gui.history import History, bin_rows, bin_size
from gui.panels.base import HeatmapPlot, LayerSelector, info_label
from gui.panels.gradient_flow import MAX_COLUMNS


def log_grad_difference(
    a: History, b: History, layer: int, max_columns: int = MAX_COLUMNS
) -> tuple[np.ndarray, int]:
    """(T, C) image of log10 ||dL/dh_t|| of A minus B (rows t, columns bins of steps) and the
    bin size, over the first min(N_A, N_B) steps and min(T_A, T_B) timesteps."""
    n = min(len(a), len(b))
    if n == 0:
        return np.full((1, 1), np.nan, np.float32), 1
    ra = a.log10_h_grad_rows(min(layer, a.layers - 1), n)
    rb = b.log10_h_grad_rows(min(layer, b.layers - 1), n)
    t = min(ra.shape[1], rb.shape[1])
    with np.errstate(invalid="ignore"):
        d = ra[:, :t] - rb[:, :t]  # (n, t)
    size = bin_size(n, max_columns)
    return np.ascontiguousarray(bin_rows(d, size).T), size


class DifferencePanel(QWidget):
    title = "Gradient flow: A − B"

    def __init__(self, a: Any, b: Any, cursor: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.a, self.b, self.cursor = a, b, cursor
        self.layer = LayerSelector()
        self.layer.currentIndexChanged.connect(lambda _i: self.update_image())
        self.info = info_label()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        head = QWidget()
        row = pg.QtWidgets.QHBoxLayout(head)
        row.setContentsMargins(4, 2, 4, 2)
        row.addWidget(self.layer)
        row.addWidget(self.info, 1)
        lay.addWidget(head)
        self.view = pg.GraphicsLayoutWidget()
        lay.addWidget(self.view, 1)
        self.heat = HeatmapPlot(
            self.view.ci,
            0,
            0,
            title="log₁₀ ‖∂L/∂hₜ‖ of A − B (red: more gradient in A)",
            x_label="training step",
            y_label="timestep t",
            colormap=colormaps.DIVERGING,
            levels=colormaps.SIGNED_LEVELS,
            bar_label="decades, A − B",
            invert_y=False,
        )
        self.heat.cursor_line.setAngle(0)
        self.step_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(colormaps.SKY, width=1))
        self.heat.plot.addItem(self.step_line)
        self.bin = 1
        for m in (a, b):
            m.history_changed.connect(self.update_image)
            m.run_changed.connect(self._update_layers)
            m.record_changed.connect(self._on_record)
        cursor.changed.connect(self._on_cursor)
        self.view.scene().sigMouseClicked.connect(self._on_click)

    def _update_layers(self) -> None:
        layers = [m.config.layers for m in (self.a, self.b) if m.config is not None]
        self.layer.set_layers(min(layers) if layers else 1)

    def update_image(self) -> None:
        ha, hb = self.a.history, self.b.history
        if not len(ha) or not len(hb):
            self.heat.set_data(None)
            self.info.setText("")
            return
        img, self.bin = log_grad_difference(ha, hb, self.layer.layer)
        levels = colormaps.nice_symmetric(img, floor=0.1)
        self.heat.set_data(img, levels=levels, rect=QRectF(0, 0, img.shape[1] * self.bin, img.shape[0]))
        n = min(len(ha), len(hb))
        text = f"steps 0..{n - 1} (both runs) · {img.shape[0]} timesteps · scale ±{levels[1]:g} decades"
        if self.bin > 1:
            text += f" · {self.bin} steps per column"
        self.info.setText(text)
        self.info.setToolTip(text)

    def _on_record(self, rec: Any) -> None:
        if rec is not None:
            self.step_line.setPos(rec.step + 0.5)

    def _on_cursor(self, t: int) -> None:
        self.heat.set_cursor(t + 0.5)

    def _on_click(self, event: Any) -> None:
        pos = event.scenePos()
        if self.heat.contains(pos):
            p = self.heat.to_view(pos)
            self.cursor.set(int(p.y()))
            self.a.seek(int(p.x()))
