"""Colour scales of the heatmaps that follow their data (numpy only; HeatmapPlot draws them).

Three kinds besides a fixed range (gates 0..1, h_t -1..1):

- ``linear``: a symmetric range (-m, m), m rounded up to 1, 2 or 5 x 10^k (c_t). Levels
  are the displayed values themselves.
- ``log10``: the image holds log10 of a magnitude (the gradient-flow map of ||dL/dh_t||).
  Levels are whole decades (lo, hi) covering the finite values shown, however many decades
  they span (a GRU on copy with T = 500 spans 45), never fewer than one.
- ``signed_log``: a signed quantity spanning many decades (the per-unit gradients dL/dh_t,
  dL/dc_t: 1e-3 at the last step, 1e-15 fifty steps back). Shown as
  sign(x) * (log10|x| - f), 0 where |x| <= 10^f, on a diverging map; its levels are the
  decades (f, k): the floor f and the top k, whole numbers, at most MAX_DECADES apart. The
  colour bar runs -(k - f) .. (k - f) and is labelled in the values themselves (-1e-3 ...
  0 ... 1e-3). Levels of any kind combine by union (min, max), so two heatmaps that must
  share a scale (the compare view) take the union of what each asks for.
"""

from __future__ import annotations

import math

import numpy as np

Levels = tuple[float, float]
MAX_DECADES = 48  # float32 values reach 1e-45 (subnormal) .. 3e38: a window this wide holds them
SHRINK = 0.5  # a data-following scale narrows only when the data use less than this of it


def _finite(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return a[np.isfinite(a)]


def decade_levels(log10_image: np.ndarray, current: Levels | None = None) -> Levels | None:
    """Whole decades (lo, hi) covering the finite values of a log10 image; ``current`` is kept
    while the data stay inside it and use at least half of it (no flicker from step to step).
    None when nothing is finite."""
    v = _finite(log10_image)
    if not v.size:
        return None
    lo, hi = math.floor(float(v.min())), math.ceil(float(v.max()))
    if hi <= lo:
        hi = lo + 1
    if current is not None:
        c_lo, c_hi = current
        if c_lo <= lo and hi <= c_hi and (hi - lo) >= SHRINK * (c_hi - c_lo):
            return current
    return (float(lo), float(hi))


def signed_decades(values: np.ndarray, current: Levels | None = None) -> Levels | None:
    """The (floor, top) decades of a signed image: top = the decade above max |x|, floor = the
    decade of the smallest non-zero |x|, at most MAX_DECADES below the top. None when no value
    is finite and non-zero."""
    v = np.abs(_finite(values)).astype(np.float64)
    v = v[v > 0]
    if not v.size:
        return None
    top = math.ceil(math.log10(float(v.max())))
    floor = max(math.floor(math.log10(float(v.min()))), top - MAX_DECADES)
    if top <= floor:
        floor = top - 1
    if current is not None:
        c_f, c_k = current
        if c_f <= floor and top <= c_k and (top - floor) >= SHRINK * (c_k - c_f):
            return current
    return (float(floor), float(top))


def signed_log(values: np.ndarray, floor: float) -> np.ndarray:
    """sign(x) * max(0, log10|x| - floor) as float32; NaN stays NaN, +-inf goes to +-inf.
    (float32 arithmetic: a colour position needs no more, and it is twice as fast.)"""
    x = np.asarray(values, dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.log10(np.abs(x))
    mag -= np.float32(floor)
    np.maximum(mag, 0.0, out=mag)  # NaN stays NaN
    mag *= np.sign(x)
    return mag


def decade_text(k: float) -> str:
    """10^k as a short label: 0.001, 1, 100, 1e-42, 1e+30."""
    k = round(k)
    if -3 <= k <= 3:
        return f"{10.0**k:g}"
    return f"1e{k:+d}" if k > 0 else f"1e{k}"


def _decade_marks(lo: int, hi: int, most: int = 6) -> list[int]:
    """Whole decades lo..hi to label: both ends and an even spread between them."""
    every = max(1, math.ceil((hi - lo) / (most - 1)))
    marks = list(range(lo, hi + 1, every))
    if marks[-1] != hi:
        if hi - marks[-1] < every / 2 and len(marks) > 1:
            marks[-1] = hi
        else:
            marks.append(hi)
    return marks


def ticks(kind: str, levels: Levels) -> list[tuple[float, str]]:
    """Colour-bar ticks (position on the bar, text) for ``levels`` of a scale of this kind; the
    two ends are always labelled, so the bar says the range it shows."""
    if kind == "log10":
        first, last = round(levels[0]), round(levels[1])
        return [(float(k), decade_text(k)) for k in _decade_marks(first, last)]
    if kind == "signed_log":
        f, k = round(levels[0]), round(levels[1])
        span = k - f
        marks = _decade_marks(f, k, most=3)  # each side: the floor, the top, one between
        out = [(0.0, "0")]
        for d in marks:
            if d != f:
                out += [(float(d - f), decade_text(d)), (float(f - d), "−" + decade_text(d))]
        return sorted(out) if span > 0 else out
    lo, hi = levels
    if lo == -hi:  # a symmetric linear range: its ends, its middle, halfway between
        m = hi
        return [(v, _num(v)) for v in (-m, -m / 2, 0.0, m / 2, m)]
    return [(v, _num(v)) for v in np.linspace(lo, hi, 5).tolist()]


def _num(v: float) -> str:
    if v == 0:
        return "0"
    text = f"{v:.3g}"
    return text.replace("-", "−")


def bar_range(kind: str, levels: Levels) -> Levels:
    """Where the colour bar's ends are, for these levels (signed_log: -(k-f) .. k-f)."""
    if kind == "signed_log":
        span = levels[1] - levels[0]
        return (-span, span)
    return levels


def from_bar(kind: str, bar: Levels, levels: Levels) -> Levels:
    """The levels a dragged colour bar (its ends now at ``bar``) means, for a scale now at
    ``levels``. signed_log: the top end sets the top decade, the bottom end's distance from
    the middle the floor (drag it towards the middle and the floor rises); moving the whole
    bar shifts both."""
    if kind != "signed_log":
        return (float(bar[0]), float(bar[1]))
    f, k = levels
    a, b = bar
    top = f + max(b, 0.0)
    floor = f + ((k - f) - abs(min(a, 0.0)))
    top, floor = float(round(top)), float(round(floor))
    if top <= floor:
        top = floor + 1.0
    return (floor, top)


def describe(kind: str, levels: Levels) -> str:
    """The range in words, for a colour bar's tooltip."""
    if kind == "log10":
        return f"{decade_text(levels[0])} … {decade_text(levels[1])} ({levels[1] - levels[0]:g} decades)"
    if kind == "signed_log":
        f, k = levels
        return (
            f"−{decade_text(k)} … {decade_text(k)}; |values| ≤ {decade_text(f)} are white "
            f"({k - f:g} decades each side)"
        )
    return f"{_num(levels[0])} … {_num(levels[1])}"
