"""CompareWindow: two runs side by side with one step, one timestep cursor and shared scales.

A panel chooser picks which view both columns show (the window's own panel classes, fed
by a SourceModel each); the gradient-flow view adds a third column with A − B. The step
slider (or ←/→, or a click on any over-steps plot) moves both runs to the same training
step, each clamped to its own length; the timestep cursor (Shift+←/→, clicks) is shared.
Every pair of heatmaps shares one colour scale (``SharedScale``). Opening and regenerating
frames run on each side's loader thread; the status bar shows what is in progress.
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

from gui.compare.difference import DifferencePanel
from gui.compare.scales import SharedScale
from gui.compare.source import CompareSource, SourceModel
from gui.cursor import TimeCursor
from gui.panels import GatesPanel, GradientFlowPanel, HealthPanel, SamplePanel, StatesPanel

PANELS: dict[str, tuple[str, Any]] = {
    "gradient_flow": ("Gradient flow", GradientFlowPanel),
    "gates": ("Gates", GatesPanel),
    "states": ("States", StatesPanel),
    "health": ("Health", HealthPanel),
    "sample": ("Sample", SamplePanel),
}


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
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"rnnscope — compare  A: {a.describe()}   B: {b.describe()}")
        self.resize(1600, 900)
        self.cursor = TimeCursor(self)
        self.models = [SourceModel(a, "A", self), SourceModel(b, "B", self)]
        self.errors: list[str] = []
        self.step = 0
        self.scales: dict[tuple[str, str], SharedScale] = {}
        self._opened = 0

        self.kind = QComboBox()
        for key, (text, _cls) in PANELS.items():
            self.kind.addItem(text, key)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
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
        lay.addWidget(columns, 1)
        self.setCentralWidget(central)

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
            model.failed.connect(self._on_failed)
            model.record_changed.connect(self._relink)
            model.run_changed.connect(self._relink)
            model.loader.busy_changed.connect(self._on_busy)
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
        panels = {key: cls(model, self.cursor) for key, (_text, cls) in PANELS.items()}
        for p in panels.values():
            stack.addWidget(p)
        lay.addWidget(title)
        lay.addWidget(stack, 1)
        return col, panels, stack, title

    def _make_actions(self) -> None:
        for text, shortcut, slot in (
            ("Previous step", Qt.Key.Key_Left, lambda: self.set_step(self.step - 1)),
            ("Next step", Qt.Key.Key_Right, lambda: self.set_step(self.step + 1)),
            ("Timestep cursor ←", "Shift+Left", lambda: self.cursor.move(-1)),
            ("Timestep cursor →", "Shift+Right", lambda: self.cursor.move(1)),
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
    def steps(self) -> int:
        return max((m.steps for m in self.models), default=0)

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

    def set_step(self, step: int) -> None:
        n = self.steps
        if not n:
            return
        step = max(0, min(int(step), n - 1))
        self.step = step
        for w in (self.slider, self.spin):
            w.blockSignals(True)
            w.setValue(step)
            w.blockSignals(False)
        for model, title in zip(self.models, self.titles, strict=True):
            model.show(step)
            note = f" (ends at step {model.steps - 1})" if model.steps and step >= model.steps else ""
            title.setText(f"{model.name}: {model.title}{note}")

    # ------------------------------------------------------------ events
    def _on_kind(self, _i: int) -> None:
        self.set_panel(self.kind.currentData())

    def _on_opened(self) -> None:
        self._opened += 1
        for model, title in zip(self.models, self.titles, strict=True):
            title.setText(f"{model.name}: {model.title}")
        n = self.steps
        self.slider.setRange(0, max(n - 1, 0))
        self.spin.setRange(0, max(n - 1, 0))
        if self._opened == 2:  # start at the last step both runs have
            common = min(m.steps for m in self.models)
            self.set_step(max(common - 1, 0))

    def _on_failed(self, text: str) -> None:
        self.errors.append(text)
        self.statusBar().showMessage("⚠ " + text, 15000)

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
        for model in self.models:
            model.close()
        self.closed.emit()
        super().closeEvent(event)
