"""TrainConfig: every knob of a run, validated with messages that name the field.

A config is a frozen dataclass: a live edit produces a new config through
``with_changes`` (which validates), so a refused edit can never leave a half-changed
config behind. Fields that may change between two optimizer steps without rebuilding
the model are listed in ``LIVE_FIELDS``; the rest are structural (a new run).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, cast

CELLS = ("rnn", "lstm", "gru")
TASKS = ("copy", "adding", "sine", "charlm", "reverse", "translate")
SEQ2SEQ_TASKS = ("reverse", "translate")
OPTIMIZERS = ("sgd", "adam")
INITS = ("orthogonal", "normal", "default")
DEVICES = ("auto", "cpu", "cuda")

# Fields that take effect from the next step without rebuilding the model.
LIVE_FIELDS = frozenset(
    {
        "lr",
        "optimizer",
        "momentum",
        "clip",
        "clip_threshold",
        "teacher_forcing",
        "dropout",
        "variational_dropout",
        "probe_index",
        "probe_every",
    }
)


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Defaults: an LSTM on the copy task, small enough for a laptop."""

    model: str = "lstm"  # recurrent cell: rnn (tanh) | lstm | gru
    task: str = "copy"  # copy | adding | sine | charlm | reverse | translate
    decoder_model: str | None = None  # Seq2Seq only: decoder cell (None = same as model)
    hidden_size: int = 64  # 1..1024
    layers: int = 1  # stacked recurrent layers, 1..4
    embed_size: int = 32  # token tasks: embedding width (ignored when weights are tied)
    seq_len: int = 30  # timesteps per sample (Seq2Seq: maximum source length)
    delay: int = 10  # copy task: blank steps between the pattern and its recall
    batch_size: int = 32  # 1..4096
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda

    # optimisation
    optimizer: str = "adam"  # sgd | adam
    lr: float = 1e-3  # (0, 10]
    momentum: float = 0.0  # SGD momentum, [0, 1)
    clip: bool = False  # clip gradients by global norm
    clip_threshold: float = 1.0  # > 0

    # initialisation
    init: str = "orthogonal"  # W_hh init: orthogonal | normal | default (PyTorch's uniform)
    init_scale: float = 1.0  # gain on W_hh (orthogonal gain, or std*sqrt(H) for normal)
    forget_bias: float = 0.0  # LSTM: value of the forget-gate bias (b_ih + b_hh) at init

    # regularisation
    dropout: float = 0.0  # between stacked layers and before the read-out, [0, 1)
    variational_dropout: bool = False  # one dropout mask per sequence, shared over time
    tie_weights: bool = False  # token tasks: read-out shares the embedding matrix

    # Seq2Seq
    teacher_forcing: float = 1.0  # probability of feeding the true y_{t-1}, [0, 1]

    # instrumentation
    probe_index: int = 0  # which sample of the batch is probed (0..batch_size-1)
    probe_every: int = 1  # full probe frame every N steps (1 = every step, 0 = never)

    def __post_init__(self) -> None:
        validate(self)

    def with_changes(self, **changes: Any) -> TrainConfig:
        """A validated copy with ``changes`` applied; unknown names are refused."""
        names = {f.name for f in dataclasses.fields(self)}
        for key in changes:
            if key not in names:
                raise ValueError(f"unknown config field {key!r}; known: {', '.join(sorted(names))}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(unknown)}")
        return cls(**data)

    @property
    def is_seq2seq(self) -> bool:
        return self.task in SEQ2SEQ_TASKS

    @property
    def decoder_cell(self) -> str:
        return self.decoder_model or self.model


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _num(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def _check_number(
    name: str,
    value: Any,
    lo: float,
    hi: float,
    *,
    integer: bool = False,
    lo_open: bool = False,
    hi_open: bool = False,
) -> None:
    """One message for every way a number can be wrong: type, NaN/Inf, or out of range."""
    interval = f"{'(' if lo_open else '['}{_num(lo)}, {_num(hi)}{')' if hi_open else ']'}"
    want = f"{'an integer' if integer else 'a number'} in {interval}"
    kind: tuple[type, ...] = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"{name} must be {want}; got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number in {interval}; got {value!r}")
    number = cast(float, value)
    below = number <= lo if lo_open else number < lo
    above = number >= hi if hi_open else number > hi
    if below or above:
        raise ValueError(f"{name} must be {want}; got {value!r}")


def validate(cfg: TrainConfig) -> None:
    """Raise ValueError naming the first bad field and its allowed range."""
    _check_choice("model", cfg.model, CELLS)
    _check_choice("task", cfg.task, TASKS)
    if cfg.decoder_model is not None:
        _check_choice("decoder_model", cfg.decoder_model, CELLS)
        if not cfg.is_seq2seq:
            raise ValueError(f"decoder_model is only used by Seq2Seq tasks ({', '.join(SEQ2SEQ_TASKS)})")
    _check_choice("optimizer", cfg.optimizer, OPTIMIZERS)
    _check_choice("init", cfg.init, INITS)
    _check_choice("device", cfg.device, DEVICES)
    for name, lo, hi in (
        ("hidden_size", 1, 1024),
        ("layers", 1, 4),
        ("embed_size", 1, 1024),
        ("seq_len", 1, 10_000),
        ("delay", 0, 10_000),
        ("batch_size", 1, 4096),
        ("seed", 0, 2**63 - 1),
        ("probe_every", 0, 1_000_000),
    ):
        _check_number(name, getattr(cfg, name), lo, hi, integer=True)
    _check_number("probe_index", cfg.probe_index, 0, cfg.batch_size - 1, integer=True)
    _check_number("lr", cfg.lr, 0.0, 10.0, lo_open=True)
    _check_number("momentum", cfg.momentum, 0.0, 1.0, hi_open=True)
    _check_number("clip_threshold", cfg.clip_threshold, 0.0, 1e9, lo_open=True)
    _check_number("init_scale", cfg.init_scale, 0.0, 100.0, lo_open=True)
    _check_number("forget_bias", cfg.forget_bias, -100.0, 100.0)
    _check_number("dropout", cfg.dropout, 0.0, 1.0, hi_open=True)
    _check_number("teacher_forcing", cfg.teacher_forcing, 0.0, 1.0)
    for name in ("clip", "variational_dropout", "tie_weights"):
        if not isinstance(getattr(cfg, name), bool):
            raise ValueError(f"{name} must be true or false; got {getattr(cfg, name)!r}")
    if cfg.tie_weights and cfg.task not in ("copy", "charlm", "reverse", "translate"):
        raise ValueError("tie_weights needs a token task (copy, charlm, reverse, translate)")
    # Task-specific limits (e.g. seq_len beyond what the task supports) are checked by the task.
    from engine.tasks import check_task_config

    check_task_config(cfg)
