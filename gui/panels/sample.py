"""Sample: the probe sample of the shown step, as the model saw it.

Token tasks: input, target and prediction per timestep (green where right, red where
wrong, grey where the position does not count in the loss). Seq2Seq: source, reference,
teacher-forced output (what training saw) and free-running output (greedy, feeding its
own predictions: what inference does). Continuous tasks: input channels, target and
prediction as curves. The timestep cursor's column is highlighted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QStackedWidget, QWidget

from rnnscope.gui.panels import colormaps
from rnnscope.gui.panels.base import Panel, info_label, set_title, swatch
from rnnscope.gui.panels.model import own_loop
from rnnscope.gui.panels.registry import Dock, Place, step_view
from rnnscope.gui.panels.tokens import MUTED, RowLabels, TokenGrid, TokenRow

GOOD, BAD, PLAIN = "#3fbf6f", "#ff5c5c", "#d0d0d0"


OWN_LOOP = (
    "A run of your own training loop: rnnscope sees your model's recurrent layers, not its data. "
    "The other panels show sample 0 of each probed batch."
)


class SamplePanel(Panel):
    title = "Sample"

    def __init__(self, controller: Any, cursor: Any, parent: Any = None) -> None:
        super().__init__(controller, cursor, parent)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.caption.setStyleSheet("color: #b0b4bb; padding: 2px 4px;")
        self.caption.setAlignment(
            Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft
        )  # (alone on an own loop's run)
        self.summary = info_label(
            "Press Space to train (or → for one step).", "color: #b0b4bb; padding: 2px 4px;"
        )
        self.grid = TokenGrid()
        self.grid.column_clicked.connect(self.cursor.set)
        self.labels = RowLabels(self.grid)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.grid)
        self.scroll.setWidgetResizable(False)
        tokens = QWidget()
        row = QHBoxLayout(tokens)
        row.setContentsMargins(0, self.scroll.frameWidth(), 0, 0)  # level with the grid's rows
        row.setSpacing(0)
        row.addWidget(self.labels, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.scroll, 1)
        # a long sequence opens where the loss is counted (copy: the recall region at t >= 50),
        # not at t = 0; once per run, so the user's own scrolling is kept afterwards
        self._scroll_to: int | None = None  # pixel offset still to apply (the range may lag)
        self._scrolled_for: tuple[int, int] | None = None  # (run, first counted column) done
        self.scroll.horizontalScrollBar().rangeChanged.connect(lambda *_: self._apply_scroll())
        self._cursor_t = cursor.t
        self.plot = pg.PlotWidget(title="probe sample")
        self.plot.setLabel("bottom", "timestep t")
        # the title is the legend: a legend box in a corner can cover the only points there
        self._legend_for = -1
        self._names: list[str] = []  # the input features' names (a data series), else "input i"
        self.inputs: list[pg.PlotDataItem] = []
        self.target = self.plot.plot(
            pen=None, symbol="o", symbolSize=7, symbolBrush=colormaps.GREEN, name="target"
        )
        self.pred = self.plot.plot(
            pen=None, symbol="x", symbolSize=8, symbolPen=colormaps.ORANGE, name="prediction"
        )
        self.plot_cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(colormaps.CURSOR))
        self.plot.addItem(self.plot_cursor)
        self.stack = QStackedWidget()
        self.stack.addWidget(tokens)
        self.stack.addWidget(self.plot)
        lay = self._layout()
        lay.addWidget(self.caption)
        lay.addWidget(self.summary)
        lay.addWidget(self.stack, 1)

    def _update_run(self) -> None:
        task = self.controller.task
        attached = own_loop(self.controller)
        self.stack.setVisible(not attached)  # its inputs are not recorded
        self.caption.setText(task.describe() if task is not None else OWN_LOOP if attached else "")
        continuous = task is not None and task.kind == "continuous"
        self.stack.setCurrentWidget(self.plot if continuous else self.stack.widget(0))
        self.plot.setLabel("left", task.value_label() if continuous and task is not None else "")
        self._names = task.input_names() if continuous and task is not None else []
        self._legend_for = -1
        for c in self.inputs:
            self.plot.removeItem(c)
        self.inputs = []
        self._scrolled_for = None

    def _update_record(self, rec: Any) -> None:
        task = self.controller.task
        if rec is None or task is None:
            self.grid.set_rows([], -1)
            self.labels.sync()
            self.summary.setText(
                "" if own_loop(self.controller) else "Press Space to train (or → for one step)."
            )
            return
        if rec.probe is None:
            return  # no frame on this step: keep the last sample
        if task.kind == "continuous":
            right = ""
            self._draw_continuous(rec.probe)
        else:
            right = self._draw_tokens(rec, task)
        self.summary.setText(
            f"step {rec.step} · probe sample #{rec.probe_index}{right} · loss {rec.loss:.4g} · "
            f"{rec.metric_name} {rec.metric:.4g} (batch)"
        )

    def _update_cursor(self, t: int) -> None:
        self.plot_cursor.setPos(t)
        self.grid.set_cursor(t)
        moved, self._cursor_t = t != self._cursor_t, t
        if moved and 0 <= t < self.grid.columns():  # a cursor the user moves stays in view
            x = self.grid.column_x(t)
            self.scroll.ensureVisible(x + self.grid.column_x(1) - self.grid.column_x(0), 0, 0, 0)
            self.scroll.ensureVisible(x, 0, 0, 0)

    def _apply_scroll(self) -> None:
        bar = self.scroll.horizontalScrollBar()
        if self._scroll_to is None or bar.maximum() == 0:
            return  # nothing to do, or the grid's new width has not reached the scroll area yet
        bar.setValue(min(self._scroll_to, bar.maximum()))
        if bar.maximum() >= self._scroll_to:
            self._scroll_to = None

    def _draw_tokens(self, rec: Any, task: Any) -> str:
        p = rec.probe
        ids_in = [int(i) for i in np.asarray(p.input).reshape(-1)]
        target = [int(i) for i in np.asarray(p.target).reshape(-1)]
        pred = [int(i) for i in np.asarray(p.prediction).reshape(-1)]
        mask = [
            bool(m) for m in (np.asarray(p.mask).reshape(-1) if p.mask is not None else np.ones(len(target)))
        ]

        def marks(out: list[int]) -> list[str]:
            return [
                MUTED if not m else (GOOD if o == y else BAD)
                for o, y, m in zip(out, target, mask, strict=False)
            ]

        seq2seq = task.kind == "seq2seq"
        # Seq2Seq: the timestep axis is the encoder's steps, then the decoder's
        slices = rec.part_slices
        dec = slices["decoder"].start if seq2seq and "decoder" in slices else 0
        rows = [
            TokenRow("source" if seq2seq else "input", task.input_tokens(ids_in)),
            TokenRow(
                "reference" if seq2seq else "target",
                task.output_tokens(target),
                [PLAIN if m else MUTED for m in mask],
                dec,
            ),
            TokenRow(
                "teacher-forced" if seq2seq else "prediction", task.output_tokens(pred), marks(pred), dec
            ),
        ]
        if seq2seq and p.free_running is not None:
            free = [int(i) for i in np.asarray(p.free_running).reshape(-1)]
            rows.append(TokenRow("free-running", task.output_tokens(free), marks(free), dec))
        self.grid.set_rows(rows, self.cursor.t)
        self.labels.sync()
        counted = [i for i, m in enumerate(mask) if m]
        key = (self.controller.branch_id or 0, counted[0] if counted else 0)
        if counted and key != self._scrolled_for:
            self._scrolled_for = key
            # the first counted column, with two columns before it for context
            self._scroll_to = max(0, self.grid.column_x(counted[0] - 2) - self.grid.column_x(0))
            self._apply_scroll()
        right = sum(1 for o, y, m in zip(pred, target, mask, strict=False) if m and o == y)
        return f" · {right}/{sum(mask)} counted positions right"

    def _draw_continuous(self, p: Any) -> None:
        x_in = np.asarray(p.input, dtype=np.float64)
        if x_in.ndim == 1:
            x_in = x_in[:, None]
        y = np.asarray(p.target, dtype=np.float64).reshape(len(p.target), -1)
        pred = np.asarray(p.prediction, dtype=np.float64).reshape(len(p.prediction), -1)
        mask = np.asarray(p.mask, dtype=bool).reshape(-1) if p.mask is not None else np.ones(len(y), bool)
        colours = (colormaps.SKY, colormaps.GREY, colormaps.PURPLE, colormaps.BLUE)
        while len(self.inputs) < x_in.shape[1]:
            i = len(self.inputs)
            self.inputs.append(self.plot.plot(pen=pg.mkPen(colours[i % 4], width=1), name=f"input {i}"))
        if self._legend_for != x_in.shape[1]:
            self._legend_for = x_in.shape[1]
            names = self._names if len(self._names) == x_in.shape[1] else []
            inputs = " ".join(
                swatch(
                    f"— {names[i]}" if names else (f"— input {i}" if x_in.shape[1] > 1 else "— input"),
                    colours[i % 4],
                )
                for i in range(x_in.shape[1])
            )
            title = "probe sample: " + swatch("● target", colormaps.GREEN) + " · "
            title += swatch("× prediction", colormaps.ORANGE) + " · " + inputs
            set_title(self.plot.getPlotItem(), title)
        t_in = np.arange(x_in.shape[0])
        for i, c in enumerate(self.inputs):
            c.setData(t_in, x_in[:, i])
        t_out = np.arange(y.shape[0])
        self.target.setData(t_out[mask], y[mask, 0])
        self.pred.setData(t_out[mask], pred[mask, 0])


DOCK = Dock(
    "sample", SamplePanel.title, step_view(SamplePanel), Place("split", "gates", "vertical"), compares=True
)
