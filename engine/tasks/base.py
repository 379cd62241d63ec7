"""The task interface: generated data, loss and metric for one kind of problem.

A task is stateless: every batch is drawn from a ``torch.Generator`` that the Trainer
owns (its state is the *data cursor* in ``Trainer.state_dict()``), so a run is
reproducible and rewindable. Batches are built on the CPU; the Trainer moves them.

Shapes (B = batch, T = timesteps):
- token tasks:       x (B, T) int64 ids,          y (B, T) int64 ids
- continuous tasks:  x (B, T, I) float32,         y (B, T, O) float32
- Seq2Seq tasks:     x (B, S) int64 source ids (padded with PAD_ID),
                     y (B, U) int64 target ids ending in EOS_ID (padded with PAD_ID);
                     the decoder's teacher-forced input is [SOS_ID, y_0 .. y_{U-2}]
``mask`` (B, T_out) bool marks the target positions that count in loss and metric.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch

if TYPE_CHECKING:
    from rnnscope.engine.config import TrainConfig

# Reserved ids of every Seq2Seq vocabulary (source and target).
PAD_ID, SOS_ID, EOS_ID = 0, 1, 2


@dataclass
class Batch:
    x: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor  # (B, T_out) bool
    src_len: torch.Tensor | None = None  # Seq2Seq: (B,) int64 source lengths (no padding)
    tgt_len: torch.Tensor | None = None  # Seq2Seq: (B,) int64 target lengths (EOS included)

    def to(self, device: torch.device | str) -> Batch:
        def mv(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device, non_blocking=True)

        return Batch(
            x=self.x.to(device),
            y=self.y.to(device),
            mask=self.mask.to(device),
            src_len=mv(self.src_len),
            tgt_len=mv(self.tgt_len),
        )


class Task(ABC):
    """A problem to train on. Subclasses set the class attributes below."""

    name: str
    kind: str  # "token" | "continuous" | "seq2seq"
    metric_name: str  # "accuracy" | "perplexity" | "exact_match" | "r2" ...
    higher_is_better: bool = True
    reads_data: ClassVar[str] = ""  # the kind of user data file it trains on (engine.datasets), if any
    # Settings this task suggests when a user switches to it (e.g. translate's seq_len is
    # a digit count, at most 6). Explicit choices override them.
    default_config: ClassVar[dict[str, Any]] = {}

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg

    @classmethod
    def check_config(cls, cfg: TrainConfig) -> None:
        """Raise ValueError naming the field and its allowed range when ``cfg`` asks more
        than this task supports (e.g. a seq_len beyond the shipped text). Default: no limits."""
        return None

    # sizes ---------------------------------------------------------------
    @property
    @abstractmethod
    def input_size(self) -> int:
        """Vocabulary size (token, Seq2Seq source) or feature count (continuous)."""

    @property
    @abstractmethod
    def output_size(self) -> int:
        """Vocabulary size (token, Seq2Seq target) or output feature count."""

    # data ----------------------------------------------------------------
    @abstractmethod
    def sample(self, gen: torch.Generator, batch_size: int) -> Batch:
        """A fresh training batch drawn only from ``gen`` (CPU tensors)."""

    def ordered_batch(self, index: int, batch_size: int) -> Batch:
        """Batch ``index`` of the data in order (inspect mode: no updates, the same batches on
        every run and replay). Default, for generated data: a fixed draw per index."""
        return self.sample(torch.Generator().manual_seed(0x1A5EC7 + index), batch_size)

    def validation_batches(self, batch_size: int) -> list[Batch]:
        """Fixed held-out batches (same every call). Default: a seeded draw."""
        gen = torch.Generator().manual_seed(0x5EED)
        return [self.sample(gen, batch_size) for _ in range(4)]

    # scoring -------------------------------------------------------------
    @abstractmethod
    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Scalar loss over ``batch.mask``. ``out``: (B, T_out, output_size) logits or values."""

    @abstractmethod
    def metric(self, out: torch.Tensor, batch: Batch, loss: float) -> float:
        """The task metric for this batch (``loss`` is the value ``loss()`` returned)."""

    def extra_metrics(self, out: torch.Tensor, batch: Batch) -> dict[str, float]:
        """Further scores of this batch, stored with the step (``StepRecord.extras``). Default: none."""
        return {}

    def predictions(self, out: torch.Tensor) -> torch.Tensor:
        """What the model predicts from ``out``: argmax ids for token outputs, else the values."""
        if self.kind == "continuous":
            return out
        return out.argmax(dim=-1)

    # display -------------------------------------------------------------
    def input_tokens(self, ids: list[int]) -> list[str]:
        """Readable names of input ids (token and Seq2Seq tasks)."""
        return [str(i) for i in ids]

    def output_tokens(self, ids: list[int]) -> list[str]:
        """Readable names of output ids (token and Seq2Seq tasks)."""
        return [str(i) for i in ids]

    def data_facts(self) -> dict[str, Any]:
        """What a task on the user's data made of the file (windows, vocabulary, normalisation),
        as JSON values: shown before a run and stored with it (sessions meta ``data_facts``)."""
        return {}

    def value_label(self) -> str:
        """Continuous tasks: what the plotted values are (the Sample panel's axis)."""
        return ""

    def input_names(self) -> list[str]:
        """Continuous tasks: a name per input feature ([] for "input 0, 1 ...")."""
        return []

    def describe(self) -> str:
        """One line for the GUI: what the task asks of the model."""
        return self.name


def r_squared(out: torch.Tensor, batch: Batch) -> float:
    """R^2 = 1 - SSE/SST of ``out`` against ``batch.y`` over the mask (1 is perfect, 0 is
    predicting the batch mean), pooled over the output features."""
    mask = batch.mask.to(out.device)
    pred = out.detach()[mask].double()
    target = batch.y.to(out.device)[mask].double()
    sse = float(((pred - target) ** 2).sum().item())
    sst = float(((target - target.mean()) ** 2).sum().item())
    if sst <= 1e-12:  # a constant target (e.g. one value): R^2 is undefined
        return 1.0 if sse <= 1e-12 else 0.0
    return 1.0 - sse / sst
