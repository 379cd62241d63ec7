"""StableRange: axis ranges that move in nice steps, only when the data leaves them.

pyqtgraph's auto-range follows every new point, so an over-steps plot rescales (and
re-lays out its axis text, ~2 ms an axis) on every step. Here the range is rounded out
to 1/2/5 x 10^k (decades on log axes) and kept until the data leaves it or shrinks to a
small part of it, so most frames repaint only the data.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from rnnscope.gui.panels.scales import decade_text


def nice_ceil(x: float, mantissas: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0)) -> float:
    if x <= 0 or not math.isfinite(x):
        return 1.0
    k = math.floor(math.log10(x))
    for m in mantissas:
        if x <= m * 10**k * (1 + 1e-9):
            return m * 10**k
    return 10.0 ** (k + 1)


class StableRange:
    """Manages one axis of a ViewBox (x or y). ``log``: the axis is in log10 mode."""

    def __init__(
        self,
        vb: pg.ViewBox,
        axis: str,
        *,
        log: bool = False,
        from_zero: bool = False,
        axis_item: pg.AxisItem | None = None,
    ) -> None:
        self.vb = vb
        self.axis_item = axis_item  # log axes: gets decade ticks when the range changes
        self.axis = axis
        self.log = log
        self.from_zero = from_zero
        self.range: tuple[float, float] | None = None
        vb.disableAutoRange(axis=pg.ViewBox.XAxis if axis == "x" else pg.ViewBox.YAxis)

    def reset(self) -> None:
        self.range = None

    def update(self, data: np.ndarray | float, hi: float | None = None) -> None:
        """Cover ``data`` (an array; or lo and ``hi``)."""
        if hi is None:
            a = np.asarray(data, dtype=np.float64)
            a = a[np.isfinite(a)]
            if self.log:
                a = a[a > 0]
            if a.size == 0:
                return
            lo, hi = float(a.min()), float(a.max())
        else:
            lo = float(data)
        if self.log:  # whole decades, in log10 units as the log-mode view uses
            lo, hi = math.log10(lo), math.log10(hi)
            step = 1.0
        else:
            if self.from_zero:
                lo = min(lo, 0.0)
            span = hi - lo
            step = nice_ceil(span / 4) if span > 0 else nice_ceil(abs(hi) / 4 or 1.0)
        cur = self.range
        if cur is not None and cur[0] <= lo and hi <= cur[1] and (hi - lo) >= 0.3 * (cur[1] - cur[0]):
            return
        # round out, with one step of room on each side that grows, so a trend does not
        # trigger a rescale on every step
        new_lo = math.floor(lo / step) * step
        new_hi = math.ceil(hi / step) * step
        if not (self.from_zero and not self.log and lo >= 0):
            new_lo -= step if cur is not None and lo < cur[0] else 0.0
        new_hi += step if cur is not None and hi > cur[1] else 0.0
        lo, hi = new_lo, new_hi if new_hi > new_lo else new_lo + step
        if (lo, hi) == cur:  # the data shrank inside the range, but rounding gives it back:
            return  # the same ticks again would only re-lay out the axis text
        self.range = (lo, hi)
        if self.log and self.axis_item is not None:
            decade_ticks(self.axis_item, lo, hi)
        if self.axis == "x":
            self.vb.setXRange(lo, hi, padding=0.02)
        else:
            self.vb.setYRange(lo, hi, padding=0.02)


def _mantissa_text(m: int, k: int) -> str:
    return f"{m * 10.0**k:g}" if -3 <= k <= 3 else f"{m}e{k}"


def decade_ticks(axis: pg.AxisItem, lo: float, hi: float) -> None:
    """Log axis ticks for [lo, hi] (log10 units): labelled decades, unlabelled 2..9 x 10^k.
    (pyqtgraph labels every minor tick when the range spans fewer than ~3 decades.)"""
    k0, k1 = math.floor(lo), math.ceil(hi)
    every = max(1, math.ceil((k1 - k0) / 5))  # at most ~6 labels
    major = [
        (float(k), decade_text(k) if k % every == 0 else "")
        for k in range(k0, k1 + 1)
        if lo - 1e-9 <= k <= hi + 1e-9
    ]
    few = k1 - k0 <= 2  # a decade or two: 2 and 5 x 10^k are labelled too, or one label is all
    minor = [  # beyond six decades the 2..9 marks only blur the axis into a solid bar
        (k + math.log10(m), _mantissa_text(m, k) if few and m in (2, 5) else "")
        for k in range(k0, k1)
        for m in range(2, 10)
        if lo <= k + math.log10(m) <= hi and k1 - k0 <= 6
    ]
    axis.setTicks([major, minor])


class StepAxisRange(StableRange):
    """The x axis of an over-steps plot: 0 .. a nice number above the step count."""

    def __init__(self, vb: pg.ViewBox) -> None:
        super().__init__(vb, "x")

    def update_steps(self, n: int) -> None:
        hi = nice_ceil(max(n, 10), (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0))
        if self.range is None or self.range[1] != hi:
            self.range = (0.0, hi)
            self.vb.setXRange(0, hi, padding=0.01)


class AutoLogRange:
    """The y axis of an over-steps plot of a non-negative quantity (loss, perplexity ...):
    linear from 0 while the data span a few decades; a log axis, in whole decades, once the
    finite positive values span more than ``decades`` (an exploding loss runs to 1e34, and on
    a linear axis everything before the explosion is one flat line). It stays log until
    ``reset`` (a new run), so the axis does not flip back and forth. Data that go negative
    (an R² metric) keep the linear axis."""

    def __init__(self, plot: pg.PlotItem, decades: float = 3.0) -> None:
        self.plot = plot
        self.decades = decades
        self.log = False
        self.linear = StableRange(plot.vb, "y", from_zero=True)
        self.logr = StableRange(plot.vb, "y", log=True, axis_item=plot.getAxis("left"))

    def reset(self) -> None:
        self.linear.reset()
        self.logr.reset()
        if self.log:
            self.log = False
            self.plot.setLogMode(x=False, y=False)
            self.plot.getAxis("left").setTicks(None)

    def update(self, data: np.ndarray) -> None:
        a = np.asarray(data, dtype=np.float64)
        a = a[np.isfinite(a)]
        if not self.log and a.size and a.min() >= 0:
            pos = a[a > 0]
            if pos.size and pos.max() > pos.min() * 10.0**self.decades:
                self.log = True
                self.plot.setLogMode(x=False, y=True)
        (self.logr if self.log else self.linear).update(a)
