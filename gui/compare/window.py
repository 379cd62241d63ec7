"""CompareWindow: two runs side by side with one step, one timestep cursor and shared scales.

A panel chooser picks which view both columns show (the window's own panel classes, fed
by a SourceModel each); the gradient-flow view adds a third column with A − B. The step
slider (or ←/→, or a click on any over-steps plot of either side) moves both runs to the
same training step, each clamped to its own length; the over-steps plots of both sides and
the difference view share one x range (``SharedStepAxis``). The timestep cursor (Shift+←/→,
clicks on any per-timestep view) is one TimeCursor for both sides. Every pair of heatmaps
shares one colour scale (``SharedScale``). Opening and regenerating frames run on each
side's loader thread; the status bar shows what is in progress.

Given the main window's RunController (``live``), a side whose run that window is training
follows it (``SourceModel.follow``, once a second): new steps appear, and when the shared
step was at that run's end it moves on with it. A banner says how the runs differ (steps,
sequence length, layers, cell) and what the views do about it (gui.compare.notes).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSlider,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from rnnscope.gui.compare.difference import DifferencePanel
from rnnscope.gui.compare.follow import FOLLOW_MS
from rnnscope.gui.compare.notes import SideFacts, mismatch_notes
from rnnscope.gui.compare.scales import SharedScale, SharedStepAxis
from rnnscope.gui.compare.source import CompareSource, SourceModel
from rnnscope.gui.panels import DOCKS, DockContext, GradientFlowPanel
from rnnscope.gui.panels.ranges import StepAxisRange
from rnnscope.gui.shell import gc_guard
from rnnscope.gui.shell.cursor import TimeCursor

# The step views of the registry: the same panels as the main window's, one per side.
PANELS: dict[str, tuple[str, Any]] = {d.name: (d.title, d.make) for d in DOCKS if d.compares}
# the StepAxisRange attribute of each panel with over-steps plots (put under the shared axis)
STEP_AXES = {"gradient_flow": "heat_x", "health": "x_range"}


def heatmaps(panel: Any) -> dict[str, Any]:
    """The HeatmapPlots of a panel, by a name that matches the same heatmap of the other side."""
    if isinstance(panel, GradientFlowPanel):
        return {"heat": panel.heat}
    return dict(getattr(panel, "maps", {}))


class CompareWindow(QMainWindow):
    closed = Signal()

    def __init__(
        self,
        a: CompareSource,
        b: CompareSource,
        parent: QWidget | None = None,
        *,
        panel: str = "gradient_flow",
        live: Any = None,
    ) -> None:
        super().__init__(parent)
        gc_guard.install()  # see gui/gc_guard.py
        self.setWindowTitle(f"rnnscope — compare  A: {a.describe()}   B: {b.describe()}")
        self.resize(1600, 900)
        self.live = live  # the main window's RunController (None: nothing to follow)
        self.cursor = TimeCursor(self)
        self.models = [SourceModel(a, "A", self, live), SourceModel(b, "B", self, live)]
        self.errors: list[str] = []
        self.notes: list[str] = []
        self.step = 0
        self.following = False  # the step moves on with a run in training
        self.scales: dict[tuple[str, str], SharedScale] = {}
        self.step_axis = SharedStepAxis(lambda: self.steps)
        self._opened = 0

        self.kind = QComboBox()
        for key, (text, _cls) in PANELS.items():
            self.kind.addItem(text, key)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("the training step both runs show (←/→); a click on a plot over steps too")
        self.spin = QSpinBox()
        self.spin.setRange(0, 0)
        self.spin.setPrefix("step ")
        top = QHBoxLayout()
        top.setContentsMargins(6, 4, 6, 4)
        top.addWidget(QLabel("show"))
        top.addWidget(self.kind)
        top.addSpacing(12)
        top.addWidget(self.slider, 1)
        top.addWidget(self.spin)
        self.banner = QLabel("")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("color: #F0E442; padding: 2px 8px;")
        self.banner.hide()

        self.panels: list[dict[str, Any]] = []
        self.stacks: list[QStackedWidget] = []
        self.titles: list[QLabel] = []
        columns = QSplitter(Qt.Orientation.Horizontal)
        for model in self.models:
            col, panels, stack, title = self._column(model)
            columns.addWidget(col)
            self.panels.append(panels)
            self.stacks.append(stack)
            self.titles.append(title)
        self.difference = DifferencePanel(self.models[0], self.models[1], self.cursor)
        diff_col = QWidget()
        dlay = QVBoxLayout(diff_col)
        dlay.setContentsMargins(0, 0, 0, 0)
        dlay.addWidget(self._title_label("A − B (difference)"))
        dlay.addWidget(self.difference, 1)
        self.diff_column = diff_col
        columns.addWidget(diff_col)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.banner)
        lay.addWidget(columns, 1)
        self.setCentralWidget(central)
        self._share_step_axis()

        self.busy_label = QLabel("")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(140)
        self.busy.hide()
        self.statusBar().addWidget(self.busy_label)
        self.statusBar().addWidget(self.busy)
        self._make_actions()

        self.kind.currentIndexChanged.connect(self._on_kind)
        self.slider.valueChanged.connect(self.set_step)
        self.spin.valueChanged.connect(self.set_step)
        for model in self.models:  # connected after the panels: they have drawn when these run
            model.step_requested.connect(self.set_step)
            model.opened.connect(self._on_opened)
            model.failed.connect(lambda text, m=model: self._on_failed(m, text))
            model.grown.connect(lambda old, m=model: self._on_grown(m, old))
            model.record_changed.connect(self._relink)
            model.run_changed.connect(self._relink)
            model.loader.busy_changed.connect(self._on_busy)
        self.follow_timer = QTimer(self)
        self.follow_timer.setInterval(FOLLOW_MS)
        self.follow_timer.timeout.connect(self.follow)
        if live is not None:
            self.follow_timer.start()
        self.set_panel(panel)
        for model in self.models:
            model.open()

    # ------------------------------------------------------------ building
    def _title_label(self, text: str) -> QLabel:
        label = QLabel(text)
        label.setStyleSheet("font-weight: bold; padding: 3px 6px;")
        return label

    def _column(self, model: SourceModel) -> tuple[QWidget, dict[str, Any], QStackedWidget, QLabel]:
        col = QWidget()
        lay = QVBoxLayout(col)
        lay.setContentsMargins(0, 0, 0, 0)
        title = self._title_label(f"{model.name}: {model.title}")
        stack = QStackedWidget()
        panels = {key: make(DockContext(model, self.cursor)) for key, (_text, make) in PANELS.items()}
        for p in panels.values():
            stack.addWidget(p)
        lay.addWidget(title)
        lay.addWidget(stack, 1)
        return col, panels, stack, title

    def _share_step_axis(self) -> None:
        """One x range for the over-steps plots of A and B and for the difference view."""
        for key, attr in STEP_AXES.items():
            for panels in self.panels:
                own = getattr(panels[key], attr, None)
                if isinstance(own, StepAxisRange):
                    setattr(panels[key], attr, self.step_axis.add(own))
        self.step_axis.add(self.difference.x_range)

    def _make_actions(self) -> None:
        for text, shortcut, slot in (
            ("Previous step", Qt.Key.Key_Left, lambda: self.set_step(self.step - 1)),
            ("Next step", Qt.Key.Key_Right, lambda: self.set_step(self.step + 1)),
            ("Timestep cursor ←", "Shift+Left", lambda: self.move_cursor(-1)),
            ("Timestep cursor →", "Shift+Right", lambda: self.move_cursor(1)),
            ("Close", QKeySequence.StandardKey.Close, self.close),
        ):
            act = QAction(text, self)
            act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            self.addAction(act)

    # ------------------------------------------------------------ state
    @property
    def ready(self) -> bool:
        """Both runs are open and show the current step (as far as each has it)."""
        return self._opened == 2 and all(
            m.shown_step == min(self.step, m.steps - 1) for m in self.models if m.steps
        )

    @property
    def _opening(self) -> bool:
        """A side is still opening (neither open nor failed)."""
        return any(m.shape is None and not m.error for m in self.models)

    @property
    def steps(self) -> int:
        return max((m.steps for m in self.models), default=0)

    @property
    def timesteps(self) -> int:
        """The longer run's T (all parts)."""
        return max((sum(m.history.part_lengths().values()) for m in self.models if m.steps), default=0)

    def set_panel(self, key: str) -> None:
        i = list(PANELS).index(key)
        if self.kind.currentIndex() != i:
            self.kind.setCurrentIndex(i)  # comes back here through _on_kind
            return
        for stack in self.stacks:
            stack.setCurrentIndex(i)
        self.diff_column.setVisible(key == "gradient_flow")
        self._relink()

    def current_panels(self) -> tuple[Any, Any]:
        key = self.kind.currentData()
        return self.panels[0][key], self.panels[1][key]

    def set_step(self, step: int, *, following: bool = False) -> None:
        """Show training step ``step`` on both sides (each clamped to its own steps).
        ``following``: set by a run in training moving the step on (any other call stops that)."""
        n = self.steps
        if not n:
            return
        step = max(0, min(int(step), n - 1))
        self.step = step
        self.following = following
        for w in (self.slider, self.spin):
            w.blockSignals(True)
            w.setValue(step)
            w.blockSignals(False)
        self.difference.set_step(step)
        for model in self.models:
            model.show(step)
        self._update_titles()

    def move_cursor(self, dt: int) -> None:
        """Move the shared timestep cursor, within the longer run's timesteps."""
        t_max = self.timesteps
        t = self.cursor.t + dt
        self.cursor.set(min(t, t_max - 1) if t_max else t)

    def follow(self) -> None:
        """Take the new steps of a run the main window is training (the follow timer)."""
        for model in self.models:
            model.follow()

    # ------------------------------------------------------------ events
    def _on_kind(self, _i: int) -> None:
        self.set_panel(self.kind.currentData())

    def _update_range(self) -> None:
        top = max(self.steps - 1, 0)
        for w in (self.slider, self.spin):
            if w.maximum() != top:
                w.blockSignals(True)
                w.setRange(0, top)
                w.blockSignals(False)
        self.step_axis.update()

    def _update_titles(self) -> None:
        for model, title in zip(self.models, self.titles, strict=True):
            text = f"{model.name}: {model.title}"
            if model.training:
                text += " · ● training (follows)"
            if model.steps and self.step >= model.steps:
                text += f" (ends at step {model.steps - 1})"
            if title.text() != text:
                title.setText(text)

    def _update_notes(self) -> None:
        notes = mismatch_notes(*(SideFacts.of(m) for m in self.models))
        if notes != self.notes:
            self.notes = notes
            self.banner.setText("\n".join("⚠ " + n for n in notes))
            self.banner.setVisible(bool(notes))

    def _on_opened(self) -> None:
        self._opened += 1
        self._update_range()
        self._start()

    def _start(self) -> None:
        """Once both sides are open (or failed to open): the last step both runs have."""
        if self._opening:
            return
        have = [m.steps for m in self.models if m.shape is not None and m.steps]
        common = min(have) if len(have) == 2 else max(have, default=0)
        self.set_step(common - 1)
        self._update_titles()
        self._update_notes()

    def _on_grown(self, model: SourceModel, old: int) -> None:
        """A followed run has new steps. A shared step at its old end (or following it) moves on:
        to the step the main window shows, when that is the newest it holds in memory (no read),
        else to the new end (read, or regenerated, in the background; the newest request wins)."""
        self._update_range()
        step, follow = self.step, self.following or self.step >= old - 1
        if follow:
            held = model.held_step()
            step = max(step, held if held is not None else model.steps - 1)
        if not self._opening:
            self.set_step(step, following=follow)
        self._update_notes()

    def _on_failed(self, model: SourceModel, text: str) -> None:
        self.errors.append(text)
        self.statusBar().showMessage("⚠ " + text, 15000)
        if model.shape is None:  # it could not be opened: the other side is shown alone
            self._start()
        self._update_notes()

    def _on_busy(self, _text: str) -> None:
        texts = [m.loader.busy_text for m in self.models if m.loader.busy_text]
        self.busy_label.setText(" · ".join(texts) + ("…" if texts else ""))
        if texts:
            QTimer.singleShot(150, self._reveal_busy)  # quick reads do not flash a bar
        else:
            self.busy.hide()

    def _reveal_busy(self) -> None:
        if any(m.loader.busy_text for m in self.models):
            self.busy.show()

    def _relink(self, *_: Any) -> None:
        """Give each pair of same-named heatmaps (A's and B's) one SharedScale."""
        for key in PANELS:
            maps_a, maps_b = heatmaps(self.panels[0][key]), heatmaps(self.panels[1][key])
            for name in maps_a.keys() & maps_b.keys():
                scale = self.scales.setdefault((key, name), SharedScale())
                pair = [maps_a[name], maps_b[name]]
                if scale.members != pair:
                    scale.set_members(pair)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.follow_timer.stop()
        for model in self.models:
            model.close()
        self.closed.emit()
        super().closeEvent(event)
