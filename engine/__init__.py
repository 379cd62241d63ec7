"""rnnscope's engine: instrumented recurrent models, tasks and the training step.

Qt-free and GUI-free: everything it reports is numpy (StepRecord)."""

from engine.config import LIVE_FIELDS, TrainConfig
from engine.record import NonFinite, PartRecord, ProbeSample, StepRecord
from engine.trainer import Edit, Trainer

__all__ = [
    "LIVE_FIELDS",
    "Edit",
    "NonFinite",
    "PartRecord",
    "ProbeSample",
    "StepRecord",
    "TrainConfig",
    "Trainer",
]
