"""Generated (or shipped) training tasks, and tasks on the user's own data files (series,
text, pairs: engine.datasets). Nothing is fetched at run time.

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
from rnnscope.engine.tasks.pairs_file import PairsTask
from rnnscope.engine.tasks.seq2seq_tasks import ReverseTask, TranslateTask
from rnnscope.engine.tasks.series_file import SeriesTask
from rnnscope.engine.tasks.sine import SineTask
from rnnscope.engine.tasks.text_file import TextTask

if TYPE_CHECKING:
    from rnnscope.engine.config import TrainConfig

__all__ = [
    "DATA_TASKS",
    "EOS_ID",
    "PAD_ID",
    "SOS_ID",
    "TASKS",
    "Batch",
    "Task",
    "data_task",
    "make_task",
    "task_names",
]

TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (
        CopyTask,
        AddingTask,
        SineTask,
        CharLMTask,
        ReverseTask,
        TranslateTask,
        SeriesTask,
        TextTask,
        PairsTask,
    )
}
# The tasks that train on the user's own data file (TrainConfig.data): name -> kind of file.
DATA_TASKS: dict[str, str] = {n: cls.reads_data for n, cls in TASKS.items() if cls.reads_data}


def data_task(kind: str) -> str:
    """The task that trains on a data file of ``kind`` (series, text, pairs)."""
    return next(t for t, k in DATA_TASKS.items() if k == kind)


def task_names(*kinds: str) -> tuple[str, ...]:
    """The registered task names, in order; only those of ``kinds`` when given."""
    return tuple(n for n, cls in TASKS.items() if not kinds or cls.kind in kinds)


def make_task(cfg: TrainConfig) -> Task:
    return TASKS[cfg.task](cfg)
