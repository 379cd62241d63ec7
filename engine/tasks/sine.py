"""Next-value prediction on noisy sine waves (a continuous, short-memory task).

Each sample has its own amplitude a ~ U[0.5, 1.5], period p ~ U[8, 40] steps and phase
phi ~ U[0, 2 pi): s(t) = a sin(2 pi t / p + phi). x (B, T, 1) is s(t) plus gaussian noise
(std NOISE_STD); y (B, T, 1) is the clean s(t+1). All positions are masked in.
Loss: MSE. Metric: R^2 = 1 - SSE/SST over the whole batch (1 is perfect, 0 = predicting
the batch mean).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from rnnscope.engine.tasks.base import Batch, Task, r_squared

if TYPE_CHECKING:
    from rnnscope.engine.config import TrainConfig

AMPLITUDE = (0.5, 1.5)
PERIOD = (8.0, 40.0)  # steps
NOISE_STD = 0.05


class SineTask(Task):
    name = "sine"
    kind = "continuous"
    metric_name = "r2"
    higher_is_better = True

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__(cfg)
        self.seq_len = cfg.seq_len

    @property
    def input_size(self) -> int:
        return 1

    @property
    def output_size(self) -> int:
        return 1

    def sample(self, gen: torch.Generator, batch_size: int) -> Batch:
        T = self.seq_len
        u = torch.rand((batch_size, 3), generator=gen)
        amp = AMPLITUDE[0] + (AMPLITUDE[1] - AMPLITUDE[0]) * u[:, 0:1]
        period = PERIOD[0] + (PERIOD[1] - PERIOD[0]) * u[:, 1:2]
        phase = 2 * math.pi * u[:, 2:3]
        t = torch.arange(T + 1, dtype=torch.float32)[None, :]
        clean = amp * torch.sin(2 * math.pi * t / period + phase)  # (B, T+1)
        noise = NOISE_STD * torch.randn((batch_size, T), generator=gen)
        x = (clean[:, :T] + noise).unsqueeze(-1)
        y = clean[:, 1:].unsqueeze(-1).contiguous()
        mask = torch.ones((batch_size, T), dtype=torch.bool)
        return Batch(x=x, y=y, mask=mask)

    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        return F.mse_loss(out[batch.mask], batch.y[batch.mask])

    def metric(self, out: torch.Tensor, batch: Batch, loss: float) -> float:
        return r_squared(out, batch)

    def describe(self) -> str:
        return (
            f"sine: predict the next clean value of a noisy sine (period {PERIOD[0]:g}-{PERIOD[1]:g} steps) "
            f"at each of {self.seq_len} steps; R^2 over the batch"
        )
