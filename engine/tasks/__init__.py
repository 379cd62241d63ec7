"""Generated (or shipped) training tasks. Nothing is fetched at run time.

:data:`TASKS` is the one registry: name -> Task class. Every fact about a task (its kind,
metric, suggested settings, limits) is declared by the class itself; the config, the
command line and the window read them from here. The task modules import engine.config only
for type checking, so the config may import this registry without an import circle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rnnscope.engine.tasks.adding import AddingTask
from rnnscope.engine.tasks.base import EOS_ID, PAD_ID, SOS_ID, Batch, Task
from rnnscope.engine.tasks.charlm import CharLMTask
from rnnscope.engine.tasks.copy import CopyTask
from rnnscope.engine.tasks.seq2seq_tasks import ReverseTask, TranslateTask
from rnnscope.engine.tasks.sine import SineTask

if TYPE_CHECKING:
    from rnnscope.engine.config import TrainConfig

__all__ = ["EOS_ID", "PAD_ID", "SOS_ID", "TASKS", "Batch", "Task", "make_task", "task_names"]

TASKS: dict[str, type[Task]] = {
    cls.name: cls for cls in (CopyTask, AddingTask, SineTask, CharLMTask, ReverseTask, TranslateTask)
}


def task_names(*kinds: str) -> tuple[str, ...]:
    """The registered task names, in order; only those of ``kinds`` when given."""
    return tuple(n for n, cls in TASKS.items() if not kinds or cls.kind in kinds)


def make_task(cfg: TrainConfig) -> Task:
    return TASKS[cfg.task](cfg)
