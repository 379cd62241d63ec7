"""``series``: forecast the user's own time series (a CSV or NumPy file, engine.datasets).

Windows of ``seq_len`` steps whose starts are ``stride`` apart. With ``horizon`` h >= 1 the
model reads the input columns at steps t-seq_len+1..t and predicts, at every step t, the
target columns at t+1..t+h (output width = targets x h); with h = 0 it predicts the target
columns at the same step from other columns (a target that is also an input is refused).

Split by time, never by shuffling: of each series the last ``val_fraction`` of its rows is the
validation part, the rest the training part, and no window crosses from one into the other.
Every column is normalised with the mean and standard deviation of the training part only
(``stats``, shown in ``describe`` and the window). Loss: MSE (normalised units); metric: R^2.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from rnnscope.engine.datasets import DataError, read_series, split_names, store
from rnnscope.engine.tasks.base import Batch, Task, r_squared

if TYPE_CHECKING:
    from rnnscope.engine.config import TrainConfig

MAX_VAL_BATCHES = 4


@dataclass(frozen=True)
class Prepared:
    name: str
    inputs: tuple[str, ...]
    targets: tuple[str, ...]
    mean: np.ndarray  # (C,) of the columns (inputs, then targets not among them), training part
    std: np.ndarray
    data: torch.Tensor  # (R, C) float32, normalised, every series one after the other
    train_starts: torch.Tensor  # (W,) int64 row of each training window's first step
    val_starts: torch.Tensor
    in_idx: torch.Tensor  # columns of ``data`` that are inputs
    out_idx: torch.Tensor  # columns of ``data`` that are targets
    n_series: int
    rows: int
    dropped: int

    def stats(self) -> dict[str, tuple[float, float]]:
        cols = (*self.inputs, *(t for t in self.targets if t not in self.inputs))
        return {c: (float(m), float(s)) for c, m, s in zip(cols, self.mean, self.std, strict=True)}


def shipped_data(name: str) -> str:
    """The id of a data file shipped in engine/data (registered on first use): the demos' data."""
    from importlib import resources

    from rnnscope.engine.datasets import DataFile

    data = resources.files("rnnscope.engine").joinpath("data", name).read_bytes()
    return store.register(DataFile.of(name, data)).id


def _key(cfg: TrainConfig) -> tuple[Any, ...]:
    return (
        cfg.data, cfg.inputs, cfg.targets, cfg.time_column, cfg.series_column, cfg.drop_nonfinite,
        cfg.horizon, cfg.seq_len, cfg.stride, cfg.val_fraction,
    )  # fmt: skip


def prepare(cfg: TrainConfig) -> Prepared:
    return _prepare(*_key(cfg))


@functools.lru_cache(maxsize=8)
def _prepare(
    data: str,
    inputs_text: str,
    targets_text: str,
    time_column: str,
    series_column: str,
    drop: bool,
    horizon: int,
    seq_len: int,
    stride: int,
    val_fraction: float,
) -> Prepared:
    df = store.get(data)
    inputs, targets = split_names(inputs_text), split_names(targets_text)
    series = read_series(
        df,
        tuple(dict.fromkeys((*inputs, *targets))) if inputs else (),
        time_column=time_column,
        series_column=series_column,
        drop_nonfinite=drop,
    )
    if not inputs:
        inputs = (
            tuple(c for c in series.columns if c not in targets)
            if (targets and horizon == 0)
            else series.columns
        )
    targets = targets or inputs
    cols = (*inputs, *(t for t in targets if t not in inputs))
    if horizon == 0:
        both = [t for t in targets if t in inputs]
        if both:
            raise DataError(
                df.name,
                "with horizon 0 the model would read the answer: a target is also an input",
                column=both[0],
            )
    if set(cols) <= set(series.columns) and len(cols) == len(series.columns):  # the same columns: reorder
        order = [series.columns.index(c) for c in cols]
        series = dataclasses.replace(series, columns=cols, series=tuple(s[:, order] for s in series.series))
    elif series.columns != cols:  # a target the first read did not read (it checks the name)
        series = read_series(
            df, cols, time_column=time_column, series_column=series_column, drop_nonfinite=drop
        )
    window = seq_len + horizon
    train_parts: list[np.ndarray] = []
    starts_t: list[int] = []
    starts_v: list[int] = []
    offset = 0
    for s in series.series:
        n = len(s)
        n_train = n - round(n * val_fraction)
        starts_t.extend(range(offset, offset + n_train - window + 1, stride))
        starts_v.extend(range(offset + n_train, offset + n - window + 1, stride))
        train_parts.append(s[:n_train])
        offset += n
    shortest = min(len(s) for s in series.series)
    if not starts_t:
        raise DataError(
            df.name,
            f"the training part is shorter than one window of seq_len + horizon = {window} rows "
            f"(the shortest series has {shortest} rows, {val_fraction:g} of them for validation): lower seq_len",
        )
    if not starts_v:
        raise DataError(
            df.name,
            f"the validation part (the last {val_fraction:g} of each series) is shorter than one window of "
            f"seq_len + horizon = {window} rows: lower seq_len or raise val_fraction",
        )
    train = np.concatenate(train_parts)
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)  # a constant column stays 0 after centring
    values = (np.concatenate(series.series) - mean) / std
    return Prepared(
        name=df.name,
        inputs=inputs,
        targets=targets,
        mean=mean,
        std=std,
        data=torch.from_numpy(values.astype(np.float32)),
        train_starts=torch.tensor(starts_t, dtype=torch.int64),
        val_starts=torch.tensor(starts_v, dtype=torch.int64),
        in_idx=torch.tensor([cols.index(c) for c in inputs]),
        out_idx=torch.tensor([cols.index(c) for c in targets]),
        n_series=len(series.series),
        rows=series.rows,
        dropped=series.dropped,
    )


class SeriesTask(Task):
    name = "series"
    kind = "continuous"
    metric_name = "r2"
    higher_is_better = True
    reads_data: ClassVar[str] = "series"

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__(cfg)
        self.prepared = prepare(cfg)
        self.seq_len, self.horizon = cfg.seq_len, cfg.horizon

    @classmethod
    def check_config(cls, cfg: TrainConfig) -> None:
        prepare(cfg)

    @property
    def input_size(self) -> int:
        return len(self.prepared.inputs)

    @property
    def output_size(self) -> int:
        return len(self.prepared.targets) * max(1, self.horizon)

    def _windows(self, starts: torch.Tensor) -> Batch:
        p, T, h = self.prepared, self.seq_len, self.horizon
        rows = starts[:, None] + torch.arange(T + h)[None, :]
        w = p.data[rows]  # (B, T+h, C)
        x = w[:, :T, p.in_idx]
        if h == 0:
            y = w[:, :T, p.out_idx]
        else:
            y = torch.cat([w[:, k : k + T, p.out_idx] for k in range(1, h + 1)], dim=-1)
        return Batch(x=x.contiguous(), y=y.contiguous(), mask=torch.ones((len(starts), T), dtype=torch.bool))

    def sample(self, gen: torch.Generator, batch_size: int) -> Batch:
        starts = self.prepared.train_starts
        pick = torch.randint(0, len(starts), (batch_size,), generator=gen)
        return self._windows(starts[pick])

    def ordered_batch(self, index: int, batch_size: int) -> Batch:
        """Every window in time order (the training, then the validation part), wrapping around."""
        starts = torch.cat([self.prepared.train_starts, self.prepared.val_starts])
        pick = (index * batch_size + torch.arange(batch_size)) % len(starts)
        return self._windows(starts[pick])

    def validation_batches(self, batch_size: int) -> list[Batch]:
        starts = self.prepared.val_starts
        n = min(len(starts), MAX_VAL_BATCHES * batch_size)
        pick = torch.tensor([(i * (len(starts) - 1)) // max(n - 1, 1) for i in range(n)], dtype=torch.int64)
        chosen = starts[pick]
        return [self._windows(chosen[i : i + batch_size]) for i in range(0, n, batch_size)]

    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        return F.mse_loss(out[batch.mask], batch.y[batch.mask])

    def metric(self, out: torch.Tensor, batch: Batch, loss: float) -> float:
        return r_squared(out, batch)

    def data_facts(self) -> dict[str, Any]:
        p = self.prepared
        return {
            "file": p.name, "rows": p.rows, "series": p.n_series, "dropped": p.dropped,
            "train_windows": len(p.train_starts), "val_windows": len(p.val_starts),
            "normalisation": {c: [m, s] for c, (m, s) in p.stats().items()},
        }  # fmt: skip

    def value_label(self) -> str:
        first = self.prepared.targets[0]
        mean, std = self.prepared.stats()[first]
        return f"normalised ({first} = {mean:.4g} + {std:.4g} x value)"

    def input_names(self) -> list[str]:
        return list(self.prepared.inputs)

    def describe(self) -> str:
        p = self.prepared
        ahead = (
            f"{self.horizon} step{'s' if self.horizon > 1 else ''} ahead"
            if self.horizon
            else "at the same step"
        )
        stats = ", ".join(f"{c} {m:.4g}±{s:.4g}" for c, (m, s) in p.stats().items())
        several = f" in {p.n_series} series" if p.n_series > 1 else ""
        dropped = f", {p.dropped} rows dropped" if p.dropped else ""
        return (
            f"series from {p.name} ({p.rows} rows{several}{dropped}): predict {', '.join(p.targets)} {ahead} "
            f"from {', '.join(p.inputs)} over {self.seq_len}-step windows; {len(p.train_starts)} training / "
            f"{len(p.val_starts)} validation windows (the last part by time); normalised by the training "
            f"part's mean±std ({stats}); R^2"
        )
