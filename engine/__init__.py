"""rnnscope's engine: instrumented recurrent models, tasks and the training step.

Qt-free and GUI-free: everything it reports is numpy (StepRecord)."""

from rnnscope.engine.config import LIVE_FIELDS, TrainConfig
from rnnscope.engine.record import NonFinite, PartRecord, ProbeSample, StepRecord
from rnnscope.engine.trainer import Edit, Trainer

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
