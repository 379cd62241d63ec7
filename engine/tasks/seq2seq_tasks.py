"""The Seq2Seq tasks: reverse a string, and spell a number in English words.

Both vocabularies of both tasks start with the reserved ids of base.py:
PAD_ID=0 "<pad>", SOS_ID=1 "<sos>", EOS_ID=2 "<eos>".

reverse:   source and target ids 3..12 = letters a..j (vocabulary 13 both sides).
           Source length L ~ U[max(1, seq_len//2), seq_len]; target = reversed source + EOS.
translate: source ids 3..12 = digits 0..9 (vocabulary 13); target ids 3.. = WORDS
           (zero..nineteen, twenty..ninety, hundred, thousand; vocabulary 33).
           A number of d ~ U[1, seq_len] digits (uniform among d-digit numbers; 0..9 for
           d = 1), most significant digit first; target = its words + EOS, e.g.
           "12045" -> "twelve thousand forty five <eos>" (no "and", no hyphens).

Shapes are fixed per config (not per batch), so every step of a run has the same width:
x (B, seq_len) and y (B, max target length) padded with PAD_ID; src_len/tgt_len (B,) int64
(tgt_len counts the EOS); mask = position < tgt_len. Loss: cross-entropy over the mask;
metric exact_match: the share of samples whose argmax equals the target at every masked position.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import torch

from rnnscope.engine import numerics
from rnnscope.engine.tasks.base import EOS_ID, PAD_ID, Batch, Task

if TYPE_CHECKING:
    from rnnscope.engine.config import TrainConfig

SPECIALS = ["<pad>", "<sos>", "<eos>"]
FIRST_ID = len(SPECIALS)  # first non-reserved id

LETTERS = [chr(ord("a") + i) for i in range(10)]
DIGITS = [str(d) for d in range(10)]
ONES = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
]  # fmt: skip
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
WORDS = ONES + TENS[2:] + ["hundred", "thousand"]
WORD_ID = {w: FIRST_ID + i for i, w in enumerate(WORDS)}
MAX_DIGITS = 6
# The most words a number with d digits can need (e.g. 777777 -> 9 words).
MAX_WORDS = {1: 1, 2: 2, 3: 4, 4: 6, 5: 7, 6: 9}


def _below_thousand(n: int) -> list[str]:
    hundreds, rest = divmod(n, 100)
    words = [ONES[hundreds], "hundred"] if hundreds else []
    if rest >= 20:
        words.append(TENS[rest // 10])
        if rest % 10:
            words.append(ONES[rest % 10])
    elif rest:
        words.append(ONES[rest])
    return words


def number_words(n: int) -> list[str]:
    """English words for 0 <= n < 10**6: 307 -> ["three", "hundred", "seven"]."""
    if not 0 <= n < 10**MAX_DIGITS:
        raise ValueError(f"number_words supports 0..{10**MAX_DIGITS - 1}; got {n}")
    if n == 0:
        return ["zero"]
    thousands, rest = divmod(n, 1000)
    words = [*_below_thousand(thousands), "thousand"] if thousands else []
    return words + _below_thousand(rest)


def _names(vocab: list[str], ids: list[int]) -> list[str]:
    return [vocab[i] if 0 <= i < len(vocab) else f"<{i}>" for i in ids]


class _Seq2SeqTask(Task):
    kind = "seq2seq"
    metric_name = "exact_match"
    higher_is_better = True
    source_vocab: list[str]
    target_vocab: list[str]

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__(cfg)
        self.seq_len = cfg.seq_len

    @property
    def input_size(self) -> int:
        return len(self.source_vocab)

    @property
    def output_size(self) -> int:
        return len(self.target_vocab)

    @staticmethod
    def _batch(sources: list[list[int]], targets: list[list[int]], width: int, tgt_width: int) -> Batch:
        """Pad id lists (targets without EOS) into a Batch; appends EOS to every target."""
        tgts = [[*t, EOS_ID] for t in targets]
        x = torch.tensor([s + [PAD_ID] * (width - len(s)) for s in sources], dtype=torch.int64)
        y = torch.tensor([t + [PAD_ID] * (tgt_width - len(t)) for t in tgts], dtype=torch.int64)
        src_len = torch.tensor([len(s) for s in sources], dtype=torch.int64)
        tgt_len = torch.tensor([len(t) for t in tgts], dtype=torch.int64)
        mask = torch.arange(tgt_width)[None, :] < tgt_len[:, None]
        return Batch(x=x, y=y, mask=mask, src_len=src_len, tgt_len=tgt_len)

    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        return numerics.cross_entropy(out[batch.mask], batch.y[batch.mask])

    def metric(self, out: torch.Tensor, batch: Batch, loss: float) -> float:
        mask = batch.mask.to(out.device)
        right = (out.detach().argmax(dim=-1) == batch.y.to(out.device)) | ~mask
        return float(right.all(dim=1).float().mean().item())

    def input_tokens(self, ids: list[int]) -> list[str]:
        return _names(self.source_vocab, ids)

    def output_tokens(self, ids: list[int]) -> list[str]:
        return _names(self.target_vocab, ids)


class ReverseTask(_Seq2SeqTask):
    default_config: ClassVar[dict[str, Any]] = {"seq_len": 8}
    name = "reverse"
    source_vocab = SPECIALS + LETTERS
    target_vocab = SPECIALS + LETTERS

    @property
    def min_len(self) -> int:
        return max(1, self.seq_len // 2)

    def sample(self, gen: torch.Generator, batch_size: int) -> Batch:
        S = self.seq_len
        lengths = torch.randint(self.min_len, S + 1, (batch_size,), generator=gen).tolist()
        symbols = torch.randint(FIRST_ID, FIRST_ID + len(LETTERS), (batch_size, S), generator=gen).tolist()
        sources = [row[:n] for row, n in zip(symbols, lengths, strict=True)]
        return self._batch(sources, [s[::-1] for s in sources], S, S + 1)

    def describe(self) -> str:
        return (
            f"reverse: read {self.min_len}-{self.seq_len} letters (a-j), write them back in reverse order "
            "then <eos>; exact match of the whole output"
        )


class TranslateTask(_Seq2SeqTask):
    default_config: ClassVar[dict[str, Any]] = {"seq_len": 4}
    name = "translate"
    source_vocab = SPECIALS + DIGITS
    target_vocab = SPECIALS + WORDS

    @classmethod
    def check_config(cls, cfg: TrainConfig) -> None:
        if not 1 <= cfg.seq_len <= MAX_DIGITS:
            raise ValueError(
                f"seq_len must be in [1, {MAX_DIGITS}] for the translate task; got {cfg.seq_len}"
            )

    def sample(self, gen: torch.Generator, batch_size: int) -> Batch:
        S = self.seq_len
        n_digits = torch.randint(1, S + 1, (batch_size,), generator=gen).tolist()
        digits = torch.randint(0, 10, (batch_size, S), generator=gen).tolist()
        leads = torch.randint(1, 10, (batch_size,), generator=gen).tolist()
        sources: list[list[int]] = []
        targets: list[list[int]] = []
        for d, row, lead in zip(n_digits, digits, leads, strict=True):
            ds = row[:1] if d == 1 else [lead, *row[1:d]]
            sources.append([FIRST_ID + k for k in ds])
            targets.append([WORD_ID[w] for w in number_words(int("".join(map(str, ds))))])
        return self._batch(sources, targets, S, MAX_WORDS[S] + 1)

    def describe(self) -> str:
        return (
            f"translate: read a number of 1-{self.seq_len} digits, write it in English words "
            '("307" -> "three hundred seven") then <eos>; exact match of the whole output'
        )
