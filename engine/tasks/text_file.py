"""``text``: a language model on the user's own UTF-8 text (engine.datasets.text).

Characters (``tokens=char``) or whitespace-separated words (``tokens=word``, the ``vocab_cap``
most frequent kept). The first 1 - ``val_fraction`` of the tokens is the training part, the
rest the validation part; the vocabulary is the training part's, with ``<unk>`` (id 0) for
anything it does not hold. Windows, loss and perplexity as the shipped charlm task.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from rnnscope.engine.datasets import store
from rnnscope.engine.datasets.text import UNK, read_text, unit_of, vocabulary
from rnnscope.engine.tasks.charlm import CharLMTask, Corpus

if TYPE_CHECKING:
    from rnnscope.engine.config import TrainConfig


@functools.lru_cache(maxsize=4)
def _corpus(data: str, level: str, cap: int, val_fraction: float) -> Corpus:
    df = store.get(data)
    toks = read_text(df, level)
    n_train = len(toks) - round(len(toks) * val_fraction)
    vocab = vocabulary(toks[:n_train], (UNK,), level, cap)
    index = {t: i for i, t in enumerate(vocab)}
    ids = torch.tensor([index.get(t, 0) for t in toks], dtype=torch.int64)
    joined = "" if level == "char" else " "
    return Corpus(
        text=joined.join(toks), vocab=vocab, ids=ids, n_train=n_train, name=df.name,
        unit=unit_of(level),
    )  # fmt: skip


class TextTask(CharLMTask):
    name = "text"
    reads_data: ClassVar[str] = "text"

    @classmethod
    def corpus_for(cls, cfg: TrainConfig | None) -> Corpus:
        if cfg is None:
            raise ValueError("the text task reads the run's data file: give its config")
        return _corpus(cfg.data, cfg.tokens, cfg.vocab_cap, cfg.val_fraction)

    def data_facts(self) -> dict[str, Any]:
        c = self.corpus
        return {"file": c.name, "unit": c.unit, "vocabulary": len(c.vocab), "train_tokens": c.n_train,
                "val_tokens": c.n_val, "unknown_share": self.unknown_share()}  # fmt: skip

    def unknown_share(self) -> float:
        """The share of validation tokens the training vocabulary does not hold (read as <unk>)."""
        val = self.corpus.ids[self.corpus.n_train :]
        return float((val == 0).float().mean()) if len(val) else 0.0
