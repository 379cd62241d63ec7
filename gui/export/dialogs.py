"""Dialogs of the teaching exports: picture size, and the step range of an animation."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QSpinBox,
    QWidget,
)

from rnnscope.gui.export.step_through import gif_available

MAX_SIDE = 16384


class SizeFields(QWidget):
    """Width x height in pixels; with 'keep proportions' on, one follows the other."""

    def __init__(self, width: int, height: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.aspect = width / max(height, 1)
        self.width_box, self.height_box = QSpinBox(), QSpinBox()
        for box, value in ((self.width_box, width), (self.height_box, height)):
            box.setRange(16, MAX_SIDE)
            box.setSuffix(" px")
            box.setValue(value)
        self.keep = QCheckBox("keep proportions")
        self.keep.setChecked(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.width_box)
        row.addWidget(self.height_box)
        row.addWidget(self.keep)
        self.width_box.valueChanged.connect(self._on_width)
        self.height_box.valueChanged.connect(self._on_height)

    def _on_width(self, w: int) -> None:
        if self.keep.isChecked():
            self.height_box.blockSignals(True)
            self.height_box.setValue(max(16, round(w / self.aspect)))
            self.height_box.blockSignals(False)

    def _on_height(self, h: int) -> None:
        if self.keep.isChecked():
            self.width_box.blockSignals(True)
            self.width_box.setValue(max(16, round(h * self.aspect)))
            self.width_box.blockSignals(False)

    @property
    def size(self) -> tuple[int, int]:
        return self.width_box.value(), self.height_box.value()


def _buttons(dialog: QDialog) -> QDialogButtonBox:
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    return box


class SizeDialog(QDialog):
    """PNG size; defaults to twice the widget's size (sharp on a projector or in print)."""

    def __init__(self, widget: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export PNG")
        form = QFormLayout(self)
        self.fields = SizeFields(widget.width() * 2, widget.height() * 2)
        form.addRow("size", self.fields)
        form.addRow(_buttons(self))


@dataclass
class AnimationChoice:
    first: int
    last: int
    every: int
    fmt: str  # gif | png
    fps: float
    size: tuple[int, int]

    @property
    def steps(self) -> list[int]:
        return list(range(self.first, self.last + 1, max(1, self.every)))


class AnimationDialog(QDialog):
    """Steps first..last every n, GIF or PNG sequence, frames per second, frame size."""

    def __init__(self, widget: QWidget, steps: int, shown: int | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export a step-through")
        last = max(steps - 1, 0)
        self.first, self.last, self.every = QSpinBox(), QSpinBox(), QSpinBox()
        for box in (self.first, self.last):
            box.setRange(0, last)
        self.first.setValue(0)
        self.last.setValue(last)
        self.every.setRange(1, max(1, last))
        self.every.setValue(max(1, steps // 50))  # ~50 frames by default
        self.fmt = QComboBox()
        if gif_available():
            self.fmt.addItem("animated GIF", "gif")
        self.fmt.addItem("PNG sequence (name_0000.png, ...)", "png")
        self.fps = QDoubleSpinBox()
        self.fps.setRange(0.5, 50.0)
        self.fps.setValue(4.0)
        self.fps.setSuffix(" frames/s")
        self.fields = SizeFields(widget.width(), widget.height())
        form = QFormLayout(self)
        form.addRow("from step", self.first)
        form.addRow("to step", self.last)
        form.addRow("every", self.every)
        form.addRow("format", self.fmt)
        form.addRow("speed (GIF)", self.fps)
        form.addRow("frame size", self.fields)
        form.addRow(_buttons(self))

    def choice(self) -> AnimationChoice:
        first, last = sorted((self.first.value(), self.last.value()))
        return AnimationChoice(
            first, last, self.every.value(), str(self.fmt.currentData()), self.fps.value(), self.fields.size
        )
