"""What File > New run from data… shows before anything runs, without Qt.

``load(path)`` reads and registers the file (engine.datasets: refusals name the file, line and
column) and previews it: its first lines (or an array's shape), the kind of data its suffix
says, and for a table its columns. ``plan(preview, choices)`` turns the dialog's choices into
the TrainConfig of the run and what the task will make of the data (windows, vocabulary,
pairs), or the reason it cannot: the dialog shows either inline and starts nothing until the
plan holds. Both may take seconds on a large file: the dialog runs them on the loader thread.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnscope.engine import TrainConfig
from rnnscope.engine.datasets import DataError, DataFile, kind_of, read_file, store
from rnnscope.engine.datasets.series import numpy_arrays
from rnnscope.engine.datasets.text_bytes import decode
from rnnscope.engine.tasks import data_task, make_task

PREVIEW_LINES = 12


@dataclass(frozen=True)
class Preview:
    file: DataFile
    kind: str  # series | text | pairs: what the suffix says
    lines: tuple[str, ...]  # the first lines (text files) or a description of the array
    columns: tuple[str, ...] = ()  # a table's columns (CSV header; NumPy 0..F-1)


@dataclass(frozen=True)
class Plan:
    config: TrainConfig | None
    summary: str  # what the task makes of the data (task.describe()), or the reason it cannot
    facts: dict[str, Any] = field(default_factory=dict)  # windows, vocabulary ... as numbers

    @property
    def ok(self) -> bool:
        return self.config is not None


def load(path: str | os.PathLike[str]) -> Preview:
    df = store.register(read_file(path))
    try:
        kind = kind_of(df.name)
    except DataError:
        kind = "text"  # an unknown suffix: the user says what it holds
    if df.suffix in (".npy", ".npz"):
        return _numpy_preview(df)
    text = decode(df)
    lines = tuple(line.rstrip("\r") for line in text.split("\n", PREVIEW_LINES)[:PREVIEW_LINES])
    columns: tuple[str, ...] = ()
    if kind == "series":
        import csv

        columns = tuple(n.strip() for n in next(csv.reader([lines[0]]))) if lines else ()
    return Preview(df, kind, lines, columns)


def _numpy_preview(df: DataFile) -> Preview:
    arrays = numpy_arrays(df)  # the same refusals as the series reader (a pickle payload ...)
    lines = tuple(
        f"array {k}: shape {a.shape}" if k else f"array of shape {a.shape}, {a.dtype}"
        for k, a in arrays.items()
    )
    first = next(iter(arrays.values())).shape if arrays else ()
    f = first[-1] if len(first) >= 2 else 0
    return Preview(df, "series", lines, tuple(str(i) for i in range(f)))


def plan(
    preview: Preview, kind: str, choices: dict[str, Any], weights: str | os.PathLike[str] | None = None
) -> Plan:
    """The run ``choices`` (TrainConfig fields: inputs, targets, cell, seq_len ...) make on the
    data, and where the tensors of ``weights`` (a trained model's file) go."""
    task = data_task(kind)
    mapping = ""
    try:
        cfg = TrainConfig(**{**choices, "task": task, "data": preview.file.id})
        t = make_task(cfg)
        if weights:
            from rnnscope.engine import Trainer
            from rnnscope.engine.weights import plan_import, read_weights

            imported = plan_import(
                Trainer(cfg.with_changes(device="cpu")).model, read_weights(weights), Path(weights).name
            )
            mapping = f"\nweights from {Path(weights).name}:\n{imported.describe()}"
    except (ValueError, TypeError) as exc:
        return Plan(None, str(exc))
    facts = t.data_facts()
    return Plan(cfg, t.describe() + mapping, facts)
