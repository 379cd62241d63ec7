"""Teaching demos: named starting configurations for ``python main.py --demo NAME``.

Each demo is a set of TrainConfig fields on top of the task's suggested settings and a
sentence that says what to look at. Qt-free (it could live in engine/ as well).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_DEMO = "lstm-copy"


@dataclass(frozen=True)
class Demo:
    name: str
    what_to_see: str
    fields: dict[str, Any] = field(default_factory=dict)

    def config(self):  # -> engine.TrainConfig
        from engine import TrainConfig
        from engine.tasks import TASK_CLASSES

        task = self.fields.get("task", "copy")
        defaults = dict(getattr(TASK_CLASSES()[task], "default_config", {}))
        return TrainConfig(**{**defaults, **self.fields})


DEMOS: dict[str, Demo] = {
    d.name: d
    for d in (
        Demo(
            "lstm-copy",
            "An LSTM learns to copy a pattern after a delay: watch the forget gate open and "
            "dL/dc_t reach the early timesteps.",
            {"model": "lstm", "task": "copy"},
        ),
        Demo(
            "rnn-vanishing",
            "A tanh RNN with a small recurrent init (init_scale 0.5): ||dL/dh_t|| falls "
            "geometrically towards t = 0 and sigma_max(W_hh) < 1.",
            {"model": "rnn", "task": "copy", "init_scale": 0.5, "seq_len": 40, "delay": 20},
        ),
        Demo(
            "rnn-exploding",
            "A tanh RNN with a large recurrent init (init_scale 2) and SGD: sigma_max(W_hh) > 1, "
            "gradients grow towards t = 0 and overflow. Turn clipping on to tame it.",
            {
                "model": "rnn",
                "task": "copy",
                "init_scale": 2.0,
                "optimizer": "sgd",
                "lr": 0.1,
                "seq_len": 40,
                "delay": 20,
            },
        ),
        Demo(
            "rnn-clipping",
            "The exploding RNN with gradient clipping at norm 1: the norm before clipping "
            "spikes, after clipping it stays at the threshold.",
            {
                "model": "rnn",
                "task": "copy",
                "init_scale": 2.0,
                "optimizer": "sgd",
                "lr": 0.1,
                "seq_len": 40,
                "delay": 20,
                "clip": True,
                "clip_threshold": 1.0,
            },
        ),
        Demo(
            "lstm-forget-bias",
            "An LSTM with forget bias 2 on a long delay: f starts near 1, so the cell state "
            "carries the gradient back almost unchanged (the gradient highway).",
            {"model": "lstm", "task": "copy", "forget_bias": 2.0, "seq_len": 60, "delay": 40},
        ),
        Demo(
            "gru-adding",
            "A GRU on the adding problem: the update gate z decides when to keep h_{t-1}.",
            {"model": "gru", "task": "adding", "seq_len": 50},
        ),
        Demo(
            "seq2seq-reverse",
            "An LSTM encoder-decoder reverses a word: compare teacher-forced and free-running output.",
            {"model": "lstm", "task": "reverse"},
        ),
        Demo(
            "seq2seq-translate",
            "Digits to English words with a GRU encoder-decoder; lower teacher forcing to see exposure bias.",
            {"model": "gru", "task": "translate"},
        ),
        Demo(
            "charlm",
            "A 2-layer LSTM character model of Coriolanus with dropout between layers and tied weights.",
            {
                "model": "lstm",
                "task": "charlm",
                "layers": 2,
                "dropout": 0.2,
                "tie_weights": True,
                "hidden_size": 64,
            },
        ),
    )
}


def get_demo(name: str | None) -> Demo:
    """The demo called ``name`` (the default demo for None); ValueError listing the names otherwise."""
    if name is None:
        return DEMOS[DEFAULT_DEMO]
    try:
        return DEMOS[name]
    except KeyError:
        raise ValueError(f"unknown demo {name!r}; demos: {', '.join(DEMOS)}") from None
