"""Colour maps and fixed value ranges of every heatmap (one place, so panels agree).

- sigmoid gates (i, f, o, r, z) and tanh' live in [0, 1]: sequential (viridis)
- tanh gates (g, n) and h_t live in [-1, 1]: diverging, white at 0
- c_t and per-unit gradients: diverging, symmetric range picked per frame
- log10 ||dL/dh_t|| over training: sequential (inferno), fixed range
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

SEQUENTIAL = "viridis"
DIVERGING = "CET-D1A"  # blue - white - red
GRADIENT_FLOW = "inferno"
GRADIENT_FLOW_LEVELS = (-8.0, 1.0)  # log10 of ||dL/dh_t||

UNIT_LEVELS = (0.0, 1.0)
SIGNED_LEVELS = (-1.0, 1.0)

# curve colours (colour-blind safe, Okabe-Ito)
ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILION, PURPLE, GREY = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#999999",
)
# one colour per gate, the same in every plot that draws gates as curves
GATE_COLOURS = {"i": ORANGE, "f": SKY, "g": GREEN, "o": PURPLE, "r": ORANGE, "z": SKY, "n": GREEN}
CURSOR = "#F0E442"
EDIT = "#E69F00"
NAN_MARK = "#FF3030"

_cache: dict[str, pg.ColorMap] = {}


def cmap(name: str) -> pg.ColorMap:
    if name not in _cache:
        _cache[name] = pg.colormap.get(name)
    return _cache[name]


def nice_symmetric(a: np.ndarray | None, floor: float = 1e-6) -> tuple[float, float]:
    """A symmetric range (-m, m) that covers ``a``; m is rounded up to 1, 2 or 5 x 10^k so the
    colour scale does not flicker from frame to frame."""
    if a is None or a.size == 0:
        return (-1.0, 1.0)
    finite = a[np.isfinite(a)]  # one inf (an exploding run) must not flatten every other value
    m = float(np.abs(finite).max()) if finite.size else 1.0
    if m < floor:
        m = floor
    k = math.floor(math.log10(m))
    for step in (1.0, 2.0, 5.0, 10.0):
        if m <= step * 10**k:
            m = step * 10**k
            break
    return (-m, m)
