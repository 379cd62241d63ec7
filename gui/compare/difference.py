"""Difference view: log10 ||dL/dh_t|| of run A minus run B over steps x timesteps.

Red where more gradient reaches timestep t in A than in B, blue where less (a decade is
1.0), white where they agree; the colour scale is symmetric around 0 (rounded to 1/2/5 x
10^k decades). It covers the steps both runs have and their common timesteps (Seq2Seq: each
part's common timesteps, encoder then decoder). Steps are averaged into columns of the same
size as the coarser of the two gradient-flow heatmaps beside it (``gui.history.bin_size`` of
the longer run), so its columns line up with theirs on the shared step axis. Clicking moves
both runs there and sets the timestep cursor.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QVBoxLayout, QWidget

from rnnscope.gui.model.history import History, bin_rows, bin_size
from rnnscope.gui.panels import colormaps
from rnnscope.gui.panels.base import HeatmapPlot, LayerSelector, info_label, set_lines
from rnnscope.gui.panels.gradient_flow import MAX_COLUMNS
from rnnscope.gui.panels.ranges import StepAxisRange


class Difference(NamedTuple):
    image: np.ndarray  # (T_common, C) log10 ||dL/dh_t|| of A minus B; rows t, columns step bins
    bin: int  # steps per column
    steps: int  # steps covered (both runs have them)
    lengths: list[int]  # timesteps per part (one entry unless both are Seq2Seq)


def _part_rows(h: History, layer: int, n: int) -> dict[str, np.ndarray]:
    """part -> (n, T_part) log10 ||dL/dh_t|| of steps [0, n)."""
    out = {}
    for name in h.parts:
        buf = h.log_h.get(name)
        if buf is not None and buf.n:
            out[name] = buf.view[:n, min(layer, buf.tail[0] - 1), :]
    return out


def log_grad_difference(a: History, b: History, layer: int, max_columns: int = MAX_COLUMNS) -> Difference:
    """A minus B over the first min(N_A, N_B) steps and the common timesteps, binned like
    the longer run's gradient-flow heatmap."""
    n = min(len(a), len(b))
    size = bin_size(max(len(a), len(b)), max_columns)
    if n == 0:
        return Difference(np.full((1, 1), np.nan, np.float32), size, 0, [])
    pa, pb = _part_rows(a, layer, n), _part_rows(b, layer, n)
    if pa and list(pa) == list(pb):  # the same parts: align each (encoder with encoder ...)
        lengths = [min(pa[p].shape[1], pb[p].shape[1]) for p in pa]
        ra = np.concatenate([pa[p][:, :t] for p, t in zip(pa, lengths, strict=True)], axis=1)
        rb = np.concatenate([pb[p][:, :t] for p, t in zip(pb, lengths, strict=True)], axis=1)
    else:  # different structures: compare row t with row t
        ra, rb = a.log10_h_grad_rows(layer, n), b.log10_h_grad_rows(layer, n)
        lengths = [min(ra.shape[1], rb.shape[1])]
        ra, rb = ra[:, : lengths[0]], rb[:, : lengths[0]]
    with np.errstate(invalid="ignore"):
        d = ra - rb  # (n, T_common)
    if d.shape[1] == 0:
        return Difference(np.full((1, 1), np.nan, np.float32), size, n, [])
    return Difference(np.ascontiguousarray(bin_rows(d, size).T), size, n, lengths)


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
            scale="linear",
            interactive_bar=True,
        )
        self.heat.cursor_line.setAngle(0)
        self.step_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(colormaps.SKY, width=1))
        self.heat.plot.addItem(self.step_line)
        self.x_range = StepAxisRange(self.heat.plot.vb)  # the compare window shares it with A and B
        self._bounds: list[pg.InfiniteLine] = []
        self._t = 0
        self.bin = 1
        self.result: Difference | None = None
        self._dirty = True
        for m in (a, b):
            m.history_changed.connect(self._mark)
            m.run_changed.connect(self._on_run)
        cursor.changed.connect(self._on_cursor)
        self.view.scene().sigMouseClicked.connect(self._on_click)

    def _on_run(self) -> None:
        layers = [m.shape.layers for m in (self.a, self.b) if m.shape is not None]
        self.layer.set_layers(min(layers) if layers else 1)
        self._mark()

    def _mark(self) -> None:
        self._dirty = True
        if self.isVisible():
            self.update_image()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._dirty:
            self.update_image()

    def update_image(self) -> None:
        self._dirty = False
        ha, hb = self.a.history, self.b.history
        if not len(ha) or not len(hb):
            self.result = None
            self.heat.set_data(None)
            self.info.setText("needs steps in both runs")
            return
        self.result = r = log_grad_difference(ha, hb, self.layer.layer)
        img, self.bin = r.image, r.bin
        levels = colormaps.nice_symmetric(img, floor=0.1)  # symmetric: white is "no difference"
        rect = QRectF(0, 0, img.shape[1] * self.bin, img.shape[0])
        self.heat.set_data(img, levels=levels, rect=rect, fit_view=False)  # x: the shared step axis
        levels = self.heat.levels  # the user's, once they dragged the bar
        if self._t != img.shape[0]:
            self._t = img.shape[0]
            self.heat.plot.vb.setYRange(0, self._t, padding=0)
        set_lines(self.heat.plot, self._bounds, np.cumsum(r.lengths)[:-1].tolist(), angle=0)
        t_text = " + ".join(str(t) for t in r.lengths)
        text = f"steps 0..{r.steps - 1} (both runs) · t 0..{img.shape[0] - 1} ({t_text} common) · ±{levels[1]:g} decades"
        if self.bin > 1:
            text += f" · {self.bin} steps per column"
        self.info.setText(text)
        self.info.setToolTip(text)

    def set_step(self, step: int) -> None:
        self.step_line.setPos(step + 0.5)

    def _on_cursor(self, t: int) -> None:
        self.heat.set_cursor(t + 0.5)

    def _on_click(self, event: Any) -> None:
        pos = event.scenePos()
        if self.heat.contains(pos):
            p = self.heat.to_view(pos)
            self.cursor.set(int(p.y()))
            self.a.seek(int(p.x()))
