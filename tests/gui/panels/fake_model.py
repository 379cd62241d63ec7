"""A panel's model without a window or a training thread: records from a Trainer run here,
a History of them, and the three signals of gui.panels.model.PanelModel."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from rnnscope.engine import StepRecord, TrainConfig, Trainer
from rnnscope.engine.tasks import Task, make_task
from rnnscope.gui.model.history import History
from rnnscope.gui.model.shape import RunShape


class FakeModel(QObject):
    run_changed = Signal()
    history_changed = Signal()
    record_changed = Signal(object)

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__()
        self.config: TrainConfig | None = cfg
        self.shape: RunShape | None = RunShape.of_config(cfg)
        self.task: Task | None = make_task(cfg)
        self.history = History()
        self.record: StepRecord | None = None
        self.branch_id: int | None = 0
        self.follow_live = True
        self.seeks: list[int] = []

    def seek(self, step: int) -> Any:
        self.seeks.append(step)

    def train(self, steps: int) -> list[StepRecord]:
        """``steps`` steps of a Trainer in this thread; the last one becomes the shown record."""
        assert self.config is not None
        trainer = Trainer(self.config)
        records = [trainer.step(probe=True) for _ in range(steps)]
        self.history.extend(records)
        self.history_changed.emit()
        self.show(records[-1])
        return records

    def show(self, rec: StepRecord | None) -> None:
        self.record = rec
        self.record_changed.emit(rec)
