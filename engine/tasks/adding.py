"""The adding problem (Hochreiter & Schmidhuber, 1997): add the two marked numbers.

x (B, T, 2): channel 0 holds uniform [0, 1) values, channel 1 is a marker that is 1 at
exactly two positions, one in the first half [0, T//2) and one in the second [T//2, T).
y (B, T, 1) holds the sum of the two marked values at every position, but only the last
step is masked in: the model must carry the first marked value across up to T-1 steps.
Loss: MSE on the last step. Metric: fraction of samples within TOLERANCE of the sum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import torch
import torch.nn.functional as F

from rnnscope.engine.tasks.base import Batch, Task

if TYPE_CHECKING:
    from rnnscope.engine.config import TrainConfig

TOLERANCE = 0.04


class AddingTask(Task):
    name = "adding"
    kind = "continuous"
    metric_name = "accuracy"
    # The global defaults reach ~6% accuracy in 300 steps; these ~50% (tests/engine/test_task_defaults.py).
    default_config: ClassVar[dict[str, Any]] = {"lr": 3e-3, "forget_bias": 1.0, "batch_size": 64}
    higher_is_better = True

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__(cfg)
        self.seq_len = cfg.seq_len

    @classmethod
    def check_config(cls, cfg: TrainConfig) -> None:
        if cfg.seq_len < 2:
            raise ValueError(
                f"seq_len must be in [2, 10000] for the adding task (one marker per half); got {cfg.seq_len}"
            )

    @property
    def input_size(self) -> int:
        return 2

    @property
    def output_size(self) -> int:
        return 1

    def sample(self, gen: torch.Generator, batch_size: int) -> Batch:
        T = self.seq_len
        half = T // 2
        values = torch.rand((batch_size, T), generator=gen)
        first = torch.randint(0, half, (batch_size,), generator=gen)
        second = half + torch.randint(0, T - half, (batch_size,), generator=gen)
        rows = torch.arange(batch_size)
        markers = torch.zeros((batch_size, T))
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        total = values[rows, first] + values[rows, second]
        x = torch.stack([values, markers], dim=-1)
        y = total[:, None, None].expand(batch_size, T, 1).contiguous()
        mask = torch.zeros((batch_size, T), dtype=torch.bool)
        mask[:, -1] = True
        return Batch(x=x, y=y, mask=mask)

    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        return F.mse_loss(out[batch.mask], batch.y[batch.mask])

    def metric(self, out: torch.Tensor, batch: Batch, loss: float) -> float:
        pred = out.detach()[:, -1, 0]
        target = batch.y.to(out.device)[:, -1, 0]
        return float(((pred - target).abs() < TOLERANCE).float().mean().item())

    def describe(self) -> str:
        return (
            f"adding: over {self.seq_len} steps, output the sum of the two values marked in channel 1 "
            f"at the last step; accuracy = share within ±{TOLERANCE}"
        )
