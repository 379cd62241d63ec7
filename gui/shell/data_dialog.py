"""File > New run from data…: pick a file, see what rnnscope makes of it, then start the run.

The file is read and previewed on the loader thread (a progress bar shows meanwhile): its first
lines, the kind of data detected (the suffix; the kind box overrides it), for a table the
columns to use as inputs and targets, the time and series-id columns. Every change re-plans
the run (gui.model.data_plan, on the loader thread): the summary says how many windows,
tokens or pairs it makes and how it normalises, or, in red, why it cannot (naming the file,
the line and the column). "Start run" is enabled only while the plan holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rnnscope.engine.config import CELLS, DEFAULTS, KNOBS
from rnnscope.engine.datasets import KINDS
from rnnscope.gui.model import data_plan
from rnnscope.gui.model.data_plan import Plan, Preview
from rnnscope.gui.model.run_files import describe

NONE = "(none)"
TIME_NAMES = ("time", "date", "datetime", "timestamp", "year", "month", "day", "t")
FILTER = "Data files (*.csv *.npy *.npz *.txt *.tsv);;All files (*)"


def _spin(name: str, value: int | float | None = None) -> QSpinBox | QDoubleSpinBox:
    """A spin box with the field's range (engine.config.KNOBS), set to ``value`` or its default."""
    k = KNOBS[name]
    box: QSpinBox | QDoubleSpinBox
    if isinstance(DEFAULTS[name], float):
        box = QDoubleSpinBox()
        box.setDecimals(3)
        box.setSingleStep(k.step or 0.05)
        lo = float(k.lo or 0.0) + (0.001 if k.lo_open else 0.0)
        box.setRange(lo, float(k.hi or 1.0))
    else:
        box = QSpinBox()
        box.setRange(int(k.lo or 0), int(min(k.hi or 10**6, 2**31 - 1)))
    box.setValue(DEFAULTS[name] if value is None else value)  # type: ignore[arg-type]
    box.setToolTip(f"{k.help}; {k.interval()}")
    return box


class DataRunDialog(QDialog):
    def __init__(
        self, controller: Any, parent: QWidget | None = None, path: str | Path | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New run from data")
        self.controller = controller
        self.preview: Preview | None = None
        self.plan: Plan | None = None
        self._revision = 0  # plans answer the latest change only

        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("a .csv, .npy, .npz, .txt or .tsv file")
        self.path_edit.returnPressed.connect(lambda: self.load(self.path_edit.text()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy
        self.progress.hide()
        self.preview_box = QPlainTextEdit()
        self.preview_box.setReadOnly(True)
        self.preview_box.setMaximumHeight(140)
        self.preview_box.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.kind = QComboBox()
        self.kind.addItems(list(KINDS))
        self.weights_edit = QLineEdit()
        self.weights_edit.setPlaceholderText("optional: a trained model's state_dict (.pt) or .safetensors")
        self.weights_edit.editingFinished.connect(self._changed)
        weights_browse = QPushButton("Browse…")
        weights_browse.clicked.connect(self._browse_weights)
        self.inspect = QCheckBox("inspect: forward and backward through the data in order, no updates")

        # series
        self.inputs, self.targets = QListWidget(), QListWidget()
        for lst in (self.inputs, self.targets):
            lst.setMaximumHeight(110)
        self.time_column, self.series_column = QComboBox(), QComboBox()
        self.horizon, self.stride = _spin("horizon"), _spin("stride")
        self.drop = QComboBox()
        self.drop.addItems(["refuse the file", "drop such rows"])
        self.series_group = QGroupBox("Columns (a time series)")
        form = QFormLayout(self.series_group)
        form.addRow("inputs", self.inputs)
        form.addRow("targets (none: the inputs)", self.targets)
        form.addRow("time column", self.time_column)
        form.addRow("series-id column", self.series_column)
        form.addRow("horizon (steps ahead)", self.horizon)
        form.addRow("window stride", self.stride)
        form.addRow("missing / NaN / Inf values", self.drop)
        # text and pairs
        self.tokens = QComboBox()
        self.tokens.addItems(list(KNOBS["tokens"].options()))
        self.vocab_cap = _spin("vocab_cap")
        self.text_group = QGroupBox("Tokens (a text, or pairs)")
        tform = QFormLayout(self.text_group)
        tform.addRow("tokens", self.tokens)
        tform.addRow("vocabulary cap (words)", self.vocab_cap)
        # the model
        self.cell = QComboBox()
        self.cell.addItems(list(CELLS))
        self.cell.setCurrentText(str(DEFAULTS["cell"]))
        self.hidden, self.layers = _spin("hidden_size"), _spin("layers")
        self.seq_len, self.val_fraction = _spin("seq_len"), _spin("val_fraction")
        model = QGroupBox("Model and windows")
        mform = QFormLayout(model)
        mform.addRow("cell", self.cell)
        mform.addRow("hidden size", self.hidden)
        mform.addRow("layers", self.layers)
        mform.addRow("sequence length (window)", self.seq_len)
        mform.addRow("validation part (the last)", self.val_fraction)
        wrow = QHBoxLayout()
        wrow.addWidget(self.weights_edit, 1)
        wrow.addWidget(weights_browse)
        mform.addRow("start from weights", wrow)
        mform.addRow("", self.inspect)

        self.summary = QLabel("Choose a file.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.addButton("Start run", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        top = QFormLayout()
        top.addRow("file", row)
        top.addRow("kind of data", self.kind)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.progress)
        lay.addWidget(self.preview_box)
        lay.addWidget(self.series_group)
        lay.addWidget(self.text_group)
        lay.addWidget(model)
        lay.addWidget(self.summary)
        lay.addWidget(self.buttons)

        self._replan_timer = QTimer(self)
        self._replan_timer.setSingleShot(True)
        self._replan_timer.setInterval(200)
        self._replan_timer.timeout.connect(self._replan)
        for combo in (self.kind, self.time_column, self.series_column, self.drop, self.tokens, self.cell):
            combo.currentIndexChanged.connect(self._changed)
        for box in (
            self.horizon,
            self.stride,
            self.vocab_cap,
            self.hidden,
            self.layers,
            self.seq_len,
            self.val_fraction,
        ):
            box.valueChanged.connect(self._changed)
        for lst in (self.inputs, self.targets):
            lst.itemChanged.connect(self._changed)
        self.inspect.toggled.connect(self._changed)
        self.kind.currentIndexChanged.connect(self._show_groups)
        self.time_column.currentIndexChanged.connect(self._sync_columns)
        self.series_column.currentIndexChanged.connect(self._sync_columns)
        self._show_groups()
        if path is not None:
            self.load(path)

    # ------------------------------------------------------------ the file
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "A data file", "", FILTER)
        if path:
            self.load(path)

    def _browse_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Trained weights", "", "Weights (*.pt *.pth *.safetensors);;All files (*)"
        )
        if path:
            self.set_weights(path)

    def set_weights(self, path: str | Path | None) -> None:
        self.weights_edit.setText("" if path is None else str(path))
        self._changed()

    @property
    def weights(self) -> str | None:
        return self.weights_edit.text().strip() or None

    def load(self, path: str | Path) -> None:
        """Read and preview ``path`` on the loader thread."""
        path = str(path).strip()
        if not path:
            return
        self.path_edit.setText(path)
        self.preview, self.plan = None, None
        self.start_button.setEnabled(False)
        self.progress.show()
        self._say(f"reading {Path(path).name}…")
        self.controller.background(
            lambda: data_plan.load(path), self._on_loaded, busy=f"reading {Path(path).name}"
        )

    def _on_loaded(self, preview: Preview | None, exc: BaseException | None) -> None:
        self.progress.hide()
        if exc is not None or preview is None:
            self.preview_box.setPlainText("")
            self._say(describe(exc) if exc else "cannot read the file", error=True)
            return
        self.preview = preview
        self.preview_box.setPlainText("\n".join(preview.lines))
        for lst, checked in ((self.inputs, True), (self.targets, False)):
            lst.blockSignals(True)
            lst.clear()
            for c in preview.columns:
                item = QListWidgetItem(c)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
                lst.addItem(item)
            lst.blockSignals(False)
        for combo in (self.time_column, self.series_column):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([NONE, *preview.columns] if preview.file.suffix == ".csv" else [NONE])
            combo.blockSignals(False)
        guess = next((c for c in preview.columns if c.lower() in TIME_NAMES), None)
        if guess is not None and preview.file.suffix == ".csv":
            self.time_column.blockSignals(True)
            self.time_column.setCurrentText(guess)  # a column named like a time: the time column
            self.time_column.blockSignals(False)
        self._sync_columns()
        self.kind.blockSignals(True)
        self.kind.setCurrentText(preview.kind)
        self.kind.blockSignals(False)
        self._show_groups()
        self._replan()

    # ------------------------------------------------------------ the plan
    def choices(self) -> dict[str, Any]:
        """The TrainConfig fields the dialog sets (the rest keep their defaults)."""

        def checked(lst: QListWidget) -> str:
            return ",".join(
                lst.item(i).text()
                for i in range(lst.count())
                if lst.item(i).checkState() == Qt.CheckState.Checked
            )

        def column(combo: QComboBox) -> str:
            return "" if combo.currentText() in (NONE, "") else combo.currentText()

        out: dict[str, Any] = {
            "cell": self.cell.currentText(),
            "hidden_size": self.hidden.value(),
            "layers": self.layers.value(),
            "seq_len": self.seq_len.value(),
            "val_fraction": round(self.val_fraction.value(), 6),
            "inspect": self.inspect.isChecked(),
        }
        if self.kind.currentText() == "series":
            time_col, series_col = column(self.time_column), column(self.series_column)
            inputs = [c for c in checked(self.inputs).split(",") if c and c not in (time_col, series_col)]
            out.update(
                inputs=",".join(inputs),
                targets=checked(self.targets),
                time_column=time_col,
                series_column=series_col,
                horizon=self.horizon.value(),
                stride=self.stride.value(),
                drop_nonfinite=self.drop.currentIndex() == 1,
            )
        else:
            out.update(tokens=self.tokens.currentText(), vocab_cap=self.vocab_cap.value())
        return out

    def _changed(self, *_: Any) -> None:
        if self.preview is not None:
            self.start_button.setEnabled(False)
            self._replan_timer.start()

    def _replan(self) -> None:
        preview = self.preview
        if preview is None:
            return
        self._revision += 1
        revision, kind, choices, weights = (
            self._revision,
            self.kind.currentText(),
            self.choices(),
            self.weights,
        )

        def done(plan: Plan | None, exc: BaseException | None) -> None:
            if revision != self._revision:
                return  # a newer change is being planned
            if exc is not None or plan is None:
                plan = Plan(None, describe(exc) if exc else "cannot plan the run")
            self.plan = plan
            self._say(plan.summary, error=not plan.ok)
            self.start_button.setEnabled(plan.ok)

        self.controller.background(
            lambda: data_plan.plan(preview, kind, choices, weights), done, busy="planning the run"
        )

    def _sync_columns(self, *_: Any) -> None:
        """The time and series-id columns are neither inputs nor targets: unchecked and greyed."""
        taken = {self.time_column.currentText(), self.series_column.currentText()} - {NONE, ""}
        for lst in (self.inputs, self.targets):
            lst.blockSignals(True)
            for i in range(lst.count()):
                item = lst.item(i)
                flags = item.flags()
                if item.text() in taken:
                    item.setCheckState(Qt.CheckState.Unchecked)
                    item.setFlags(flags & ~Qt.ItemFlag.ItemIsEnabled)
                else:
                    if not flags & Qt.ItemFlag.ItemIsEnabled and lst is self.inputs:
                        item.setCheckState(Qt.CheckState.Checked)  # given back: an input again
                    item.setFlags(flags | Qt.ItemFlag.ItemIsEnabled)
            lst.blockSignals(False)

    def _show_groups(self) -> None:
        series = self.kind.currentText() == "series"
        self.series_group.setVisible(series)
        self.text_group.setVisible(not series)

    def _say(self, text: str, error: bool = False) -> None:
        self.summary.setText(text)
        self.summary.setStyleSheet("color: #c0392b;" if error else "")

    def config(self) -> Any:
        return None if self.plan is None else self.plan.config
