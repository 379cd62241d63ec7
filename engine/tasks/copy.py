"""The copy (delayed recall) task: remember P symbols across a delay, replay them on cue.

Layout of one sample (T = cfg.seq_len, D = cfg.delay, P = (T - D) // 2):

    t:       0 .. P-1     P .. T-P-2    T-P-1     T-P .. T-1
    input:   s_0 .. s_P-1 BLANK ...     GO        BLANK ...
    target:  BLANK ...    BLANK ...     BLANK     s_0 .. s_P-1     (mask True only here)

Symbol s_i is shown at t = i and must be produced at t = T-P+i, i.e. T-P >= P+D steps
later, so the gradient that teaches recall has to travel back at least D steps.

Ids (input and output share one vocabulary of 10, so weights can be tied):
0..7 the symbols (shown as A..H), 8 BLANK ("_"), 9 GO ("GO").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import torch

from rnnscope.engine import numerics
from rnnscope.engine.tasks.base import Batch, Task

if TYPE_CHECKING:
    from rnnscope.engine.config import TrainConfig

N_SYMBOLS = 8
BLANK_ID = 8
GO_ID = 9
VOCAB = [chr(ord("A") + i) for i in range(N_SYMBOLS)] + ["_", "GO"]


class CopyTask(Task):
    name = "copy"
    kind = "token"
    metric_name = "accuracy"
    # At the global defaults (T=30, delay 10, forget bias 0, lr 1e-3) an LSTM is still at chance
    # after 300 steps; these learn visibly within them (tests/engine/test_task_defaults.py).
    default_config: ClassVar[dict[str, Any]] = {"seq_len": 14, "delay": 4, "lr": 1e-2, "forget_bias": 1.0}
    higher_is_better = True

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__(cfg)
        self.seq_len = cfg.seq_len
        self.delay = cfg.delay
        self.pattern_len = (cfg.seq_len - cfg.delay) // 2

    @classmethod
    def check_config(cls, cfg: TrainConfig) -> None:
        if cfg.delay < 1:
            raise ValueError(
                f"delay must be in [1, seq_len - 2] = [1, {cfg.seq_len - 2}] for the copy task; got {cfg.delay}"
            )
        if cfg.seq_len < cfg.delay + 2:
            raise ValueError(
                f"seq_len must be >= delay + 2 = {cfg.delay + 2} for the copy task "
                f"(room for a pattern of at least 1 symbol); got seq_len={cfg.seq_len}, delay={cfg.delay}"
            )

    @property
    def input_size(self) -> int:
        return len(VOCAB)

    @property
    def output_size(self) -> int:
        return len(VOCAB)

    def sample(self, gen: torch.Generator, batch_size: int) -> Batch:
        T, P = self.seq_len, self.pattern_len
        pattern = torch.randint(0, N_SYMBOLS, (batch_size, P), generator=gen)
        x = torch.full((batch_size, T), BLANK_ID, dtype=torch.int64)
        y = torch.full((batch_size, T), BLANK_ID, dtype=torch.int64)
        mask = torch.zeros((batch_size, T), dtype=torch.bool)
        x[:, :P] = pattern
        x[:, T - P - 1] = GO_ID
        y[:, T - P :] = pattern
        mask[:, T - P :] = True
        return Batch(x=x, y=y, mask=mask)

    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        return numerics.cross_entropy(out[batch.mask], batch.y[batch.mask])

    def metric(self, out: torch.Tensor, batch: Batch, loss: float) -> float:
        mask = batch.mask.to(out.device)
        pred = out.detach().argmax(dim=-1)[mask]
        return float((pred == batch.y.to(out.device)[mask]).float().mean().item())

    def input_tokens(self, ids: list[int]) -> list[str]:
        return [VOCAB[i] if 0 <= i < len(VOCAB) else f"<{i}>" for i in ids]

    def output_tokens(self, ids: list[int]) -> list[str]:
        return self.input_tokens(ids)

    def describe(self) -> str:
        return (
            f"copy: remember {self.pattern_len} random symbols (of {N_SYMBOLS}), wait {self.delay} steps, "
            f"replay them after GO; accuracy over the {self.pattern_len} recall steps"
        )
