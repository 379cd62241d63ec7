"""BreakpointsPanel: the session's watch conditions, like a code debugger's breakpoint list.

One row per breakpoint: an on/off box, the condition, its threshold (editable; a refused
value is put back and the reason shown), and a remove button. Below: add a built-in kind,
or a user expression (parsed by engine.breakpoints, never eval'd; a parse error is shown
next to the field and nothing is added). Then the hits on the viewed timeline: the last
one in red with its message (which breakpoint, step, where); clicking a hit shows its step.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rnnscope.engine.breakpoints import EXPRESSION_FUNCTIONS, EXPRESSION_NAMES, KIND_INFO, Breakpoint, Hit
from rnnscope.gui.panels.registry import Dock, Place

ERROR_STYLE = "color: #ff7070;"
FRAME_NOTE = " (forces a probe frame every step: slower)"


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:g}"


class BreakpointRow:
    """The widgets of one breakpoint's row."""

    def __init__(self, bp: Breakpoint) -> None:
        self.id = bp.id
        self.enabled = QCheckBox()
        self.enabled.setChecked(bp.enabled)
        self.enabled.setToolTip("on/off")
        self.label = QLabel(bp.label + (FRAME_NOTE if bp.needs_frame else ""))
        self.label.setWordWrap(True)
        self.label.setToolTip(f"{bp.kind}: {bp.describe()}")
        self.threshold = QLineEdit(_fmt(bp.threshold))
        self.threshold.setVisible(bp.threshold is not None)
        self.threshold.setMaximumWidth(90)
        self.threshold.setToolTip("threshold (Enter applies)")
        self.remove = QToolButton()
        self.remove.setText("✕")
        self.remove.setToolTip("remove this breakpoint")
        self.remove.setEnabled(bp.kind != "nonfinite")


class BreakpointsPanel(QWidget):
    title = "Breakpoints"

    def __init__(self, controller: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.rows: dict[str, BreakpointRow] = {}
        self.errors: dict[str, str] = {}  # breakpoint id or "expression"/"add" -> reason
        self._hit_signature: tuple[Any, ...] = ()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.grid_host)
        self.row_error = QLabel("")
        self.row_error.setStyleSheet(ERROR_STYLE)
        self.row_error.setWordWrap(True)
        lay.addWidget(self.row_error)

        add = QHBoxLayout()
        self.kind = QComboBox()
        self.kind.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.kind.setMinimumContentsLength(12)  # long labels must not force the dock wide
        for kind, (label, default) in KIND_INFO.items():
            if kind != "expression":
                self.kind.addItem(label if default is None else f"{label} {default:g}", kind)
        add.addWidget(self.kind, 1)
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(self._on_add_kind)
        add.addWidget(self.add_button)
        lay.addLayout(add)

        expr = QHBoxLayout()
        self.expression = QLineEdit()
        self.expression.setPlaceholderText("expression, e.g. loss > 3 and step > 100")
        self.expression.setToolTip(
            "a condition over the step's record, parsed (never eval'd).\nnames: "
            + ", ".join(sorted(EXPRESSION_NAMES))
            + "\nfunctions: "
            + ", ".join(EXPRESSION_FUNCTIONS)
        )
        self.expression.returnPressed.connect(self._on_add_expression)
        expr.addWidget(self.expression, 1)
        self.add_expression_button = QPushButton("Add")
        self.add_expression_button.setToolTip("add this expression as a breakpoint")
        self.add_expression_button.clicked.connect(self._on_add_expression)
        expr.addWidget(self.add_expression_button)
        lay.addLayout(expr)
        self.expression_error = QLabel("")
        self.expression_error.setStyleSheet(ERROR_STYLE)
        self.expression_error.setWordWrap(True)
        lay.addWidget(self.expression_error)

        self.last_hit = QLabel("")
        self.last_hit.setWordWrap(True)
        self.last_hit.setStyleSheet("color: #ff5050; font-weight: bold;")
        self.last_hit.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.last_hit)
        lay.addWidget(QLabel("Hits on this timeline (click: show that step):"))
        self.hits = QListWidget()
        self.hits.itemActivated.connect(self._on_hit_item)
        self.hits.itemClicked.connect(self._on_hit_item)
        lay.addWidget(self.hits, 1)

        controller.breakpoints_changed.connect(self._rebuild)
        controller.breakpoint_hit.connect(self._on_hit)
        controller.history_changed.connect(self._update_hits)
        controller.run_changed.connect(self._on_run_changed)
        self._rebuild()

    # ------------------------------------------------------------ the list
    def _rebuild(self) -> None:
        for row in self.rows.values():
            for w in (row.enabled, row.label, row.threshold, row.remove):
                self.grid.removeWidget(w)
                w.deleteLater()
        self.rows = {}
        for i, bp in enumerate(self.controller.watch.breakpoints):
            row = BreakpointRow(bp)
            row.enabled.toggled.connect(lambda on, b=bp.id: self._on_enabled(b, on))
            row.threshold.editingFinished.connect(lambda b=bp.id: self._on_threshold(b))
            row.remove.clicked.connect(lambda _=False, b=bp.id: self._on_remove(b))
            self.grid.addWidget(row.enabled, i, 0)
            self.grid.addWidget(row.label, i, 1)
            self.grid.addWidget(row.threshold, i, 2)
            self.grid.addWidget(row.remove, i, 3)
            self.rows[bp.id] = row
        self.grid.setColumnStretch(1, 1)

    def _show_row_error(self, bp_id: str, reason: str | None) -> None:
        if reason is None:
            self.errors.pop(bp_id, None)
        else:
            self.errors[bp_id] = reason
        self.row_error.setText("" if reason is None else f"refused: {reason}")

    def _on_enabled(self, bp_id: str, on: bool) -> None:
        self._show_row_error(bp_id, self.controller.watch.change(bp_id, enabled=bool(on)))

    def _on_threshold(self, bp_id: str) -> None:
        row = self.rows.get(bp_id)
        if row is None:
            return
        bp = self.controller.watch.breakpoints.get(bp_id)
        text = row.threshold.text().strip()
        try:
            value = float(text)
        except ValueError:
            reason: str | None = f"threshold {text!r} is not a number"
        else:
            if value == bp.threshold:
                return
            reason = self.controller.watch.change(bp_id, threshold=value)
        if reason is not None:
            row.threshold.setText(_fmt(bp.threshold))  # put back: nothing changed
        self._show_row_error(bp_id, reason)

    def _on_remove(self, bp_id: str) -> None:
        self._show_row_error(bp_id, self.controller.watch.remove(bp_id))

    def _on_add_kind(self) -> None:
        kind = str(self.kind.currentData())
        reason = self.controller.watch.add(kind, threshold=KIND_INFO[kind][1])
        self._show_row_error("add", reason)

    def _on_add_expression(self) -> None:
        text = self.expression.text()
        reason = self.controller.watch.add("expression", expression=text)
        if reason is None:
            self.expression.clear()
            self.expression_error.setText("")
        else:
            self.expression_error.setText(f"⚠ {reason}")

    # ------------------------------------------------------------ hits
    def _on_hit(self, hits: list[Hit]) -> None:
        self.last_hit.setText("⛔ paused: " + "\n".join(f"{h.name} — {h.message}" for h in hits))
        self._update_hits()

    def _on_run_changed(self) -> None:
        self.last_hit.setText("")
        self._update_hits()

    def _update_hits(self) -> None:
        events = self.controller.history.events
        signature = (id(events), len(events), events[-1].step if events else None)
        if signature == self._hit_signature:
            return
        self._hit_signature = signature
        self.hits.clear()
        for h in self.controller.hits:
            item = QListWidgetItem(f"step {h.step}: {h.name} — {h.message}")
            item.setData(Qt.ItemDataRole.UserRole, h.step)
            item.setToolTip(h.where or h.message)
            self.hits.addItem(item)

    def _on_hit_item(self, item: QListWidgetItem) -> None:
        step = item.data(Qt.ItemDataRole.UserRole)
        if step is not None:
            self.controller.seek(int(step))


DOCK = Dock(
    "breakpoints",
    BreakpointsPanel.title,
    lambda ctx: BreakpointsPanel(ctx.model),
    Place("tab", "explanation"),
)
