"""ParamsPanel: every knob of the run in a pyqtgraph ParameterTree.

Live settings (lr, optimizer, momentum, clipping, teacher forcing, dropout, probe sample
and schedule) are sent to the trainer as soon as they change and take effect from the
next step; they appear as edit markers on the timeline. Structural settings (cell, task,
sizes, init, sequence length ...) are staged and start a new run in the same session
after a confirmation. A refused value is put back and the reason is shown under the
field (red); training state is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyqtgraph.parametertree import Parameter, ParameterTree
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QLabel, QTreeWidgetItem, QVBoxLayout, QWidget

from rnnscope.engine import LIVE_FIELDS, TrainConfig
from rnnscope.engine.config import DEFAULTS, FIELD_TYPES, KNOBS
from rnnscope.engine.tasks import TASKS
from rnnscope.gui.panels.model import own_loop
from rnnscope.gui.panels.registry import Dock, Place

SAME = KNOBS["decoder_cell"].none_means
DATA_GROUP = "your data"


def _spec(name: str) -> dict[str, Any]:
    """A parameter-tree entry generated from the field's Knob (title, type, choices, tooltip)."""
    k = KNOBS[name]
    kind = FIELD_TYPES[name]
    tip = k.help
    spec: dict[str, Any] = dict(name=name, title=k.title)
    if k.choices is not None:
        spec.update(type="list", limits=([SAME] if k.optional else []) + list(k.options()))
    elif kind is bool:
        spec.update(type="bool")
    elif kind is str:
        spec.update(type="str")
    else:
        spec.update(type="int" if kind is int else "float")
        tip = f"{tip}; {k.interval()}"
        if k.step is not None:
            spec.update(step=k.step, dec=k.log_step)
    spec["tip"] = tip
    return spec


LIVE = [_spec(name) for name, k in KNOBS.items() if name in LIVE_FIELDS and k.shown]
STRUCTURAL = [_spec(name) for name, k in KNOBS.items() if name not in LIVE_FIELDS and k.shown]
LIVE_NAMES = [d["name"] for d in LIVE]
STRUCTURAL_NAMES = [d["name"] for d in STRUCTURAL]


def _to_param(name: str, value: Any) -> Any:
    if name == "decoder_cell" and value is None:
        return SAME
    return value


def _from_param(name: str, value: Any) -> Any:
    if name == "decoder_cell" and value == SAME:
        return None
    spec = next((d for d in LIVE + STRUCTURAL if d["name"] == name), {})
    if spec.get("type") == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    if spec.get("type") == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


class ParamsPanel(QWidget):
    """Binds a ParameterTree to the controller's config. ``confirm(text) -> bool`` asks before a new run."""

    title = "Parameters"

    def __init__(
        self, controller: Any, confirm: Callable[[str], bool], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.confirm = confirm
        self._syncing = False
        self._staged: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self._error_items: dict[str, QTreeWidgetItem] = {}
        self.params = Parameter.create(
            name="settings",
            type="group",
            children=[
                dict(
                    name="live",
                    title="Live: from the next step",
                    type="group",
                    children=[dict(d, value=_default(d)) for d in LIVE],
                ),
                dict(
                    name="structural",
                    title="Structural: starts a new run",
                    type="group",
                    children=[
                        *[dict(d, value=_default(d)) for d in STRUCTURAL],
                        dict(name="apply", title="Start new run with these settings…", type="action"),
                        dict(name="revert", title="Revert to the current run", type="action"),
                    ],
                ),
            ],
        )
        self.tree = ParameterTree(showHeader=False)
        self.tree.setParameters(self.params, showTop=False)
        self.tree.setColumnWidth(0, 128)
        self.status = QLabel("")
        self.status.setAlignment(
            Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft
        )  # (alone when the tree hides)
        self.status.setWordWrap(True)
        self.status.setStyleSheet("padding: 4px;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tree, 1)
        lay.addWidget(self.status)
        for name in LIVE_NAMES + STRUCTURAL_NAMES:
            self.param(name).sigValueChanged.connect(self._on_value)
        self.params.child("structural", "apply").sigActivated.connect(self._on_apply)
        self.params.child("structural", "revert").sigActivated.connect(lambda *_: self._update_config())
        controller.run_changed.connect(self._update_config)
        controller.config_changed.connect(self._update_config_if_idle)
        controller.session_changed.connect(self._update_config_if_idle)
        controller.edit_refused.connect(self._on_refused)

    # ------------------------------------------------------------ access
    def param(self, name: str) -> Parameter:
        group = "live" if name in LIVE_NAMES else "structural"
        return self.params.child(group, name)

    def set_value(self, name: str, value: Any) -> None:
        """What a user typing ``value`` into the field does (tests use it)."""
        self.param(name).setValue(_to_param(name, value))

    def error_text(self, name: str) -> str:
        return self.errors.get(name, "")

    # ------------------------------------------------------------ sync from the run
    def _update_config(self, *_: Any) -> None:
        cfg: TrainConfig | None = self.controller.config
        attached = own_loop(self.controller)
        self.tree.setVisible(not attached)  # rnnscope's settings are not that run's
        if cfg is None:
            if attached:
                shape = self.controller.shape
                parts = "".join(
                    f"\n  {p.name}: {p.cell.upper()}, hidden {p.hidden}, {p.layers} layer(s)"
                    for p in (shape.parts if shape is not None else ())
                )
                self._show_status(
                    "This run is your own training loop's: its settings live in your script.\n"
                    f"Recorded modules:{parts}\nFile ▸ Properties shows all the file records."
                )
            return
        self._syncing = True
        data_task = bool(TASKS[cfg.task].reads_data)
        try:
            for name in LIVE_NAMES + STRUCTURAL_NAMES:
                value = _to_param(name, getattr(cfg, name))
                if self.param(name).value() != value:
                    self.param(name).setValue(value)
                if KNOBS[name].group == DATA_GROUP:  # the data file's settings: on a data run only
                    self.param(name).setOpts(visible=data_task)
        finally:
            self._syncing = False
        self._staged = {}
        self._clear_error(None)
        self._show_status("")

    def _update_config_if_idle(self) -> None:
        if not self._staged and not self.errors:
            self._update_config()

    # ------------------------------------------------------------ edits
    def _on_value(self, param: Parameter, value: Any) -> None:
        if self._syncing:
            return
        name = param.name()
        value = _from_param(name, value)
        if name in LIVE_FIELDS:
            reason = self.controller.edit(name, value)
            if reason is None:
                self._clear_error(name)
                self._show_status(f"{name} = {value!r}: takes effect from the next step")
            else:
                self._refuse(name, reason)
            return
        self._stage(name, value)

    def _stage(self, name: str, value: Any) -> None:
        cfg = self.controller.config
        if cfg is None:
            return
        staged = {**self._staged, name: value}
        if name == "task":  # the task's suggested settings (e.g. translate: seq_len <= 6)
            staged.update(TASKS[value].default_config)
            if TASKS[value].kind != "seq2seq":
                staged["decoder_cell"] = None
        try:
            cfg.with_changes(**staged)
        except (ValueError, TypeError) as exc:
            self._refuse(name, str(exc))
            return
        self._staged = staged
        self._clear_error(name)
        self._syncing = True
        try:
            for key, v in staged.items():
                if key != name and self.param(key).value() != _to_param(key, v):
                    self.param(key).setValue(_to_param(key, v))
        finally:
            self._syncing = False
        changed = ", ".join(f"{k}={v!r}" for k, v in staged.items() if getattr(cfg, k) != v)
        self._show_status(f"staged for a new run: {changed}" if changed else "")

    def _on_refused(self, name: str, reason: str) -> None:
        self._refuse(name, reason)

    def _refuse(self, name: str, reason: str) -> None:
        """Put the field back to its current value and show why."""
        cfg = self.controller.config
        current = self._staged.get(name, getattr(cfg, name)) if cfg is not None else None
        self._syncing = True
        try:
            self.param(name).setValue(_to_param(name, current))
        finally:
            self._syncing = False
        self._clear_error(name)
        self.errors[name] = reason
        self._mark_item(name, reason)
        self._show_status(f"refused: {reason}", error=True)

    def _on_apply(self, *_: Any) -> None:
        cfg = self.controller.config
        if cfg is None:
            return
        try:
            new = cfg.with_changes(**self._staged)
        except (ValueError, TypeError) as exc:
            self._show_status(f"refused: {exc}", error=True)
            return
        changes = {k: v for k, v in self._staged.items() if getattr(cfg, k) != v}
        what = (
            ", ".join(f"{k} {getattr(cfg, k)!r} → {v!r}" for k, v in changes.items()) or "the same settings"
        )
        if not self.confirm(
            f"Start a new run (step 0, fresh weights) with {what}?\nThe current run stays in the session."
        ):
            return
        self._staged = {}
        self.controller.files.restart(new)
        self._show_status("starting a new run…")

    # ------------------------------------------------------------ error display
    def _items(self, name: str) -> list[Any]:
        return list(self.param(name).items.keys())

    def _mark_item(self, name: str, reason: str) -> None:
        for item in self._items(name):
            item.setToolTip(0, reason)
            item.setBackground(0, QBrush(QColor("#5a1e1e")))
            note = QTreeWidgetItem(["⚠ " + reason])
            note.setForeground(0, QBrush(QColor("#ff7070")))
            note.setFlags(Qt.ItemFlag.ItemIsEnabled)
            note.setToolTip(0, reason)
            item.addChild(note)
            note.setFirstColumnSpanned(True)
            item.setExpanded(True)
            self._error_items[name] = note

    def _clear_error(self, name: str | None) -> None:
        names = list(self.errors) if name is None else [name]
        for n in names:
            self.errors.pop(n, None)
            note = self._error_items.pop(n, None)
            for item in self._items(n):
                item.setBackground(0, QBrush())
                item.setToolTip(0, "")
                if note is not None and note.parent() is item:
                    item.removeChild(note)

    def _show_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"padding: 4px; color: {'#ff7070' if error else '#b0b4bb'};")


def _default(spec: dict[str, Any]) -> Any:
    return _to_param(spec["name"], DEFAULTS[spec["name"]])


DOCK = Dock(
    "params", ParamsPanel.title, lambda ctx: ParamsPanel(ctx.model, ctx.confirm), Place("left"), raised=True
)
