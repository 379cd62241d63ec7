"""Health: is training going well? Curves over steps and two views of the shown step.

Over steps (x linked, click to seek): loss and the task metric (linear from 0; a log axis
once they span more than three decades, as an exploding loss does), with a dashed marker at
every live edit; the global gradient norm before and after clipping with the clipping
threshold; the learning rate. A red band along the top marks steps with a NaN/Inf.
The shown step, for the layer (Seq2Seq: and part) chosen above: the singular values of its
W_hh and the recurrence's gain per timestep of the probe sample (||dh_t/dh_{t-1}||; for the
LSTM the joint ||d(h_t,c_t)/d(h_{t-1},c_{t-1})||, engine/diagnostics.py), with their product.
For the tanh RNN, sigma_max(W_hh) against the line at 1 tells explode from vanish; a gated
cell multiplies each gate block of W_hh by gate values below 1, so it shows each block's
singular values and the gain decides.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from rnnscope.engine.record import GATE_NAMES
from rnnscope.gui.panels import colormaps
from rnnscope.gui.panels.base import Panel, PartLayerSelector, add_plot, info_label, set_title, swatch
from rnnscope.gui.panels.ranges import AutoLogRange, StableRange, StepAxisRange
from rnnscope.gui.panels.registry import Dock, Place, step_view
from rnnscope.sessions.breakpoints import HIT_EVENT


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


SV_TIPS = {
    "rnn": (
        "Singular values of W_hh, largest first. For the tanh RNN, hₜ = tanh(W xₜ + W_hh hₜ₋₁ + b):\n"
        "the step Jacobian is diag(tanh′)·W_hh with tanh′ ≤ 1, so σ_max(W_hh) < 1 makes every\n"
        "gradient vanish, and > 1 lets it grow (explode) where the units are not saturated."
    ),
    "gated": (
        "Singular values of each gate's (H×H) block of W_hh, largest first (PyTorch's gate order).\n"
        "In a gated cell every block is multiplied by gate values in (0, 1) (and the LSTM adds the\n"
        "cell-state path f·cₜ₋₁), so no σ of W_hh is compared with 1: the gain on the right, the\n"
        "norm of the step Jacobian itself, decides whether a gradient vanishes or grows."
    ),
}


def jacobian_title(cell: str | None) -> str:
    """The Jacobian plot's title for one recurrent stack of this cell."""
    if cell == "lstm":
        return "gain ‖∂(hₜ,cₜ)/∂(hₜ₋₁,cₜ₋₁)‖ (probe)"
    return "gain ‖∂hₜ/∂hₜ₋₁‖ (probe)"


def sv_title(cell: str | None, blocks: bool) -> str:
    """The singular-value plot's title; gated cells name their gates in their curves' colours."""
    names = GATE_NAMES.get(cell or "rnn", ())
    if not names:
        return "σᵢ(W_hh) · " + swatch("1: explode | vanish", colormaps.YELLOW)
    if not blocks:  # a file from before per-gate values were recorded
        return f"σᵢ of the stacked ({len(names)}H×H) W_hh"
    return "σᵢ(W_hh) per gate: " + " ".join(swatch(g, colormaps.GATE_COLOURS[g]) for g in names)


def log_product(gains: np.ndarray) -> float | None:
    """log10 of the product of the finite gains (float64 sums of logs: the product of 500 gains
    of 0.5 is 1e-151, far below float32 and fine here); None when none is finite and > 0."""
    g = np.asarray(gains, dtype=np.float64)
    g = g[np.isfinite(g) & (g > 0)]
    return float(np.log10(g).sum()) if g.size else None


def log10_text(log10_value: float) -> str:
    """A value given as log10, written in full even far outside float range (1e-151, 3.2e+40)."""
    k = int(np.floor(log10_value))
    m = 10.0 ** (log10_value - k)
    if m >= 9.995:
        m, k = 1.0, k + 1
    return f"{m:.2f}e{k:+d}" if abs(k) >= 4 else f"{10.0**log10_value:.3g}"


class HealthPanel(Panel):
    title = "Health"

    def __init__(self, controller: Any, cursor: Any, parent: Any = None) -> None:
        super().__init__(controller, cursor, parent)
        lay = self._layout()
        self.where = PartLayerSelector(
            "which recurrent layer (Seq2Seq: encoder or decoder) the shown step's singular values "
            "and gain (the lower row) are of"
        )
        self.where.currentIndexChanged.connect(lambda _i: self._redraw_record())
        self.info = info_label()
        lay.addLayout(self._header(self.where, self.info))
        self.view = pg.GraphicsLayoutWidget()
        lay.addWidget(self.view)
        ci = self.view.ci
        ci.layout.setContentsMargins(2, 2, 14, 2)  # room for the last x tick label on the right

        self.loss_plot = self._plot(0, 0, "loss", "loss")
        self.loss = _curve(self.loss_plot, colormaps.ORANGE, width=2)
        self.nan_bands: list[pg.LinearRegionItem] = []  # a red band along the top per run of NaN/Inf steps

        self.metric_plot = self._plot(0, 1, "metric", "metric")
        self.metric_curve = _curve(self.metric_plot, colormaps.GREEN, width=2)

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

        self.sv_plot = add_plot(ci, 2, 0, sv_title("rnn", True))
        self.sv_plot.setLabel("bottom", "i (largest first)")
        self.sv_plot.setToolTip(SV_TIPS["rnn"])
        self.sv_one = self.sv_plot.addLine(y=1.0, pen=pg.mkPen(colormaps.YELLOW, style=Qt.PenStyle.DashLine))
        self.sv_curves: list[pg.PlotDataItem] = []

        self.jac_plot = add_plot(ci, 2, 1, jacobian_title("rnn"))
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
        self.loss_axis = AutoLogRange(self.loss_plot)
        self.metric_axis = AutoLogRange(self.metric_plot)
        self.y_ranges = {
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
        self._threshold_shown = True  # the threshold curve may hold data (drawn at least once)
        self._marks_drawn: tuple[tuple[int, int], ...] | None = None  # NaN/Inf step runs shown
        self._titles_for: tuple[bool, bool, str] | None = None  # (loss log, metric log, metric name)
        self.product = ""  # the product of the shown gains, as written in the header
        self.sigma = ""  # the largest singular values, as written in the header
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
    def _redraw_record(self) -> None:
        self._dirty |= {"record", "cursor"}
        self.refresh()

    def _update_run(self) -> None:
        self._revision = -1
        self._threshold_shown = True
        self._marks_drawn = None
        for c in self.sv_curves:
            self.sv_plot.removeItem(c)
        self.sv_curves = []
        self.x_range.reset()
        for r in (*self.y_ranges.values(), self.loss_axis, self.metric_axis):
            r.reset()
        self._titles_for = None
        shape = self.controller.shape
        if shape is not None:
            self.where.set_parts(shape.names, shape.layers)

    def _update_history(self) -> None:
        h = self.controller.history
        if h.revision == self._revision:
            return
        self._revision = h.revision
        x = h.steps
        self.loss.setData(x, _pos(h.series("loss")))
        self.metric_curve.setData(x, h.series("metric"))  # (not self.metric: that is QWidget.metric())
        self.norm.setData(x, _pos(h.series("grad_norm")))
        self.norm_clipped.setData(x, _pos(h.series("grad_norm_clipped")))
        threshold = _pos(h.series("clip_threshold"))
        shown = bool(np.isfinite(threshold).any())  # clipping off all along: nothing to draw
        if shown or self._threshold_shown:
            self.threshold.setData(x, threshold)
            self._threshold_shown = shown
        self.lr.setData(x, _pos(h.series("lr")))
        self.x_range.update_steps(len(h))
        self.loss_axis.update(h.series("loss"))
        self.metric_axis.update(h.series("metric"))
        norms = [h.series("grad_norm"), h.series("grad_norm_clipped"), h.series("clip_threshold")]
        self.y_ranges["norm"].update(np.concatenate(norms))
        self.y_ranges["lr"].update(h.series("lr"))
        self._retitle(h.metric_name)
        self._draw_nonfinite(sorted(h.nonfinite))
        if h.events != self._events_drawn:
            self._draw_events(h.events)

    def _retitle(self, metric_name: str) -> None:
        """The loss and metric titles name the metric and say when an axis turned log."""
        key = (self.loss_axis.log, self.metric_axis.log, metric_name)
        if key == self._titles_for:
            return
        self._titles_for = key
        set_title(self.loss_plot, "loss (log axis)" if key[0] else "loss")
        name = metric_name or "metric"
        if name == "none":  # a run of the user's own loop: rnnscope knows its loss only
            name = "metric (your loop reports only its loss)"
        set_title(self.metric_plot, f"{name} (log axis)" if key[1] else name)
        self.metric_plot.setToolTip(name)

    def _draw_nonfinite(self, steps: list[int]) -> None:
        """A red band along the top of the loss plot over each run of steps with a NaN/Inf: it
        marks where without covering the curve (a marker per step covered a whole plot once a run
        went NaN for good). More than MAX_BANDS runs are joined across their narrowest gaps (one
        pass: a run that alternates finite and NaN steps for thousands of steps stays cheap)."""
        runs: list[tuple[int, int]] = []
        for k in steps:
            if runs and k <= runs[-1][1] + 1:
                runs[-1] = (runs[-1][0], k)
            else:
                runs.append((k, k))
        if len(runs) > self.MAX_BANDS:  # keep the widest gaps apart, join across the others
            gaps = np.array([b[0] - a[1] for a, b in itertools.pairwise(runs)])
            cuts = np.sort(np.argsort(-gaps, kind="stable")[: self.MAX_BANDS - 1])
            starts = [0, *(int(i) + 1 for i in cuts)]
            ends = [*(int(i) for i in cuts), len(runs) - 1]
            runs = [(runs[a][0], runs[b][1]) for a, b in zip(starts, ends, strict=True)]
        key = tuple(runs)
        if key != self._marks_drawn:  # most steps: nothing new to draw
            self._marks_drawn = key
            self._draw_nonfinite_bands(runs)

    def _draw_nonfinite_bands(self, runs: list[tuple[int, int]]) -> None:
        while len(self.nan_bands) < len(runs):
            band = pg.LinearRegionItem(
                movable=False,
                span=(0.93, 1.0),
                brush=pg.mkBrush(colormaps.NAN_MARK),
                pen=pg.mkPen(colormaps.NAN_MARK),
            )
            band.setZValue(20)
            self.loss_plot.addItem(band, ignoreBounds=True)
            self.nan_bands.append(band)
        for i, band in enumerate(self.nan_bands):
            if i < len(runs):
                a, b = runs[i]
                band.setRegion((a - 0.5, b + 0.5))
                band.show()
            else:
                band.hide()
        if runs:
            first = runs[0][0]
            self.loss_plot.setToolTip(f"loss · red band: steps with a NaN/Inf (the first: step {first})")
        else:
            self.loss_plot.setToolTip("loss")

    MAX_BANDS = 40

    def _draw_events(self, events: list[Any]) -> None:
        for plot, line in self._edit_lines:
            plot.removeItem(line)
        self._edit_lines = []
        hit_steps = {(ev.name, ev.step) for ev in events if ev.kind == HIT_EVENT}
        for ev in events:
            if ev.kind == "run":
                continue
            if ev.kind == HIT_EVENT and (ev.name, ev.step - 1) in hit_steps:
                continue  # one line where a breakpoint starts hitting, not one a step for as long as it does
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
            self.info.setText("")
            return
        live = self.controller.follow_live
        for line in self.step_lines:  # following the newest step: it is the right end anyway,
            line.setVisible(not live)  # and a moving line would repaint every curve under it
            if not live:
                line.setPos(rec.step)
        if not rec.has_frame:
            return
        part, layer = self.where.choice
        p = rec.parts.get(part) or next(iter(rec.parts.values()))
        layer = min(layer, p.h_grad_norm.shape[0] - 1)
        cell = p.cell_type
        self._draw_singular_values(p, layer, cell)
        jac = p.jacobian_norm
        set_title(self.jac_plot, jacobian_title(cell))
        gains = jac[layer] if jac is not None else np.zeros(0)
        self.jac.setData(np.arange(gains.shape[0]), gains)
        if gains.size:
            self.y_ranges["jac_x"].update(0.0, float(max(gains.shape[0] - 1, 1)))
            self.y_ranges["jac"].update(np.append(gains, 1.0))
        lp = log_product(gains[1:])  # the first step has no previous state to map from
        where = f"{part} layer {layer}" if len(rec.parts) > 1 else f"layer {layer}"
        self.product = "" if lp is None else log10_text(lp)
        info = f"step {rec.step} · {where}" + (f" · {self.sigma}" if self.sigma else "")
        if self.product:
            info += f" · ∏ gain (t = 1…{gains.shape[0] - 1}) = {self.product}"
        self.info.setText(info)
        self.info.setToolTip(
            info + "\nThe product of the per-step gains bounds how much a gradient can grow (or how little"
            "\nit can shrink) going back from the last timestep to the first."
        )

    def _draw_singular_values(self, p: Any, layer: int, cell: str) -> None:
        blocks = p.whh_block_singular_values
        names = GATE_NAMES.get(cell, ())
        gated = bool(names)
        if gated and blocks is not None:
            rows = [(blocks[layer, k], colormaps.GATE_COLOURS[g]) for k, g in enumerate(names)]
        elif p.whh_singular_values is not None:
            rows = [(p.whh_singular_values[layer], colormaps.ORANGE)]
        else:
            rows = []
        set_title(self.sv_plot, sv_title(cell, blocks is not None))
        self.sv_plot.setToolTip(SV_TIPS["gated" if gated else "rnn"])
        self.sv_one.setVisible(not gated)  # the line at 1 means explode | vanish only for tanh
        while len(self.sv_curves) < len(rows):
            self.sv_curves.append(self.sv_plot.plot(connect="finite"))
        for i, c in enumerate(self.sv_curves):
            if i < len(rows):
                values, colour = rows[i]
                if getattr(c, "_colour", None) != colour:  # a new pen re-lays out the curve: only on change
                    c._colour = colour
                    c.setPen(pg.mkPen(colour, width=2))
                c.setData(np.arange(values.shape[0]), values)
            elif c.xData is not None and len(c.xData):
                c.setData([], [])
        self.sigma = ""
        if not rows:
            return
        values = np.stack([r[0] for r in rows])
        n = values.shape[1]
        self.y_ranges["sv_x"].update(0.0, float(max(n - 1, 1)))
        tops = values[:, 0]
        self.y_ranges["sv"].update(tops if gated else np.append(tops, 1.0))
        finite = tops[np.isfinite(tops)]
        if not finite.size:
            self.sigma = "σ: NaN/Inf in W_hh"
        elif gated and blocks is not None:
            self.sigma = "σ_max " + " ".join(f"{g} {v:.3g}" for g, v in zip(names, tops, strict=False))
        else:
            self.sigma = f"σ_max {float(finite.max()):.3g}"

    def _update_cursor(self, t: int) -> None:
        rec = self.controller.record
        part, _layer = self.where.choice
        start = 0
        if rec is not None and part in rec.part_slices:
            sl = rec.part_slices[part]
            start = sl.start
            inside = sl.start <= t < sl.stop
        else:
            inside = True
        self.jac_cursor.setVisible(inside)
        self.jac_cursor.setPos(t - start)

    # ------------------------------------------------------------ input
    def _on_click(self, event: Any) -> None:
        pos = event.scenePos()
        for p in self.over_steps:
            if p.vb.sceneBoundingRect().contains(pos):
                self.controller.seek(round(p.vb.mapSceneToView(pos).x()))
                return
        if self.jac_plot.vb.sceneBoundingRect().contains(pos):
            t = round(self.jac_plot.vb.mapSceneToView(pos).x())
            rec = self.controller.record
            part = self.where.choice[0]
            if rec is not None and part in rec.part_slices:
                t += rec.part_slices[part].start  # the cursor's t runs over encoder then decoder
            self.cursor.set(t)


DOCK = Dock(
    "health",
    HealthPanel.title,
    step_view(HealthPanel),
    Place("split", "gates"),
    compares=True,
    shows=("singular_values", "jacobian"),
)
