"""History: every step's scalars and per-timestep gradient norms, for the over-steps plots.

Qt-free numpy buffers that grow by doubling (appending one step is O(T), never a copy of
the whole history). ``History.append(record)`` takes live StepRecords; ``History.load``
takes a session's vectorised ``Summaries``. The gradient-flow heatmap reads
``log10_h_grad(layer, max_columns)``: steps are averaged into at most ``max_columns``
bins, so the image the GUI uploads stays small however long the run.

Seq2Seq: each part (encoder, decoder) keeps its own time block; the heatmap stacks the
blocks along t (encoder first), like ``StepRecord.h_grad_norm``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rnnscope.engine.record import StepRecord
    from rnnscope.sessions.summaries import Summaries
    from rnnscope.sessions.timeline import TimelineEvent

LOG_FLOOR = -12.0  # log10 of a zero gradient norm is shown as this


class Buffer:
    """A growable array along axis 0 (doubling capacity); ``view`` is the filled part."""

    def __init__(self, tail: tuple[int, ...] = (), dtype: type = np.float64, fill: float = np.nan) -> None:
        self._fill = fill
        self._data: np.ndarray = np.full((64, *tail), fill, dtype=dtype)
        self.n = 0

    @property
    def tail(self) -> tuple[int, ...]:
        return tuple(self._data.shape[1:])

    def _reserve(self, n: int, tail: tuple[int, ...]) -> None:
        cap = self._data.shape[0]
        grow_tail = any(t > s for t, s in zip(tail, self.tail, strict=True))
        if n <= cap and not grow_tail:
            return
        new_cap = cap
        while new_cap < n:
            new_cap *= 2
        new_tail = tuple(max(t, s) for t, s in zip(tail, self.tail, strict=True)) if tail else ()
        data = np.full((new_cap, *new_tail), self._fill, dtype=self._data.dtype)
        idx = (slice(0, self.n), *(slice(0, s) for s in self.tail))
        data[idx] = self._data[idx]
        self._data = data

    def append(self, value: float | np.ndarray) -> None:
        arr = np.asarray(value)
        self._reserve(self.n + 1, tuple(arr.shape))
        if arr.ndim:
            row = self._data[self.n]
            row[...] = self._fill
            row[tuple(slice(0, s) for s in arr.shape)] = arr
        else:
            self._data[self.n] = arr
        self.n += 1

    def extend(self, values: np.ndarray) -> None:
        values = np.asarray(values)
        m = values.shape[0]
        self._reserve(self.n + m, tuple(values.shape[1:]))
        block = self._data[self.n : self.n + m]
        block[...] = self._fill
        block[(slice(None), *(slice(0, s) for s in values.shape[1:]))] = values
        self.n += m

    def truncate(self, n: int) -> None:
        self.n = max(0, min(n, self.n))

    @property
    def view(self) -> np.ndarray:
        return self._data[: self.n]


def _log10(a: np.ndarray) -> np.ndarray:
    """log10 of gradient norms (float64: they reach below float32's range), kept as float32."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(np.asarray(a, dtype=np.float64)).astype(np.float32)
    out[np.isneginf(out)] = LOG_FLOOR
    return out


@dataclass
class Event:
    """A point on the timeline: an edit (effective from ``step``) or a branch point."""

    step: int
    kind: str  # edit | branch | fork | run
    name: str
    old: object = None
    new: object = None

    @property
    def label(self) -> str:
        if self.kind == "edit":
            return f"{self.name} → {_fmt(self.new)}"
        return f"{self.kind} {self.name}"


def _fmt(v: object) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


class History:
    """Per-step arrays of one branch's timeline (index i is optimizer step i)."""

    SCALARS = ("loss", "metric", "grad_norm", "grad_norm_clipped", "clip_threshold", "lr", "step_time")

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.scalars = {name: Buffer() for name in self.SCALARS}
        self.parts: list[str] = []
        self.log_h: dict[str, Buffer] = {}  # part -> (N, L, T_part) log10 ||dL/dh_t||
        self.nonfinite: dict[int, str] = {}
        self.events: list[Event] = []
        self.metric_name = ""
        self._x = Buffer()
        self.revision = (
            getattr(self, "revision", 0) + 1
        )  # bumped on every change (views redraw when it moved)
        self._epoch = getattr(self, "_epoch", 0) + 1  # bumped when steps are removed (bin caches reset)
        self._bins: dict[tuple[int, int], list] = {}

    def __len__(self) -> int:
        return self._x.n

    @property
    def steps(self) -> np.ndarray:
        """(N,) float step numbers (x of every over-steps plot)."""
        return self._x.view

    def series(self, name: str) -> np.ndarray:
        return self.scalars[name].view

    # ------------------------------------------------------------ filling
    def append(self, rec: StepRecord) -> None:
        """One live record; it must be the next step (a gap or a repeat truncates first)."""
        if rec.step != len(self):
            self.truncate(rec.step)
        self._x.append(float(rec.step))
        values = {
            "loss": rec.loss,
            "metric": rec.metric,
            "grad_norm": rec.grad_norm,
            "grad_norm_clipped": rec.grad_norm_clipped,
            "clip_threshold": np.nan if rec.clip_threshold is None else rec.clip_threshold,
            "lr": rec.lr,
            "step_time": rec.step_time,
        }
        for name, v in values.items():
            self.scalars[name].append(v)
        self.metric_name = rec.metric_name
        if not self.parts:
            self.parts = list(rec.parts)
        for name, part in rec.parts.items():
            self.log_h.setdefault(name, Buffer((1, 1), np.float32)).append(_log10(part.h_grad_norm))
        if rec.nonfinite is not None:
            self.nonfinite[rec.step] = rec.nonfinite.describe()
        self.revision += 1

    def extend(self, records: Iterable[StepRecord]) -> None:
        for rec in records:
            self.append(rec)

    def load(self, summ: Summaries, events: Iterable[Event | TimelineEvent] = ()) -> None:
        """Replace everything with a session's summaries (and its timeline events)."""
        self.clear()
        n = len(summ)
        if n:
            self._x.extend(summ.step.astype(np.float64))
            for name in self.SCALARS:
                self.scalars[name].extend(getattr(summ, name))
            self.metric_name = summ.metric_name
            self.parts = list(summ.parts)
            for name, part in summ.parts.items():
                buf = Buffer((1, 1), np.float32)
                buf.extend(_log10(part.h_grad_norm))
                self.log_h[name] = buf
            for i, text in enumerate(summ.nonfinite):
                if text:
                    self.nonfinite[int(summ.step[i])] = f"non-finite value in {text}"
        self.events = [Event(e.step, e.kind, str(e.name), e.old, e.new) for e in events]
        self.revision += 1

    def add_event(self, event: Event) -> None:
        self.events.append(event)
        self.revision += 1

    def truncate(self, n: int) -> None:
        """Keep steps [0, n) (a rewind to step n)."""
        if n >= len(self):
            return
        self._x.truncate(n)
        self._epoch += 1
        for buf in (*self.scalars.values(), *self.log_h.values()):
            buf.truncate(n)
        self.nonfinite = {k: v for k, v in self.nonfinite.items() if k < n}
        self.events = [e for e in self.events if e.step <= n]
        self.revision += 1

    # ------------------------------------------------------------ reading
    @property
    def layers(self) -> int:
        return max((b.tail[0] for b in self.log_h.values() if b.n), default=1)

    def part_lengths(self) -> dict[str, int]:
        return {name: self.log_h[name].tail[1] for name in self.parts if name in self.log_h}

    def log10_h_grad(self, layer: int, max_columns: int = 1024) -> tuple[np.ndarray, int]:
        """(T_total, C) image of log10 ||dL/dh_t|| (rows t, columns step bins) and the bin size.

        Completed bins are cached, so a redraw costs O(new steps * T), not O(all steps * T)."""
        n = len(self)
        blocks = [self.log_h[p] for p in self.parts if p in self.log_h]
        if not n or not blocks:
            return np.full((1, 1), np.nan, np.float32), 1
        widths = tuple(buf.tail[1] for buf in blocks)
        b = bin_size(n, max_columns)
        key = (layer, max_columns)
        cache = self._bins.get(key)
        if cache is None or cache[0] != (self._epoch, b, widths):
            cache = [(self._epoch, b, widths), np.zeros((0, sum(widths)), np.float32)]
            self._bins[key] = cache
        done = cache[1]
        full = (n // b) * b
        if done.shape[0] * b < full:
            fresh = self._rows(blocks, layer, done.shape[0] * b, full)
            done = np.concatenate([done, bin_mean(fresh, b)], axis=0)
            cache[1] = done
        if full < n:
            partial = bin_mean(self._rows(blocks, layer, full, n), n - full)
            done = np.concatenate([done, partial], axis=0)
        return np.ascontiguousarray(done.T), b

    def log10_h_grad_rows(self, layer: int, stop: int | None = None) -> np.ndarray:
        """(N, T_total) log10 ||dL/dh_t|| of steps [0, stop), one row per step (no binning)."""
        n = len(self) if stop is None else max(0, min(stop, len(self)))
        blocks = [self.log_h[p] for p in self.parts if p in self.log_h]
        if not blocks:
            return np.zeros((n, 0), np.float32)
        return self._rows(blocks, layer, 0, n)

    @staticmethod
    def _rows(blocks: list[Buffer], layer: int, lo: int, hi: int) -> np.ndarray:
        pieces = [buf.view[lo:hi, min(layer, buf.tail[0] - 1), :] for buf in blocks]
        return np.concatenate(pieces, axis=1) if len(pieces) > 1 else pieces[0]


def bin_size(n: int, max_columns: int) -> int:
    """Steps per column: the smallest power of two that fits ``n`` steps in ``max_columns``."""
    b = 1
    while n > b * max_columns:
        b *= 2
    return b


def bin_rows(rows: np.ndarray, b: int) -> np.ndarray:
    """``bin_mean`` over groups of ``b`` rows, the last (partial) group included."""
    n = rows.shape[0]
    full = (n // b) * b
    cols = [bin_mean(rows[:full], b)] if full else []
    if full < n:
        cols.append(bin_mean(rows[full:], n - full))
    return np.concatenate(cols, axis=0)


def bin_mean(rows: np.ndarray, b: int) -> np.ndarray:
    """Mean over consecutive groups of ``b`` rows, ignoring NaN (all-NaN bins stay NaN)."""
    grouped = rows.reshape(-1, b, rows.shape[1])
    finite = np.isfinite(grouped)
    total = np.where(finite, grouped, 0.0).sum(axis=1)
    count = finite.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (total / count).astype(np.float32)
