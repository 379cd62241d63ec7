"""Generated (or shipped) training tasks. Nothing is fetched at run time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.tasks.base import EOS_ID, PAD_ID, SOS_ID, Batch, Task

if TYPE_CHECKING:
    from engine.config import TrainConfig

__all__ = ["EOS_ID", "PAD_ID", "SOS_ID", "TASK_CLASSES", "Batch", "Task", "check_task_config", "make_task"]


def _registry() -> dict[str, type[Task]]:
    from engine.tasks.adding import AddingTask
    from engine.tasks.charlm import CharLMTask
    from engine.tasks.copy import CopyTask
    from engine.tasks.seq2seq_tasks import ReverseTask, TranslateTask
    from engine.tasks.sine import SineTask

    return {
        "copy": CopyTask,
        "adding": AddingTask,
        "sine": SineTask,
        "charlm": CharLMTask,
        "reverse": ReverseTask,
        "translate": TranslateTask,
    }


TASK_CLASSES = _registry


def check_task_config(cfg: TrainConfig) -> None:
    """Raise ValueError naming the field when ``cfg`` asks more than the task supports."""
    _registry()[cfg.task].check_config(cfg)


def make_task(cfg: TrainConfig) -> Task:
    return _registry()[cfg.task](cfg)
