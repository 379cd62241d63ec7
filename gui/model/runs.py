"""What the Runs panel shows, computed without Qt: one row per run (branch) of the session.

Sources, none read on the GUI thread:
- ``scan(reader, ...)``, a job for the controller's loader thread, reads the session file:
  its branches, each branch's per-step scalars (only the steps not read before: branches
  only grow), the size of each model configuration (built once per structure with the
  engine's own ``Trainer.param_count`` / ``recurrent_param_count``) and the validation
  points that the training thread stored (``gui.validation``);
- the window's History, for the branch the window shows (it is ahead of the file by up to
  one commit of the writer).

``run_row`` turns one branch's data into the row the table shows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnnscope.engine import LIVE_FIELDS, TrainConfig, Trainer
from rnnscope.engine.record import GATE_NAMES
from rnnscope.gui.model import validation
from rnnscope.gui.model.validation import Point

RECENT_STEPS = 50  # the step time is the median over this many of the newest steps


@dataclass(frozen=True)
class ModelInfo:
    """The model of one configuration: parameter counts (total, recurrent layers only)."""

    params: int
    recurrent: int
    metric_name: str
    cell: str


def structure_key(config: Mapping[str, Any]) -> str:
    """The settings that decide the model's shape (live settings and the device do not)."""
    return json.dumps(
        {k: v for k, v in config.items() if k not in LIVE_FIELDS and k != "device"}, sort_keys=True
    )


def cell_text(cfg: TrainConfig) -> str:
    """'lstm', 'lstm ×2' (two layers), 'gru→lstm' (a Seq2Seq with another decoder cell)."""
    text = cfg.cell
    if cfg.decoder_cell and cfg.decoder_cell != cfg.cell:
        text += f"→{cfg.decoder_cell}"
    return text + (f" ×{cfg.layers}" if cfg.layers > 1 else "")


def attached_info(external: Mapping[str, Any]) -> ModelInfo:
    """A run of the user's own loop (a file's ``external`` config): the attached modules'
    parameters counted from their sizes, as PyTorch lays them out (the rest of the user's
    model is not known: ``params`` counts the attached modules only)."""
    recurrent, cells = 0, []
    for m in external.get("modules", []):
        g = len(GATE_NAMES[m["cell"]]) or 1  # a tanh/relu RNN has one block
        h, layers = int(m["hidden_size"]), int(m["num_layers"])
        dirs = 2 if m.get("bidirectional") else 1
        for k in range(layers):
            inp = int(m["input_size"]) if k == 0 else h * dirs
            recurrent += dirs * (g * h * (inp + h) + (2 * g * h if m.get("bias", True) else 0))
        cells.append(m["cell"] + (f" ×{layers}" if layers > 1 else "") + (" bi" if dirs == 2 else ""))
    return ModelInfo(recurrent, recurrent, "none", ", ".join(cells))


def model_info(config: Mapping[str, Any]) -> ModelInfo:
    """Build the configuration's model on the CPU (a Trainer, as training does) and count."""
    if "external" in config:
        return attached_info(config["external"])
    cfg = TrainConfig.from_dict(dict(config)).with_changes(device="cpu")
    tr = Trainer(cfg)
    return ModelInfo(tr.param_count(), tr.recurrent_param_count(), tr.task.metric_name, cell_text(cfg))


class Series:
    """Per-step scalars of one branch's timeline (index i = optimizer step i)."""

    def __init__(self) -> None:
        self.loss = np.zeros(0)
        self.metric = np.zeros(0)
        self.step_time = np.zeros(0)
        self.metric_name = ""

    def __len__(self) -> int:
        return int(self.loss.shape[0])

    def extend(self, summ: Any) -> None:  # sessions.summaries.Summaries of the next steps
        if not len(summ):
            return
        self.loss = np.concatenate([self.loss, summ.loss])
        self.metric = np.concatenate([self.metric, summ.metric])
        self.step_time = np.concatenate([self.step_time, summ.step_time])
        self.metric_name = summ.metric_name or self.metric_name


@dataclass
class ScanResult:
    path: Path
    branches: dict[int, Any]  # id -> sessions.timeline.Branch
    new: dict[int, tuple[int, Any]]  # id -> (first step, Summaries of the steps from there)
    models: dict[str, ModelInfo]  # structure_key -> model, for structures not known before
    validation: dict[int, list[Point]]
    failed: dict[str, str] = field(default_factory=dict)  # structure_key -> why it cannot be built


def scan(reader: Any, known: Mapping[int, int], known_models: Collection[str]) -> ScanResult:
    """Read what changed in the session file (``reader``: a sessions.Session; run it off the
    GUI thread). ``known``: branch id -> steps already read; ``known_models``: structure
    keys already counted (or found unbuildable)."""
    branches = {b.id: b for b in reader.branches()}
    new: dict[int, tuple[int, Any]] = {}
    for bid in branches:
        start = known.get(bid, 0)
        if reader.length(bid) > start:
            new[bid] = (start, reader.summaries(start, branch=bid))
    models: dict[str, ModelInfo] = {}
    failed: dict[str, str] = {}
    for b in branches.values():
        key = structure_key(b.config)
        if key in known_models or key in models or key in failed:
            continue
        try:
            models[key] = model_info(b.config)
        except Exception as exc:  # a configuration this version cannot build
            failed[key] = f"{b.name}: {exc}"
    points = validation.read_points(reader.meta_value(validation.META_KEY))
    return ScanResult(Path(reader.path), branches, new, models, points, failed)


def median_step_ms(step_time: np.ndarray, recent: int = RECENT_STEPS) -> float:
    """Median of the newest ``recent`` finite step times, in milliseconds (NaN when none)."""
    t = np.asarray(step_time[-recent:], dtype=np.float64)
    t = t[np.isfinite(t)]
    return float(np.median(t)) * 1000.0 if t.size else math.nan


@dataclass(frozen=True)
class RunRow:
    branch: int
    label: str
    cell: str
    params: int | None
    recurrent: int | None
    ms_per_step: float
    steps: int  # optimizer steps done
    loss: float  # of the newest step
    metric: float  # of the newest step
    metric_name: str
    val_loss: float
    val_metric: float
    val_step: int | None  # validation measured after this many steps (None: not yet)


def run_row(
    branch: int,
    label: str,
    info: ModelInfo | None,
    loss: np.ndarray,
    metric: np.ndarray,
    step_time: np.ndarray,
    metric_name: str,
    points: list[Point],
) -> RunRow:
    """The row of one branch from its per-step scalars and its validation points (the newest
    point at or before its newest step counts: a longer branch's future is not this one's)."""
    n = int(loss.shape[0])
    val = next((p for p in reversed(points) if p.step <= n), None)
    return RunRow(
        branch=branch,
        label=label,
        cell=info.cell if info else "",
        params=info.params if info else None,
        recurrent=info.recurrent if info else None,
        ms_per_step=median_step_ms(step_time),
        steps=n,
        loss=float(loss[-1]) if n else math.nan,
        metric=float(metric[-1]) if n else math.nan,
        metric_name=metric_name or (info.metric_name if info else ""),
        val_loss=val.loss if val else math.nan,
        val_metric=val.metric if val else math.nan,
        val_step=val.step if val else None,
    )
