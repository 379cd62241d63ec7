"""Redraw shortcuts of the panels: each one skips work and leaves what the user sees unchanged.

(How much time they save is measured by benchmarks/bench_gui.py, never asserted here.)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from rnnscope.gui.panels import colormaps
from rnnscope.gui.panels.base import (
    FAST_FORMAT,
    TITLE_SIZE,
    FastImageItem,
    HeatmapPlot,
    add_plot,
    block_mean,
    set_title,
)
from rnnscope.gui.panels.ranges import StableRange
from rnnscope.gui.panels.tokens import TokenGrid, TokenRow

T = 30_000  # ms


def _pixels(image) -> np.ndarray:
    image = image.convertToFormat(FAST_FORMAT)
    rows = [
        np.frombuffer(image.constScanLine(y), np.uint32, count=image.width()) for y in range(image.height())
    ]
    return np.array(rows)


def _calls(obj, name: str) -> list:
    """Record every call of ``obj.name`` (an instance attribute that shadows the method)."""
    seen: list = []
    original = getattr(obj, name)

    def spy(*args, **kwargs):
        seen.append(args)
        return original(*args, **kwargs)

    setattr(obj, name, spy)
    return seen


def _settle() -> None:
    for _ in range(3):  # layout requests, then the paints they cause
        QApplication.processEvents()


def _shown_layout(qtbot, size=(420, 330)) -> pg.GraphicsLayoutWidget:
    w = pg.GraphicsLayoutWidget()
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    return w


# ---------------------------------------------------------------- heatmap images
@pytest.mark.parametrize("name", [colormaps.SEQUENTIAL, colormaps.DIVERGING, colormaps.GRADIENT_FLOW])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_image_paints_pyqtgraphs_colours(qtbot, name, dtype):
    """The numpy lookup gives the very pixels pyqtgraph's own rendering gives, NaN transparent."""
    rng = np.random.default_rng(0)
    for levels in ((0.0, 1.0), (-1.0, 1.0), (-8.0, 1.0), (-2e-3, 2e-3), (0.5, 0.5)):
        data = (rng.standard_normal((23, 37)) * (levels[1] - levels[0] + 1e-3) + levels[0]).astype(dtype).T
        data[0, 0], data[1, 1] = np.inf, -np.inf  # (37, 23), a transposed view as the panels pass
        for nan in (False, True):
            if nan:
                data[3, 4] = np.nan
            for image in (data, np.ascontiguousarray(data)):
                ref, fast = pg.ImageItem(), FastImageItem()
                for item in (ref, fast):
                    item.setColorMap(colormaps.cmap(name))
                    item.setImage(image, autoLevels=False, levels=levels)
                    item.render()
                assert fast.qimage.format() == FAST_FORMAT
                np.testing.assert_array_equal(_pixels(fast.qimage), _pixels(ref.qimage))
                if nan:
                    assert _pixels(fast.qimage)[3, 4] == 0  # transparent


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads thread names from /proc")
def test_painting_starts_no_qt_thread_pool(qtbot):
    """Qt's raster engine would hand big fills to its GUI thread pool and wait for them;
    importing the panels switches that pool off, so the GUI thread fills alone."""
    assert os.environ.get("QT_NO_GUI_THREADPOOL")
    w = _shown_layout(qtbot, (1200, 900))
    plot = w.addPlot()
    image = FastImageItem()
    plot.addItem(image)
    image.setImage(np.random.rand(256, 100).astype(np.float32), autoLevels=False, levels=(0, 1))
    _settle()
    names = [p.read_text().strip() for p in Path("/proc/self/task").glob("*/comm")]
    assert not [n for n in names if "pooled" in n]


def test_block_mean_is_pyqtgraphs_downsample():
    rng = np.random.default_rng(1)
    for shape in ((256, 100), (100, 800), (37, 23)):
        a = rng.standard_normal(shape).astype(np.float32)
        a[2, 3] = np.nan
        for image in (a, np.ascontiguousarray(a.T).T):  # C-ordered, and a transposed view
            for rows in (1, 2, 3, 5):
                for cols in (1, 2, 4):
                    ref = pg.functions.downsample(pg.functions.downsample(image, cols, axis=1), rows, axis=0)
                    got = block_mean(image, rows, cols)
                    assert got.shape == ref.shape and got.dtype == ref.dtype
                    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)  # NaN where pyqtgraph's is


def test_downsample_factors_are_pyqtgraphs(qtbot):
    w = _shown_layout(qtbot)
    plot = w.addPlot()
    image = FastImageItem(autoDownsample=True)
    plot.addItem(image)
    image.setImage(np.random.rand(1000, 600).astype(np.float32), autoLevels=False, levels=(0, 1))
    for size in ((420, 330), (200, 150), (900, 700)):
        w.resize(*size)
        plot.vb.setRange(xRange=(0, 600), yRange=(0, 1000), padding=0)
        QApplication.processEvents()
        assert image._computeDownsampleFactors() == pg.ImageItem._computeDownsampleFactors(image)
    assert image._computeDownsampleFactors() != (1, 1) or min(w.width(), w.height()) > 600


# ---------------------------------------------------------------- colour bars and titles
def _heatmap(w: pg.GraphicsLayoutWidget) -> HeatmapPlot:
    """A heatmap with a symmetric scale, as the States panel's cell state."""
    return HeatmapPlot(
        w.ci, 0, 0, title="c", x_label="t", y_label="unit", colormap=colormaps.DIVERGING, levels=(-1, 1),
        scale="linear",
    )  # fmt: skip


def test_colour_bar_is_left_alone_while_its_levels_stay(qtbot):
    w = _shown_layout(qtbot)
    m = _heatmap(w)
    set_levels = _calls(m.bar, "setLevels")
    for _ in range(3):
        m.set_data(np.random.rand(8, 10).astype(np.float32), levels=(-2.0, 2.0))
    assert len(set_levels) == 1 and m.bar.levels() == (-2.0, 2.0)


def test_colour_bar_reuses_the_axis_it_drew_for_levels_seen_before(qtbot):
    """A symmetric scale that moves back to 2e-3 shows the tick labels drawn for 2e-3 before,
    without laying them out again."""
    w = _shown_layout(qtbot)
    m = _heatmap(w)
    QApplication.processEvents()
    drawn = _calls(m.bar.axis, "generateDrawSpecs")
    data = np.random.rand(8, 10).astype(np.float32) * 1e-3
    for levels in ((-2e-3, 2e-3), (-5e-3, 5e-3), (-2e-3, 2e-3), (-5e-3, 5e-3)):
        m.set_data(data, levels=levels)
        QApplication.processEvents()
        assert m.bar.levels() == levels and tuple(m.bar.axis.range) == levels
    assert len(drawn) == 2  # the first visit of each scale only
    # what is on screen is what a fresh colour bar draws for those levels
    fresh = _shown_layout(qtbot)
    f = _heatmap(fresh)
    f.set_data(data, levels=(-5e-3, 5e-3))
    _settle()
    assert w.grab().toImage() == fresh.grab().toImage()


def test_a_new_title_of_the_same_height_keeps_the_plot_layout(qtbot):
    a, b = _shown_layout(qtbot), _shown_layout(qtbot)
    pa, pb = add_plot(a.ci, 0, 0, "cₜ cell state"), add_plot(b.ci, 0, 0, "cₜ cell state")
    _settle()
    assert pa.layout.isActivated()
    set_title(pa, "cₜ cell state  (±2e-03)")
    assert pa.titleLabel.text == "cₜ cell state  (±2e-03)"
    assert pa.layout.isActivated()  # not invalidated: nothing to lay out again
    pb.setTitle("cₜ cell state  (±2e-03)", size=TITLE_SIZE)  # pyqtgraph's way, with relayouts
    _settle()
    assert a.grab().toImage() == b.grab().toImage()


def test_stable_range_leaves_an_unchanged_range_alone(qtbot):
    w = _shown_layout(qtbot)
    plot = w.addPlot()
    plot.setLogMode(y=True)
    r = StableRange(plot.vb, "y", log=True, axis_item=plot.getAxis("left"))
    r.update(np.array([0.3, 0.5]))  # a gradient norm around 0.4: one decade, 0.1 .. 1
    assert r.range == (-1.0, 0.0)
    set_range, set_ticks = _calls(plot.vb, "setYRange"), _calls(plot.getAxis("left"), "setTicks")
    for _ in range(3):  # narrow data in a range it does not fill: rounding out gives it again
        r.update(np.array([0.31, 0.49]))
    assert r.range == (-1.0, 0.0) and not set_range and not set_ticks
    r.update(np.array([0.3, 5.0]))  # grew out of it: a new range
    assert r.range[1] > 0.0 and len(set_range) == 1 and len(set_ticks) == 1


# ---------------------------------------------------------------- panels
def test_a_frame_already_shown_is_not_uploaded_again(window, qtbot):
    c = window.controller
    c.run_until(2)
    qtbot.waitUntil(lambda: c.steps >= 2 and not c.playing and c.record is not None, timeout=T)
    gates, states = window.panels["gates"], window.panels["states"]
    uploads = [_calls(m.image, "setImage") for m in (*gates.maps.values(), *states.maps.values())]
    shown = [m.data for m in gates.maps.values()]
    c.record_changed.emit(c.record)  # the same record again (a seek to the shown step)
    assert not any(uploads)
    assert all(m.data is d for m, d in zip(gates.maps.values(), shown, strict=True))
    c.step()
    qtbot.waitUntil(lambda: c.record is not None and c.record.step == 2, timeout=T)
    new_data = [[a for a in u if a and isinstance(a[0], np.ndarray)] for u in uploads]
    assert [len(u) for u in new_data] == [1] * len(uploads)  # a new frame: every heatmap once
    np.testing.assert_array_equal(gates.maps["f"].data, c.record.gates["f"][0].T)


def test_health_leaves_empty_marks_and_an_unused_threshold_alone(window, qtbot):
    """Without NaN steps and with clipping off all along, the NaN marks and the threshold curve
    stay empty without being set again each step; the other curves follow every step."""
    c = window.controller
    assert not c.config.clip
    c.run_until(2)
    qtbot.waitUntil(lambda: c.steps >= 2 and not c.playing, timeout=T)
    health = window.panels["health"]
    qtbot.waitUntil(lambda: len(health.loss.xData) == 2, timeout=T)
    marks, threshold = _calls(health, "_draw_nonfinite_bands"), _calls(health.threshold, "setData")
    c.step()
    qtbot.waitUntil(lambda: health.loss.xData is not None and len(health.loss.xData) == 3, timeout=T)
    assert not marks and not threshold
    assert not any(b.isVisible() for b in health.nan_bands)
    y = health.threshold.yData
    assert y is None or not np.isfinite(y).any()  # nothing drawn, as before
    assert c.edit("clip", True) is None  # clipping on: the threshold line appears
    qtbot.waitUntil(lambda: c.config.clip, timeout=T)
    c.step(2)
    qtbot.waitUntil(lambda: health.loss.xData is not None and len(health.loss.xData) == 5, timeout=T)
    qtbot.waitUntil(lambda: np.isfinite(health.threshold.yData).any(), timeout=T)


def test_token_grid_follows_its_font(qtbot):
    grid = TokenGrid()
    qtbot.addWidget(grid)
    rows = [TokenRow("input", ["a", "bb", "ccc"]), TokenRow("target", ["x", "y", "z"])]
    grid.set_rows(rows, 0)
    small = grid._cell_w, grid.size()
    grid.set_rows(rows, 1)  # the same shape: the same size
    assert (grid._cell_w, grid.size()) == small
    grid.setFont(QFont("monospace", 20))
    grid.set_rows(rows, 1)
    assert grid._cell_w > small[0] and grid.width() > small[1].width()
