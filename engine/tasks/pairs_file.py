"""``pairs``: Seq2Seq on the user's own TSV of source/target pairs (engine.datasets.pairs).

Characters or words (``tokens``); pairs whose source or target is longer than ``seq_len``
tokens are left out (the count is shown). The last ``val_fraction`` of the pairs (file order)
is the validation part; both vocabularies are the training part's, after the reserved
``<pad> <sos> <eos>`` and ``<unk>`` (id 3) for anything they do not hold. Batches: x (B,
seq_len), y (B, seq_len + 1) with EOS, padded. Metric: exact match; token accuracy in extras.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from rnnscope.engine.datasets import DataError, store
from rnnscope.engine.datasets.pairs import read_pairs
from rnnscope.engine.datasets.text import UNK, unit_of, vocabulary
from rnnscope.engine.tasks.base import Batch
from rnnscope.engine.tasks.seq2seq_tasks import SPECIALS, _Seq2SeqTask

if TYPE_CHECKING:
    from rnnscope.engine.config import TrainConfig

UNK_ID = len(SPECIALS)
MAX_VAL_BATCHES = 4


@dataclass(frozen=True)
class PairSet:
    name: str
    source_vocab: list[str]
    target_vocab: list[str]
    train: list[tuple[list[int], list[int]]]
    val: list[tuple[list[int], list[int]]]
    too_long: int  # pairs left out by the length limit
    unit: str


@functools.lru_cache(maxsize=4)
def _pairs(data: str, level: str, cap: int, val_fraction: float, max_len: int) -> PairSet:
    df = store.get(data)
    everything = read_pairs(df, level)
    kept = [(s, t) for s, t in everything if len(s) <= max_len and len(t) <= max_len]
    too_long = len(everything) - len(kept)
    unit = unit_of(level)
    if not kept:
        raise DataError(
            df.name,
            f"every one of its {len(everything)} pairs is longer than seq_len = {max_len} {unit}s: raise seq_len",
        )
    n_val = round(len(kept) * val_fraction)
    n_train = len(kept) - n_val
    if n_train < 1 or n_val < 1:
        raise DataError(
            df.name,
            f"{len(kept)} pairs within seq_len = {max_len} cannot be split into training and validation pairs",
        )
    specials = (*SPECIALS, UNK)
    train_pairs = kept[:n_train]
    src_vocab = list(vocabulary([w for s, _ in train_pairs for w in s], specials, level, cap))
    tgt_vocab = list(vocabulary([w for _, t in train_pairs for w in t], specials, level, cap))
    si = {w: i for i, w in enumerate(src_vocab)}
    ti = {w: i for i, w in enumerate(tgt_vocab)}

    def ids(pairs: list[tuple[list[str], list[str]]]) -> list[tuple[list[int], list[int]]]:
        return [([si.get(w, UNK_ID) for w in s], [ti.get(w, UNK_ID) for w in t]) for s, t in pairs]

    return PairSet(df.name, src_vocab, tgt_vocab, ids(train_pairs), ids(kept[n_train:]), too_long, unit)


class PairsTask(_Seq2SeqTask):
    name = "pairs"
    reads_data: ClassVar[str] = "pairs"
    default_config: ClassVar[dict[str, Any]] = {"seq_len": 12}

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__(cfg)
        self.pairs = self.pair_set(cfg)
        self.source_vocab = self.pairs.source_vocab
        self.target_vocab = self.pairs.target_vocab

    @staticmethod
    def pair_set(cfg: TrainConfig) -> PairSet:
        return _pairs(cfg.data, cfg.tokens, cfg.vocab_cap, cfg.val_fraction, cfg.seq_len)

    @classmethod
    def check_config(cls, cfg: TrainConfig) -> None:
        cls.pair_set(cfg)

    def _of(self, pairs: list[tuple[list[int], list[int]]]) -> Batch:
        S = self.seq_len
        return self._batch([s for s, _ in pairs], [t for _, t in pairs], S, S + 1)

    def sample(self, gen: torch.Generator, batch_size: int) -> Batch:
        train = self.pairs.train
        pick = torch.randint(0, len(train), (batch_size,), generator=gen).tolist()
        return self._of([train[i] for i in pick])

    def ordered_batch(self, index: int, batch_size: int) -> Batch:
        """Every pair in file order (training, then validation pairs), wrapping around."""
        everything = self.pairs.train + self.pairs.val
        return self._of([everything[(index * batch_size + i) % len(everything)] for i in range(batch_size)])

    def validation_batches(self, batch_size: int) -> list[Batch]:
        val = self.pairs.val[: MAX_VAL_BATCHES * batch_size]
        return [self._of(val[i : i + batch_size]) for i in range(0, len(val), batch_size)]

    def extra_metrics(self, out: torch.Tensor, batch: Batch) -> dict[str, float]:
        """token_accuracy: the share of target tokens (EOS included, padding not) predicted right."""
        mask = batch.mask.to(out.device)
        right = (out.argmax(dim=-1) == batch.y.to(out.device)) & mask
        return {"token_accuracy": float(right.sum()) / max(1, int(mask.sum()))}

    def data_facts(self) -> dict[str, Any]:
        p = self.pairs
        return {"file": p.name, "unit": p.unit, "train_pairs": len(p.train), "val_pairs": len(p.val),
                "too_long": p.too_long, "source_vocabulary": len(p.source_vocab),
                "target_vocabulary": len(p.target_vocab)}  # fmt: skip

    def describe(self) -> str:
        p = self.pairs
        left = f", {p.too_long} longer than {self.seq_len} {p.unit}s left out" if p.too_long else ""
        return (
            f"pairs from {p.name}: write the target of each source, {p.unit} by {p.unit} "
            f"({len(p.train)} training / {len(p.val)} validation pairs{left}; vocabularies "
            f"{len(p.source_vocab)} / {len(p.target_vocab)}); exact match of the whole output"
        )
