"""Health: is training going well? Curves over steps and two views of the shown step.

Over steps (x linked, click to seek): loss (log axis) and the task metric, with a dashed
marker at every live edit; the global gradient norm before and after clipping with the
clipping threshold; the learning rate. Red crosses mark steps with a NaN/Inf.
The shown step: the singular values of W_hh per layer with the line at 1 (> 1 can explode,
< 1 vanishes), and the recurrence's gain per timestep of the probe sample (||dh_t/dh_{t-1}||;
for the LSTM the joint ||d(h_t,c_t)/d(h_{t-1},c_{t-1})||, engine/diagnostics.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from gui import colormaps
from gui.panels.base import Panel, add_legend, add_plot, set_title, swatch
from gui.panels.ranges import StableRange, StepAxisRange


def _pos(a: np.ndarray) -> np.ndarray:
    out = np.array(a, dtype=np.float64)
    out[~(out > 0)] = np.nan
    return out


def _curve(
    plot: pg.PlotItem, color: str, name: str | None = None, width: int = 1, style: Any = None
) -> pg.PlotDataItem:
    pen = pg.mkPen(color, width=width)
    if style is not None:
        pen.setStyle(style)
    item = plot.plot(pen=pen, name=name, connect="finite")
    item.setDownsampling(auto=True, method="peak")
    item.setClipToView(True)
    return item


JACOBIAN_TIP = (
    "The recurrence's gain at each timestep of the probe sample: the spectral norm of the step\n"
    "Jacobian of the recurrent state. tanh RNN and GRU: ‖∂hₜ/∂hₜ₋₁‖. LSTM: the joint\n"
    "‖∂(hₜ,cₜ)/∂(hₜ₋₁,cₜ₋₁)‖, whose c→c block is diag(fₜ), the cell-state highway.\n"
    "The product of these gains over t bounds how far a gradient can shrink or grow going back."
)


def jacobian_title(cells: tuple[str | None, ...]) -> str:
    """The Jacobian plot's title for a run of these cells (Seq2Seq: encoder and decoder)."""
    if "lstm" in cells:
        lstm = "‖∂(hₜ,cₜ)/∂(hₜ₋₁,cₜ₋₁)‖"
        return (
            f"gain {lstm} (probe)"
            if set(cells) <= {"lstm", None}
            else f"gain: ‖∂hₜ/∂hₜ₋₁‖, LSTM {lstm} (probe)"
        )
    return "gain ‖∂hₜ/∂hₜ₋₁‖ (probe)"


class HealthPanel(Panel):
    title = "Health"

    def __init__(self, controller: Any, cursor: Any, parent: Any = None) -> None:
        super().__init__(controller, cursor, parent)
        lay = self._layout()
        self.view = pg.GraphicsLayoutWidget()
        lay.addWidget(self.view)
        ci = self.view.ci
        ci.layout.setContentsMargins(2, 2, 14, 2)  # room for the last x tick label on the right

        self.loss_plot = self._plot(0, 0, "loss", "loss")
        self.loss = _curve(self.loss_plot, colormaps.ORANGE, width=2)
        self.nan_marks = pg.ScatterPlotItem(
            symbol="x", size=10, pen=pg.mkPen(colormaps.NAN_MARK, width=2), brush=None
        )
        self.loss_plot.addItem(self.nan_marks)

        self.metric_plot = self._plot(0, 1, "metric", "metric")
        self.metric = _curve(self.metric_plot, colormaps.GREEN, width=2)

        self.norm_plot = self._plot(
            1,
            0,
            "‖∇L‖ "
            + swatch("raw", colormaps.VERMILION)
            + " · "
            + swatch("clipped", colormaps.SKY)
            + " · "
            + swatch("limit", colormaps.YELLOW),
            "‖∇L‖ (log)",
            log_y=True,
        )
        self.norm = _curve(self.norm_plot, colormaps.VERMILION, "before clipping")
        self.norm_clipped = _curve(self.norm_plot, colormaps.SKY, "after clipping")
        self.threshold = _curve(self.norm_plot, colormaps.YELLOW, "threshold", style=Qt.PenStyle.DashLine)

        self.lr_plot = self._plot(1, 1, "learning rate", "lr")
        self.lr = _curve(self.lr_plot, colormaps.PURPLE, width=2)

        self.sv_plot = add_plot(ci, 2, 0, "singular values σᵢ(W_hh)")
        self.sv_plot.setLabel("bottom", "i (largest first)")
        self.sv_plot.addLine(y=1.0, pen=pg.mkPen(colormaps.YELLOW, style=Qt.PenStyle.DashLine))
        add_legend(self.sv_plot, (10, -10))
        self.sv_curves: list[pg.PlotDataItem] = []

        self.jac_plot = add_plot(ci, 2, 1, jacobian_title(("rnn",)))
        self.jac_plot.setToolTip(JACOBIAN_TIP)
        self.jac_plot.setLabel("bottom", "timestep t")
        self.jac_plot.addLine(y=1.0, pen=pg.mkPen(colormaps.YELLOW, style=Qt.PenStyle.DashLine))
        self.jac = self.jac_plot.plot(pen=pg.mkPen(colormaps.BLUE, width=2), connect="finite")
        self.jac_cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(colormaps.CURSOR))
        self.jac_plot.addItem(self.jac_cursor)

        for p in (self.metric_plot, self.norm_plot, self.lr_plot):
            p.setXLink(self.loss_plot)
            p.vb.disableAutoRange(axis=pg.ViewBox.XAxis)  # the loss plot's x range rules
        for p in (
            self.loss_plot,
            self.metric_plot,
            self.norm_plot,
            self.lr_plot,
            self.sv_plot,
            self.jac_plot,
        ):
            p.vb.setMouseEnabled(x=False, y=False)  # clicks seek; ranges are managed below
            p.hideButtons()
        self.x_range = StepAxisRange(self.loss_plot.vb)
        self.y_ranges = {
            "loss": StableRange(self.loss_plot.vb, "y"),
            "metric": StableRange(self.metric_plot.vb, "y"),
            "norm": StableRange(self.norm_plot.vb, "y", log=True, axis_item=self.norm_plot.getAxis("left")),
            "lr": StableRange(self.lr_plot.vb, "y", from_zero=True),
            "sv_x": StableRange(self.sv_plot.vb, "x", from_zero=True),
            "sv": StableRange(self.sv_plot.vb, "y", from_zero=True),
            "jac_x": StableRange(self.jac_plot.vb, "x", from_zero=True),
            "jac": StableRange(self.jac_plot.vb, "y", from_zero=True),
        }
        self.over_steps = (self.loss_plot, self.metric_plot, self.norm_plot, self.lr_plot)
        self.step_lines = []
        for p in self.over_steps:
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(colormaps.CURSOR))
            p.addItem(line)
            self.step_lines.append(line)
        self._edit_lines: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []
        self._events_drawn: list[Any] = []
        self._revision = -1
        self._metric_name = ""
        self._threshold_shown = True  # the threshold curve may hold data (drawn at least once)
        self._marks_drawn: tuple[tuple[float, ...], float] | None = None  # NaN/Inf marks shown
        self.sv_text = pg.TextItem("", color=colormaps.YELLOW, anchor=(1, 0))
        self.sv_plot.addItem(self.sv_text, ignoreBounds=True)
        self.view.scene().sigMouseClicked.connect(self._on_click)

    def _plot(self, row: int, col: int, title: str, y_label: str, log_y: bool = False) -> pg.PlotItem:
        """An over-steps plot. Its title names the quantity: no y label (two columns must fit
        in the default dock width, ~420 px); ``y_label`` becomes the tooltip."""
        p = add_plot(self.view.ci, row, col, title)
        p.setLabel("bottom", "training step")
        p.setToolTip(y_label)
        p.setLogMode(x=False, y=log_y)
        return p

    # ------------------------------------------------------------ updates
    def _update_run(self) -> None:
        self._revision = -1
        self._threshold_shown = True
        self._marks_drawn = None
        for c in self.sv_curves:
            self.sv_plot.removeItem(c)
        self.sv_curves = []
        self.x_range.reset()
        for r in self.y_ranges.values():
            r.reset()
        cfg = self.controller.config
        if cfg is not None:
            set_title(self.jac_plot, jacobian_title((cfg.model, cfg.decoder_cell)))

    def _update_history(self) -> None:
        h = self.controller.history
        if h.revision == self._revision:
            return
        self._revision = h.revision
        x = h.steps
        self.loss.setData(x, _pos(h.series("loss")))
        self.metric.setData(x, h.series("metric"))
        if h.metric_name != self._metric_name:
            self._metric_name = h.metric_name
            set_title(self.metric_plot, h.metric_name or "metric")
            self.metric_plot.setToolTip(h.metric_name or "metric")
        self.norm.setData(x, _pos(h.series("grad_norm")))
        self.norm_clipped.setData(x, _pos(h.series("grad_norm_clipped")))
        threshold = _pos(h.series("clip_threshold"))
        shown = bool(np.isfinite(threshold).any())  # clipping off all along: nothing to draw
        if shown or self._threshold_shown:
            self.threshold.setData(x, threshold)
            self._threshold_shown = shown
        self.lr.setData(x, _pos(h.series("lr")))
        self.x_range.update_steps(len(h))
        self.y_ranges["loss"].update(h.series("loss"))
        self.y_ranges["metric"].update(h.series("metric"))
        norms = [h.series("grad_norm"), h.series("grad_norm_clipped"), h.series("clip_threshold")]
        self.y_ranges["norm"].update(np.concatenate(norms))
        self.y_ranges["lr"].update(h.series("lr"))
        if h.nonfinite:
            steps = np.fromiter(h.nonfinite.keys(), dtype=np.float64)
            loss = _pos(h.series("loss"))
            finite = loss[np.isfinite(loss)]  # an inf loss would put the marks (and the axis) at inf
            y = float(finite.max()) if finite.size else 1.0
            marks = (tuple(steps.tolist()), y)
            if marks != self._marks_drawn:
                self.nan_marks.setData(steps, np.full(steps.shape, y))
        else:
            marks = ((), 0.0)
            if marks != self._marks_drawn:
                self.nan_marks.setData([], [])
        self._marks_drawn = marks
        if h.events != self._events_drawn:
            self._draw_events(h.events)

    def _draw_events(self, events: list[Any]) -> None:
        for plot, line in self._edit_lines:
            plot.removeItem(line)
        self._edit_lines = []
        for ev in events:
            if ev.kind == "run":
                continue
            for p in (self.loss_plot, self.metric_plot, self.norm_plot):
                line = pg.InfiniteLine(
                    pos=ev.step,
                    angle=90,
                    movable=False,
                    pen=pg.mkPen(colormaps.EDIT, style=Qt.PenStyle.DashLine),
                    label=ev.label if p is self.loss_plot else None,
                    labelOpts={
                        "position": 0.96,
                        "color": colormaps.EDIT,
                        "anchors": [(0, 0), (0, 0)],
                        "fill": (22, 24, 29, 200),
                    },
                )
                p.addItem(line)
                self._edit_lines.append((p, line))
        self._events_drawn = list(events)

    def _update_record(self, rec: Any) -> None:
        if rec is None:
            for c in self.sv_curves:
                c.setData([], [])
            self.jac.setData([], [])
            return
        live = self.controller.follow_live
        for line in self.step_lines:  # following the newest step: it is the right end anyway,
            line.setVisible(not live)  # and a moving line would repaint every curve under it
            if not live:
                line.setPos(rec.step)
        if not rec.has_frame:
            return
        sv = rec.whh_singular_values  # (L_total, H)
        if sv is not None:
            names = [
                f"{part} layer {layer}" if len(rec.parts) > 1 else f"layer {layer}"
                for part in rec.parts
                for layer in range(rec.layers)
            ]
            while len(self.sv_curves) < sv.shape[0]:
                i = len(self.sv_curves)
                colour = (colormaps.ORANGE, colormaps.SKY, colormaps.GREEN, colormaps.PURPLE)[i % 4]
                name = (names[i] if i < len(names) else f"row {i}") if sv.shape[0] > 1 else None
                self.sv_curves.append(self.sv_plot.plot(pen=pg.mkPen(colour, width=2), name=name))
            for i, c in enumerate(self.sv_curves):
                if i < sv.shape[0]:
                    c.setData(np.arange(sv.shape[1]), sv[i])
                else:
                    c.setData([], [])
            self.y_ranges["sv_x"].update(0.0, float(sv.shape[1] - 1))
            self.y_ranges["sv"].update(np.append(sv[:, 0], 1.0))
            self.sv_text.setText(f"σ_max = {np.nanmax(sv[:, 0]):.3g}")
            self.sv_text.setPos(sv.shape[1] - 1, float(np.nanmax(sv)))
        jac = rec.jacobian_norm
        if jac is not None:
            self.jac.setData(np.arange(jac.shape[1]), jac[0])
            self.y_ranges["jac_x"].update(0.0, float(jac.shape[1] - 1))
            self.y_ranges["jac"].update(np.append(jac[0], 1.0))

    def _update_cursor(self, t: int) -> None:
        self.jac_cursor.setPos(t)

    # ------------------------------------------------------------ input
    def _on_click(self, event: Any) -> None:
        pos = event.scenePos()
        for p in self.over_steps:
            if p.vb.sceneBoundingRect().contains(pos):
                self.controller.seek(round(p.vb.mapSceneToView(pos).x()))
                return
        if self.jac_plot.vb.sceneBoundingRect().contains(pos):
            self.cursor.set(round(self.jac_plot.vb.mapSceneToView(pos).x()))
