"""TrainConfig: every knob of a run, validated with messages that name the field.

A config is a frozen dataclass: a live edit produces a new config through
``with_changes`` (which validates), so a refused edit can never leave a half-changed
config behind.

Every field declares its facts once, as a :class:`Knob` in the field's metadata: what it
does (help), its title in the window, its range or choices, and whether it is *live* (takes
effect from the next step without rebuilding the model) or structural (a new run). The
validation below, ``LIVE_FIELDS``, the command line's options (``cli.options``) and the
window's parameter tree (``gui.params``) are all generated from :data:`KNOBS`. Task facts
(the names, which are Seq2Seq, which read tokens) come from the task registry
(``engine.tasks.TASKS``), which never imports this module at run time.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from rnnscope.engine.tasks import DATA_TASKS, TASKS, task_names

CELLS = ("rnn", "lstm", "gru")
OPTIMIZERS = ("sgd", "adam")
INITS = ("orthogonal", "normal", "default")
DEVICES = ("auto", "cpu", "cuda")

# Keys of configs stored by rnnscope before the cell had one name (sessions written then).
LEGACY_NAMES = {"model": "cell", "decoder_model": "decoder_cell"}


@dataclass(frozen=True)
class Knob:
    """The facts of one TrainConfig field, declared once.

    ``choices`` (a tuple, or a function giving one, for registries) or a number range
    ``lo``..``hi`` (``lo_open``/``hi_open`` exclude the bound; ``hi_field`` makes the upper
    bound another field's value minus one); ``optional``: None is allowed (and means
    ``none_means``). ``step``/``log_step`` are the window's spin-box steps."""

    help: str
    title: str
    group: str
    live: bool = False
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] | None = None
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    hi_field: str | None = None
    shown: bool = True  # a plain option and parameter (False: the command line and window set it their way)
    optional: bool = False
    none_means: str = ""
    step: float | None = None
    log_step: bool = False

    def options(self) -> tuple[str, ...]:
        c = self.choices
        return () if c is None else (c() if callable(c) else c)

    def interval(self, hi_value: float | None = None) -> str:
        """The accepted range as the messages write it: ``[1, 1024]``, ``(0, 10]``; ``hi_value``
        is the upper bound a ``hi_field`` has on a given config (else it is written by name)."""
        if hi_value is not None:
            hi = _num(hi_value)
        else:
            hi = f"{self.hi_field}-1" if self.hi_field else _num(cast(float, self.hi))
        return (
            f"{'(' if self.lo_open else '['}{_num(cast(float, self.lo))}, {hi}{')' if self.hi_open else ']'}"
        )


def knob(default: Any, help: str, title: str, group: str, **facts: Any) -> Any:
    """A dataclass field carrying its :class:`Knob`."""
    return field(default=default, metadata={"knob": Knob(help, title, group, **facts)})


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Defaults: an LSTM on the copy task, small enough for a laptop."""

    # model
    cell: str = knob("lstm", "recurrent cell: tanh RNN, LSTM or GRU", "cell", "model", choices=CELLS)
    task: str = knob(
        "copy",
        "what the model learns (copy, adding, sine, charlm; Seq2Seq: reverse, translate; on your own data "
        "file: series, text, pairs)",
        "task",
        "model",
        choices=lambda: task_names(),
    )
    decoder_cell: str | None = knob(
        None,
        "Seq2Seq only: the decoder's cell",
        "decoder cell",
        "model",
        choices=CELLS,
        optional=True,
        none_means="same as cell",
    )
    hidden_size: int = knob(64, "units per recurrent layer", "hidden size", "model", lo=1, hi=1024)
    layers: int = knob(1, "stacked recurrent layers", "layers", "model", lo=1, hi=4)
    embed_size: int = knob(
        32,
        "token tasks: embedding width (ignored when weights are tied)",
        "embedding size",
        "model",
        lo=1,
        hi=1024,
    )
    seq_len: int = knob(
        30, "timesteps per sample (Seq2Seq: the longest source)", "sequence length", "data", lo=1, hi=10_000
    )
    delay: int = knob(
        10, "copy task: blank steps between the pattern and its recall", "copy delay", "data", lo=0, hi=10_000
    )
    batch_size: int = knob(32, "samples per optimizer step", "batch size", "data", lo=1, hi=4096)
    seed: int = knob(0, "seed of the weights, the data and dropout", "seed", "data", lo=0, hi=2**63 - 1)
    device: str = knob(
        "auto", "where to train (auto: CUDA when there is one)", "device", "data", choices=DEVICES
    )

    # optimisation
    optimizer: str = knob("adam", "the optimizer", "optimizer", "optimisation", live=True, choices=OPTIMIZERS)
    lr: float = knob(
        1e-3, "learning rate (step size)", "learning rate", "optimisation", live=True, lo=0.0, hi=10.0,
        lo_open=True, step=0.5, log_step=True,
    )  # fmt: skip
    momentum: float = knob(
        0.0, "SGD momentum", "momentum", "optimisation", live=True, lo=0.0, hi=1.0, hi_open=True, step=0.05
    )
    clip: bool = knob(
        False, "clip gradients by their global norm", "clip gradients", "optimisation", live=True
    )
    clip_threshold: float = knob(
        1.0, "the global gradient norm clipping caps", "clip threshold", "optimisation", live=True,
        lo=0.0, hi=1e9, lo_open=True, step=0.5, log_step=True,
    )  # fmt: skip

    # initialisation
    init: str = knob(
        "orthogonal",
        "W_hh init: orthogonal, normal, or default (PyTorch's uniform)",
        "W_hh init",
        "initialisation",
        choices=INITS,
    )
    init_scale: float = knob(
        1.0,
        "gain on W_hh (orthogonal gain, or std*sqrt(H) for normal): >1 explodes, <1 vanishes",
        "init scale",
        "initialisation",
        lo=0.0,
        hi=100.0,
        lo_open=True,
        step=0.1,
    )
    forget_bias: float = knob(
        0.0, "LSTM: the forget gate's bias (b_ih + b_hh) at init", "forget bias", "initialisation",
        lo=-100.0, hi=100.0, step=0.5,
    )  # fmt: skip

    # regularisation
    dropout: float = knob(
        0.0, "dropout between stacked layers and before the read-out", "dropout", "regularisation", live=True,
        lo=0.0, hi=1.0, hi_open=True, step=0.05,
    )  # fmt: skip
    variational_dropout: bool = knob(
        False,
        "one dropout mask per sequence, shared over time",
        "variational dropout",
        "regularisation",
        live=True,
    )
    tie_weights: bool = knob(
        False, "token tasks: the read-out shares the embedding matrix", "tie weights", "regularisation"
    )

    # Seq2Seq
    teacher_forcing: float = knob(
        1.0, "Seq2Seq: probability of feeding the true y_{t-1} to the decoder", "teacher forcing", "seq2seq",
        live=True, lo=0.0, hi=1.0, step=0.1,
    )  # fmt: skip

    # your own data (the data tasks: series, text, pairs; engine.datasets)
    data: str = knob(
        "", "the data file the task trains on, by content id (sha256:...); --data FILE sets it and the "
        "session stores the file", "data file", "your data", shown=False,
    )  # fmt: skip
    inputs: str = knob(
        "", "series: the input columns, comma-separated (default: every column but the time and id ones)",
        "input columns", "your data",
    )  # fmt: skip
    targets: str = knob("", "series: the target columns (default: the inputs)", "target columns", "your data")
    time_column: str = knob("", "series: the time column (not an input)", "time column", "your data")
    series_column: str = knob(
        "",
        "series: a column whose values split the rows into several series",
        "series-id column",
        "your data",
    )
    horizon: int = knob(
        1, "series: predict the targets this many steps ahead (0: at the same step, from other columns)",
        "horizon", "your data", lo=0, hi=1000,
    )  # fmt: skip
    stride: int = knob(
        1, "series: steps between two windows' starts", "window stride", "your data", lo=1, hi=1_000_000
    )
    val_fraction: float = knob(
        0.2, "data tasks: the last part kept for validation (series: of each series, by time)",
        "validation part", "your data", lo=0.0, lo_open=True, hi=0.9, step=0.05,
    )  # fmt: skip
    tokens: str = knob(
        "char", "text and pairs: read characters or whitespace-separated words", "tokens", "your data",
        choices=("char", "word"),
    )  # fmt: skip
    vocab_cap: int = knob(
        10_000, "text and pairs, words: the most frequent words kept (the others read as <unk>)",
        "vocabulary cap", "your data", lo=8, hi=1_000_000,
    )  # fmt: skip
    drop_nonfinite: bool = knob(
        False, "series: drop rows with an empty, NaN or infinite value instead of refusing the file",
        "drop non-finite rows", "your data",
    )  # fmt: skip

    # instrumentation
    inspect: bool = knob(
        False, "forward and backward through the data in order, batch after batch, without updating the weights "
        "(inspect a trained model)", "inspect (no updates)", "optimisation", live=True,
    )  # fmt: skip
    probe_index: int = knob(
        0, "which sample of the batch the frame shows", "probe sample", "instrumentation", live=True,
        lo=0, hi_field="batch_size",
    )  # fmt: skip
    probe_every: int = knob(
        1, "a full probe frame every N steps (1 = every step, 0 = never)", "probe every N steps",
        "instrumentation", live=True, lo=0, hi=1_000_000,
    )  # fmt: skip

    def __post_init__(self) -> None:
        validate(self)

    def with_changes(self, **changes: Any) -> TrainConfig:
        """A validated copy with ``changes`` applied; unknown names are refused."""
        for key in changes:
            if key not in KNOBS:
                raise ValueError(f"unknown config field {key!r}; known: {', '.join(sorted(KNOBS))}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """From ``to_dict()`` (or a session's stored config, whose old key names are read)."""
        data = {LEGACY_NAMES.get(k, k): v for k, v in data.items()}
        unknown = sorted(set(data) - set(KNOBS))
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(unknown)}")
        return cls(**data)

    @property
    def is_seq2seq(self) -> bool:
        return TASKS[self.task].kind == "seq2seq"

    @property
    def cells(self) -> dict[str, str]:
        """Each recurrent part's cell: ``{"rnn": cell}``, or for Seq2Seq ``{"encoder": cell,
        "decoder": decoder_cell or cell}``."""
        if not self.is_seq2seq:
            return {"rnn": self.cell}
        return {"encoder": self.cell, "decoder": self.decoder_cell or self.cell}


KNOBS: dict[str, Knob] = {f.name: f.metadata["knob"] for f in dataclasses.fields(TrainConfig)}
DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
FIELD_TYPES: dict[str, type] = {
    f.name: {"str": str, "int": int, "float": float, "bool": bool}[str(f.type).split(" ")[0]]
    for f in dataclasses.fields(TrainConfig)
}
# Fields that take effect from the next step without rebuilding the model.
LIVE_FIELDS = frozenset(name for name, k in KNOBS.items() if k.live)


def _num(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _check_number(name: str, value: Any, k: Knob, integer: bool, hi: float) -> None:
    """One message for every way a number can be wrong: type, NaN/Inf, or out of range."""
    lo = cast(float, k.lo)
    interval = k.interval(hi)
    want = f"{'an integer' if integer else 'a number'} in {interval}"
    kind: tuple[type, ...] = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"{name} must be {want}; got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number in {interval}; got {value!r}")
    number = cast(float, value)
    below = number <= lo if k.lo_open else number < lo
    above = number >= hi if k.hi_open else number > hi
    if below or above:
        raise ValueError(f"{name} must be {want}; got {value!r}")


def validate(cfg: TrainConfig) -> None:
    """Raise ValueError naming the first bad field and its allowed range."""
    for name, k in KNOBS.items():
        value = getattr(cfg, name)
        if value is None and k.optional:
            continue
        if k.choices is not None:
            _check_choice(name, value, k.options())
        elif FIELD_TYPES[name] is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false; got {value!r}")
        elif FIELD_TYPES[name] is str:
            if not isinstance(value, str):
                raise ValueError(f"{name} must be text; got {value!r}")
        else:
            hi = getattr(cfg, k.hi_field) - 1 if k.hi_field else cast(float, k.hi)
            _check_number(name, value, k, FIELD_TYPES[name] is int, hi)
    seq2seq = task_names("seq2seq")
    if cfg.decoder_cell is not None and not cfg.is_seq2seq:
        raise ValueError(f"decoder_cell is only used by Seq2Seq tasks ({', '.join(seq2seq)})")
    if cfg.tie_weights and TASKS[cfg.task].kind not in ("token", "seq2seq"):
        tokens = task_names("token", "seq2seq")
        raise ValueError(f"tie_weights needs a token task ({', '.join(tokens)})")
    reads = TASKS[cfg.task].reads_data
    if reads and not cfg.data:
        raise ValueError(f"the {cfg.task} task trains on your own {reads} file: give it (--data FILE)")
    if cfg.data and not reads:
        raise ValueError(
            f"data is read only by the tasks on your own data ({', '.join(DATA_TASKS)}), not {cfg.task}"
        )
    # Task-specific limits (e.g. seq_len beyond what the task supports) are the task's.
    TASKS[cfg.task].check_config(cfg)
