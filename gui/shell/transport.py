"""Transport bar: play/pause, step, speed limit, the timeline slider, live, continue, reset.

The slider spans the recorded steps of the viewed timeline; moving it shows that step
(read from memory, from the session file, or regenerated). Its track carries a tick for
every edit (orange), branch point (blue) and breakpoint hit (red). While the views follow
the newest step the slider follows too, without seeking.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QAction, QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QToolButton,
    QWidget,
)

from rnnscope.gui.panels import colormaps

SPEEDS = [("max", None), ("100 /s", 100.0), ("30 /s", 30.0), ("10 /s", 10.0), ("3 /s", 3.0), ("1 /s", 1.0)]


class TimelineSlider(QSlider):
    """A horizontal slider that paints event ticks (edits, branch points, hits) on its track."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setMinimumWidth(240)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setToolTip(
            "recorded steps: drag to show an older step (ticks: edits, branch points, breakpoint hits)"
        )
        self._marks: list[tuple[int, str]] = []

    def set_marks(self, marks: list[tuple[int, str]]) -> None:
        if marks != self._marks:
            self._marks = marks
            self.update()

    def paintEvent(self, event: Any) -> None:
        super().paintEvent(event)
        if not self._marks or self.maximum() <= self.minimum():
            return
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        groove: QRect = self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderGroove, self
        )
        handle = self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, self
        )
        span = groove.width() - handle.width()
        painter = QPainter(self)
        for step, colour in self._marks:
            x = (
                groove.x()
                + handle.width() // 2
                + QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), step, span)
            )
            painter.setPen(QPen(QColor(colour), 2))
            painter.drawLine(x, groove.top() - 1, x, groove.top() + 4)
            painter.drawLine(x, groove.bottom() - 4, x, groove.bottom() + 1)
        painter.end()


class TransportBar(QWidget):
    """Buttons bound to the window's actions plus the slider; emits ``seek_requested(step)``."""

    seek_requested = Signal(int)

    def __init__(self, controller: Any, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        self.buttons: dict[str, QToolButton] = {}
        for key in ("play", "step", "reset"):
            b = QToolButton()
            b.setDefaultAction(actions[key])
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            self.buttons[key] = b
            lay.addWidget(b)
        lay.addWidget(QLabel("speed"))
        self.speed = QComboBox()
        self.speed.addItems([label for label, _ in SPEEDS])
        self.speed.setToolTip("speed limit: steps per second (max = as fast as the trainer goes)")
        self.speed.currentIndexChanged.connect(self._on_speed)
        lay.addWidget(self.speed)
        self.slider = TimelineSlider()
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self._on_slider)
        lay.addWidget(self.slider, 1)
        self.position = QLabel("no steps yet")
        self.position.setMinimumWidth(150)
        lay.addWidget(self.position)
        for key in ("live", "continue"):
            b = QToolButton()
            b.setDefaultAction(actions[key])
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            self.buttons[key] = b
            lay.addWidget(b)
        self.view_label = QLabel("module")
        self.view = QComboBox()
        self.view.setToolTip(
            "the attached module shown (your model's modules differ in layers or hidden size: one at a time)"
        )
        self.view.currentIndexChanged.connect(self._on_view)
        lay.addWidget(self.view_label)
        lay.addWidget(self.view)
        self.update_views([], 0)
        lay.addWidget(QLabel("branch"))
        self.branch = QComboBox()
        self.branch.setMinimumWidth(110)
        self.branch.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # whole branch names
        self.branch.setToolTip("the branch (timeline) shown; Play continues it")
        lay.addWidget(self.branch)
        self._syncing = False

    # ------------------------------------------------------------ updates
    def update_position(self) -> None:
        """Range, value and label from the controller (called on the redraw tick)."""
        c = self.controller
        n = c.steps
        shown = c.shown_step
        self._syncing = True
        try:
            self.slider.setRange(0, max(0, n - 1))
            if shown is not None and not self.slider.isSliderDown():
                self.slider.setValue(shown)
        finally:
            self._syncing = False
        if n == 0:
            self.position.setText("no steps yet")
        else:
            following = c.follow_live and c.mode in ("live", "follow")
            where = ("following" if c.mode == "follow" else "live") if following else "viewing"
            self.position.setText(f"step {shown if shown is not None else '—'} / {n - 1}  ({where})")
        colours = {
            "edit": colormaps.EDIT,
            "fork": colormaps.SKY,
            "branch": colormaps.SKY,
            "run": colormaps.GREEN,
            "breakpoint": colormaps.NAN_MARK,  # a breakpoint hit (sessions.breakpoints)
        }
        self.slider.set_marks(
            [
                (e.step, colours.get(e.kind, colormaps.GREY))
                for e in c.history.events
                if e.step > 0 or e.kind == "breakpoint"
            ]
        )

    def update_views(self, views: list[Any], current: int) -> None:
        """The choice of module of a followed run (shown only when there is one to make)."""
        labels = [v.label for v in views]
        if labels != [self.view.itemText(i) for i in range(self.view.count())]:
            self.view.blockSignals(True)
            self.view.clear()
            self.view.addItems(labels)
            self.view.blockSignals(False)
        if self.view.currentIndex() != current and 0 <= current < len(labels):
            self.view.blockSignals(True)
            self.view.setCurrentIndex(current)
            self.view.blockSignals(False)
        shown = len(labels) > 1
        self.view.setVisible(shown)
        self.view_label.setVisible(shown)

    def _on_view(self, index: int) -> None:
        if index >= 0:
            self.controller.follower.set_view(index)

    def update_branches(self, branches: list[Any], current: int) -> None:
        self.branch.blockSignals(True)
        self.branch.clear()
        for b in branches:
            self.branch.addItem(b.name, b.id)
        idx = self.branch.findData(current)
        self.branch.setCurrentIndex(max(0, idx))
        self.branch.blockSignals(False)

    # ------------------------------------------------------------ input
    def _on_slider(self, value: int) -> None:
        if not self._syncing:
            self.seek_requested.emit(value)

    def _on_speed(self, index: int) -> None:
        self.controller.set_speed(SPEEDS[index][1])
