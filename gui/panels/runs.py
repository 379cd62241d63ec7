"""RunsPanel: every run of the session side by side (the demos' "compare" panel).

One table row per run (a branch of the session file: a demo's runs, the runs a suggestion
or a structural change started, the branches a rewind made): cell, parameter counts
(total, and the recurrent layers alone), median step time over the newest steps, steps
done, the newest training loss and metric, and the validation loss and metric (the task's
held-out batches, measured on the training thread: gui.validation). Beside it, the
training metric (or loss) of every run over steps, validation as dots (not joined: a line
between two measurements would suggest a trend that was not measured).

The data come from the session file (read by a background scan on the controller's
loader thread, gui.runs_model) and, for the run the window shows, from its History. The
table redraws on the window's redraw tick at most 4 times a second, only while shown;
while it is shown the training thread evaluates the live run now and then. A double click
on a row shows that run (Play then trains it).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rnnscope.gui.model import runs as runs_model
from rnnscope.gui.model.runs import ModelInfo, RunRow, Series
from rnnscope.gui.model.validation import BUDGET, Point, timeline_points
from rnnscope.gui.panels import colormaps
from rnnscope.gui.panels.base import add_plot, set_title
from rnnscope.gui.panels.ranges import decade_ticks
from rnnscope.gui.panels.registry import Dock, Place

COLUMNS = (
    ("run", "the run (a branch of the session); double-click to show it"),
    ("cell", "recurrent cell (×layers)"),
    ("params", "every trainable parameter of the model"),
    ("recurrent", "parameters of the recurrent layers alone (LSTM 4 blocks, GRU 3, RNN 1)"),
    ("ms/step", f"median time of one optimizer step over the newest {runs_model.RECENT_STEPS} steps"),
    ("steps", "optimizer steps done"),
    ("loss", "training loss of the newest step (one batch)"),
    ("metric", "task metric of the newest step (one batch)"),
    ("val loss", "loss on the task's held-out batches, without dropout"),
    ("val metric", "task metric on the held-out batches (perplexity: exp of the mean loss)"),
    ("val at", "the step the validation was measured at"),
)
NUMERIC = frozenset(range(2, len(COLUMNS)))
PALETTE = (
    colormaps.ORANGE,
    colormaps.SKY,
    colormaps.GREEN,
    colormaps.VERMILION,
    colormaps.PURPLE,
    colormaps.BLUE,
    colormaps.YELLOW,
    colormaps.GREY,
)
SCAN_MS = 1500  # the session file is read this often while the panel is shown
DRAW_S = 0.25  # the table and plot redraw at most this often
MIN_HEIGHT = 220


def fmt(v: float) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:.4g}"


def row_texts(row: RunRow) -> list[str]:
    """What each column shows for ``row`` (the order of COLUMNS)."""
    return [
        row.label,
        row.cell,
        "" if row.params is None else f"{row.params:,}",
        "" if row.recurrent is None else f"{row.recurrent:,}",
        "—" if not math.isfinite(row.ms_per_step) else f"{row.ms_per_step:.1f}",
        str(row.steps),
        fmt(row.loss),
        fmt(row.metric),
        fmt(row.val_loss),
        fmt(row.val_metric),
        "—" if row.val_step is None else str(row.val_step),
    ]


def smooth(y: np.ndarray) -> np.ndarray:
    """Moving mean over ~1/15 of the run (1..50 steps), NaN-safe: per-batch values are noisy."""
    w = max(1, min(50, y.shape[0] // 15))
    if w == 1:
        return y
    ok = np.isfinite(y)
    c = np.concatenate([[0.0], np.cumsum(np.where(ok, y, 0.0))])
    k = np.concatenate([[0], np.cumsum(ok)])
    idx = np.arange(1, y.shape[0] + 1)
    lo = np.maximum(idx - w, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (c[idx] - c[lo]) / (k[idx] - k[lo])


class RunsPanel(QWidget):
    title = "Runs"

    def __init__(self, controller: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.rows: list[RunRow] = []  # what the table shows, in its order
        self.errors: dict[str, str] = {}  # structure key -> why its model cannot be counted
        self._path: Path | None = None
        self._branches: dict[int, Any] = {}
        self._series: dict[int, Series] = {}
        self._models: dict[str, ModelInfo] = {}
        self._points: dict[int, list[Point]] = {}
        self._scanning = False
        self._rescan = False
        self._drawn = 0.0
        self._curves: dict[int, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        self._drawn_curves: dict[int, tuple[Any, ...]] = {}  # branch -> what its curves show
        self._log = False
        self._ticks_for: tuple[int, int] | None = None  # the decades the log axis is labelled for
        self._title = ""

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        head = QHBoxLayout()
        head.setContentsMargins(4, 2, 4, 2)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        head.addWidget(self.note, 1)
        head.addWidget(QLabel("plot:"))
        self.quantity = QComboBox()
        self.quantity.addItems(["metric", "loss"])
        self.quantity.setToolTip("what the plot shows per run: training (line) and validation (dots)")
        self.quantity.currentIndexChanged.connect(lambda _i: self._mark())
        head.addWidget(self.quantity)
        lay.addLayout(head)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        for col, (name, tip) in enumerate(COLUMNS):
            item = QTableWidgetItem(name)
            item.setToolTip(tip)
            self.table.setHorizontalHeaderItem(col, item)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.cellDoubleClicked.connect(self._on_double_click)

        self.glw = pg.GraphicsLayoutWidget()
        self.plot = add_plot(self.glw.ci, 0, 0, "")
        self.plot.setClipToView(True)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.plot.showGrid(x=True, y=True, alpha=0.2)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.glw)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 1)
        split.setSizes([700, 300])
        lay.addWidget(split, 1)
        self.setMinimumHeight(MIN_HEIGHT)  # a bottom dock: room for the plot and a few rows

        self._scan_timer = QTimer(self)
        self._scan_timer.setInterval(SCAN_MS)
        self._scan_timer.timeout.connect(self.request_scan)
        self._draw_timer = QTimer(self)
        self._draw_timer.setSingleShot(True)
        self._draw_timer.timeout.connect(self._mark)
        c = controller
        c.history_changed.connect(self._mark)
        for signal in (c.run_changed, c.demo_changed, c.session_changed):
            signal.connect(self._on_runs_changed)

    def sizeHint(self) -> QSize:
        return QSize(1000, 260)

    # ------------------------------------------------------------ shown / hidden
    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.controller.worker.set_validation(True)
        self._scan_timer.start()
        self.request_scan()
        self._mark()

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        self.controller.worker.set_validation(False)
        self._scan_timer.stop()

    # ------------------------------------------------------------ reading the file
    def _on_runs_changed(self) -> None:
        self.request_scan()
        self._mark()

    def request_scan(self) -> None:
        """Read what changed in the session file, on the loader thread (one scan at a time)."""
        c = self.controller
        reader = c.reader
        if reader is None or not self.isVisible():
            return
        if self._scanning:
            self._rescan = True
            return
        if Path(reader.path) != self._path:
            self._reset(Path(reader.path))
        known = {bid: len(s) for bid, s in self._series.items()}
        known_models = set(self._models) | set(self.errors)
        self._scanning = True
        c.background(lambda: runs_model.scan(reader, known, known_models), self._on_scanned)

    def _reset(self, path: Path) -> None:
        self._path = path
        self._branches, self._series, self._points = {}, {}, {}
        self._drawn_curves = {}  # another file's run may have the same length: draw it again

    def _on_scanned(self, result: runs_model.ScanResult | None, exc: BaseException | None) -> None:
        self._scanning = False
        reader = self.controller.reader
        if exc is None and result is not None and reader is not None and Path(reader.path) == result.path:
            if result.path != self._path:
                self._reset(result.path)
            self._branches = result.branches
            self._series = {bid: s for bid, s in self._series.items() if bid in result.branches}
            for bid, (start, summ) in result.new.items():
                series = self._series.setdefault(bid, Series())
                if len(series) == start:
                    series.extend(summ)
            self._models.update(result.models)
            self._points = result.validation
            self.errors.update(result.failed)
            self._mark()
        if self._rescan:
            self._rescan = False
            self.request_scan()

    # ------------------------------------------------------------ rows
    def _order(self) -> list[tuple[int, str]]:
        """(branch id, label): the demo's runs in its order, then every other branch by id."""
        c = self.controller
        out = [(bid, label) for label, bid in c.demos.runs().items() if bid in self._branches]
        taken = {bid for bid, _ in out}
        out += [(bid, b.name) for bid, b in sorted(self._branches.items()) if bid not in taken]
        if c.config is not None and c.mode != "empty" and c.branch_id not in self._branches:
            out.append((c.branch_id, c.branch_name))  # shown before the first scan found it
        return out

    def build_rows(self) -> list[RunRow]:
        c = self.controller
        rows = []
        for bid, label in self._order():
            series = self._series.get(bid, Series())
            branch = self._branches.get(bid)
            config = branch.config if branch is not None else c.config.to_dict()
            info = self._models.get(runs_model.structure_key(config))
            h = c.history
            if bid == c.branch_id and len(h) >= len(series):  # the window's own copy is newer
                data = (h.series("loss"), h.series("metric"), h.series("step_time"), h.metric_name)
            else:
                data = (series.loss, series.metric, series.step_time, series.metric_name)
            points = timeline_points(self._points, self._branches, bid)
            rows.append(runs_model.run_row(bid, label, info, *data, points))
        return rows

    # ------------------------------------------------------------ drawing
    def _mark(self) -> None:
        if not self.isVisible():
            return
        wait = self._drawn + DRAW_S - time.monotonic()
        if wait > 0:
            if not self._draw_timer.isActive():
                self._draw_timer.start(int(wait * 1000) + 1)
            return
        self.refresh()

    def refresh(self) -> None:
        self._drawn = time.monotonic()
        self.rows = self.build_rows()
        self._fill_table()
        self._draw_plot()
        self._update_note()

    def _fill_table(self) -> None:
        t, rows = self.table, self.rows
        names = {r.metric_name for r in rows if r.metric_name}
        metric = names.pop() if len(names) == 1 else "metric"
        for col, text in ((7, metric), (9, f"val {metric}")):
            if t.horizontalHeaderItem(col).text() != text:
                t.horizontalHeaderItem(col).setText(text)
        if t.rowCount() != len(rows):
            t.setRowCount(len(rows))
        shown = self.controller.branch_id
        for r, row in enumerate(rows):
            for col, text in enumerate(row_texts(row)):
                item = t.item(r, col)
                if item is None:
                    item = QTableWidgetItem()
                    if col in NUMERIC:
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    t.setItem(r, col, item)
                if item.text() != text:
                    item.setText(text)
            label = t.item(r, 0)
            label.setForeground(QBrush(QColor(PALETTE[r % len(PALETTE)])))
            font = QFont(label.font())
            font.setBold(row.branch == shown)
            label.setFont(font)
            label.setToolTip(
                f"branch {row.branch}" + (" (shown in the window)" if row.branch == shown else "")
            )

    def _draw_plot(self) -> None:
        """One training curve (smoothed) and one validation curve per run; a curve is only
        handed new data when its run has new steps or points."""
        which = self.quantity.currentText()
        c, h = self.controller, self.controller.history
        metric_names = {row.metric_name for row in self.rows}
        log = which == "metric" and metric_names == {"perplexity"}
        if log != self._log:
            self._log = log
            self.plot.setLogMode(y=log)
            if not log:
                self.plot.getAxis("left").setTicks(None)
                self._ticks_for = None
        for bid in [b for b in self._curves if b not in {r.branch for r in self.rows}]:
            for item in self._curves.pop(bid):
                self.plot.removeItem(item)
            self._drawn_curves.pop(bid, None)
        for r, row in enumerate(self.rows):
            s = self._series.get(row.branch, Series())
            own = row.branch == c.branch_id and len(h) >= len(s)
            y = h.series(which) if own else (s.loss if which == "loss" else s.metric)
            pts = timeline_points(self._points, self._branches, row.branch)
            colour = PALETTE[r % len(PALETTE)]
            # the shown run's curve comes from the History, which a branch switch reloads after
            # the switch is announced: its revision says when the data changed at the same length
            shown = (which, colour, own, y.shape[0], tuple(pts), h.revision if own else None)
            if self._drawn_curves.get(row.branch) == shown:
                continue
            self._drawn_curves[row.branch] = shown
            if row.branch not in self._curves:
                self._curves[row.branch] = (
                    self.plot.plot(),
                    self.plot.plot(symbol="o", symbolSize=6, symbolPen=None),
                )
            train, val = self._curves[row.branch]
            train.setPen(pg.mkPen(colour, width=1))
            val.setPen(None)  # points measured at a few steps: dots, no line suggesting a trend between them
            val.setSymbolBrush(colour)
            train.setData(np.arange(y.shape[0], dtype=np.float64), smooth(np.asarray(y, dtype=np.float64)))
            vx = np.array([p.step for p in pts], dtype=np.float64)
            vy = np.array([p.loss if which == "loss" else p.metric for p in pts], dtype=np.float64)
            val.setData(vx, vy)
        if log:
            self._decade_ticks()
        name = next(iter(metric_names)) if len(metric_names) == 1 and which == "metric" else which
        title = f"training {name} per run (smoothed) · validation: dots"
        if title != self._title:
            self._title = title
            set_title(self.plot, title)

    def _decade_ticks(self) -> None:
        """A log axis labelled in decades (pyqtgraph writes 2·10¹ 3·10¹ ... over a short range)."""
        values = [
            np.asarray(item.yData, dtype=np.float64)
            for items in self._curves.values()
            for item in items
            if item.yData is not None and len(item.yData)
        ]
        if not values:
            return
        a = np.concatenate(values)
        a = a[np.isfinite(a) & (a > 0)]
        if a.size:
            span = (math.floor(math.log10(float(a.min()))), math.ceil(math.log10(float(a.max()))))
            if span != self._ticks_for:  # new ticks re-lay out the axis text
                self._ticks_for = span
                decade_ticks(self.plot.getAxis("left"), float(span[0]), float(span[1]))

    def _update_note(self) -> None:
        text = (
            f"{len(self.rows)} run(s). Validation: held-out batches, measured on the training thread "
            f"while this panel is shown (≤ {BUDGET:.0%} of training time, and when training rests)."
        )
        err = self.controller.worker.validation.last_error
        shown = {runs_model.structure_key(b.config) for b in self._branches.values()}
        errors = [why for key, why in self.errors.items() if key in shown]  # not another file's runs
        problems = [*errors, *([f"validation failed: {err}"] if err else [])]
        if problems:
            text += " ⚠ " + "; ".join(problems)
        if self.note.text() != text:
            self.note.setText(text)

    def _on_double_click(self, row: int, _col: int) -> None:
        if 0 <= row < len(self.rows) and self.rows[row].branch != self.controller.branch_id:
            self.controller.files.view_branch(self.rows[row].branch)


DOCK = Dock(
    "runs",
    RunsPanel.title,
    lambda ctx: RunsPanel(ctx.model),
    Place("bottom"),
    hidden=True,
    shows=("compare",),
)
