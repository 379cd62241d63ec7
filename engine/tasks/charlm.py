"""Character-level language modelling on a shipped public-domain text (no download).

The text is engine/data/coriolanus.txt (Shakespeare, "Coriolanus" Act I, ~20 KB); its
leading '#' lines are a header naming the source and are stripped. Vocabulary = the
sorted set of characters of the text (id i <-> VOCAB[i]). The last 10% of the characters
are the validation split, the rest the training split.

sample(): random windows of seq_len+1 characters from the training split, x = w[:-1],
y = w[1:]. validation_batches(): evenly spaced windows over the validation split (no RNG,
identical every call). Loss: cross-entropy; metric: perplexity = exp(loss), lower is better.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

import torch

from rnnscope.engine import numerics
from rnnscope.engine.tasks.base import Batch, Task

if TYPE_CHECKING:
    from rnnscope.engine.config import TrainConfig

TEXT_FILE = "coriolanus.txt"
VAL_FRACTION = 0.1
MAX_VAL_BATCHES = 4


@dataclass(frozen=True)
class Corpus:
    text: str
    vocab: tuple[str, ...]  # id -> character (or word)
    ids: torch.Tensor  # (tokens,) int64; never modified
    n_train: int  # ids[:n_train] train split, ids[n_train:] validation split
    name: str = "Shakespeare's Coriolanus"
    unit: str = "character"

    @property
    def n_val(self) -> int:
        return len(self.ids) - self.n_train


def strip_header(raw: str) -> str:
    """Drop the leading lines that start with '#' (the source note)."""
    lines = raw.split("\n")
    i = 0
    while i < len(lines) and lines[i].startswith("#"):
        i += 1
    return "\n".join(lines[i:])


@functools.lru_cache(maxsize=1)
def load_corpus() -> Corpus:
    """The shipped text, read once per process (works from an installed package too)."""
    raw = resources.files("rnnscope.engine").joinpath("data").joinpath(TEXT_FILE).read_text(encoding="utf-8")
    text = strip_header(raw)
    vocab = tuple(sorted(set(text)))
    index = {c: i for i, c in enumerate(vocab)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.int64)
    n_val = int(len(text) * VAL_FRACTION)
    return Corpus(text=text, vocab=vocab, ids=ids, n_train=len(text) - n_val)


class CharLMTask(Task):
    name = "charlm"
    kind = "token"
    metric_name = "perplexity"
    higher_is_better = False

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__(cfg)
        self.seq_len = cfg.seq_len
        self.corpus = self.corpus_for(cfg)

    @classmethod
    def corpus_for(cls, cfg: TrainConfig | None) -> Corpus:
        """The text this task reads (the shipped one; engine.tasks.text_file: the user's)."""
        return load_corpus()

    @classmethod
    def max_seq_len(cls, cfg: TrainConfig | None = None) -> int:
        """The longest window (seq_len + 1 tokens) that fits the validation split."""
        return cls.corpus_for(cfg).n_val - 1

    @classmethod
    def check_config(cls, cfg: TrainConfig) -> None:
        corpus = cls.corpus_for(cfg)
        hi = corpus.n_val - 1
        if cfg.seq_len > hi:
            raise ValueError(
                f"seq_len must be in [1, {hi}] for the {cls.name} task (a window of seq_len+1 {corpus.unit}s "
                f"must fit the {corpus.n_val}-{corpus.unit} validation split); got {cfg.seq_len}"
            )

    @property
    def input_size(self) -> int:
        return len(self.corpus.vocab)

    @property
    def output_size(self) -> int:
        return len(self.corpus.vocab)

    def _windows(self, split: torch.Tensor, starts: torch.Tensor) -> Batch:
        offsets = torch.arange(self.seq_len + 1)
        w = split[starts[:, None] + offsets[None, :]]  # (B, seq_len+1)
        x, y = w[:, :-1].contiguous(), w[:, 1:].contiguous()
        return Batch(x=x, y=y, mask=torch.ones_like(y, dtype=torch.bool))

    def sample(self, gen: torch.Generator, batch_size: int) -> Batch:
        train = self.corpus.ids[: self.corpus.n_train]
        hi = len(train) - (self.seq_len + 1)  # last valid start
        starts = torch.randint(0, hi + 1, (batch_size,), generator=gen)
        return self._windows(train, starts)

    def ordered_batch(self, index: int, batch_size: int) -> Batch:
        """Consecutive windows of the whole text (training, then validation part), wrapping around."""
        window = self.seq_len + 1
        n = max(1, (len(self.corpus.ids) - window) // self.seq_len + 1)
        starts = ((index * batch_size + torch.arange(batch_size)) % n) * self.seq_len
        return self._windows(self.corpus.ids, starts)

    def validation_batches(self, batch_size: int) -> list[Batch]:
        val = self.corpus.ids[self.corpus.n_train :]
        window = self.seq_len + 1
        last = len(val) - window
        disjoint = len(val) // window  # windows that fit without overlap
        n_batches = max(1, min(MAX_VAL_BATCHES, -(-disjoint // batch_size)))
        n = n_batches * batch_size
        starts = torch.tensor([(i * last) // max(n - 1, 1) for i in range(n)], dtype=torch.int64)
        return [self._windows(val, starts[b * batch_size : (b + 1) * batch_size]) for b in range(n_batches)]

    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        return numerics.cross_entropy(out[batch.mask], batch.y[batch.mask])

    def metric(self, out: torch.Tensor, batch: Batch, loss: float) -> float:
        if math.isnan(loss):
            return math.nan
        return math.exp(loss) if loss < 700.0 else math.inf

    def input_tokens(self, ids: list[int]) -> list[str]:
        vocab = self.corpus.vocab
        return [vocab[i] if 0 <= i < len(vocab) else f"<{i}>" for i in ids]

    def output_tokens(self, ids: list[int]) -> list[str]:
        return self.input_tokens(ids)

    def describe(self) -> str:
        c = self.corpus
        return (
            f"{self.name}: predict the next {c.unit} of {c.name} ({len(c.vocab)} symbols, "
            f"{c.n_train} train / {c.n_val} validation {c.unit}s), {self.seq_len} steps; perplexity"
        )
