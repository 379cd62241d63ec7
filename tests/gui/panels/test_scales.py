"""Colour scales that follow the data: whole decades at any magnitude, labelled ends, a signed
log scale for gradients, the user's dragged range kept until a double-click."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from rnnscope.gui.panels import colormaps, scales
from rnnscope.gui.panels.base import HeatmapPlot


def test_decade_levels_span_every_decade_of_the_data():
    gru_t500 = np.log10(np.geomspace(1e-49, 3e-3, 500))  # the audit's GRU on copy, T = 500
    assert scales.decade_levels(gru_t500) == (-49.0, -2.0)
    assert scales.decade_levels(np.log10(np.array([2e30, 5e35, np.inf, np.nan]))) == (30.0, 36.0)
    assert scales.decade_levels(np.array([-0.2, -0.1])) == (-1.0, 0.0)  # one decade at least
    assert scales.decade_levels(np.array([np.nan, -np.inf])) is None
    # kept while the data stay inside and use half of it; refitted when they leave or shrink
    assert scales.decade_levels(np.array([-7.5, -1.2]), (-8.0, 0.0)) == (-8.0, 0.0)
    assert scales.decade_levels(np.array([-9.5, -1.2]), (-8.0, 0.0)) == (-10.0, -1.0)
    assert scales.decade_levels(np.array([-2.5, -1.2]), (-8.0, 0.0)) == (-3.0, -1.0)


def test_signed_decades_and_the_signed_log_transform_against_float64():
    x = np.array([[1e-35, -3e-20], [2e-3, -4e-1], [0.0, np.nan]], np.float32)
    f, k = scales.signed_decades(x)
    assert (f, k) == (-35.0, 0.0)
    got = scales.signed_log(x, f)
    with np.errstate(divide="ignore"):
        ref = np.sign(x.astype(np.float64)) * np.maximum(np.log10(np.abs(x.astype(np.float64))) - f, 0)
    ok = ~np.isnan(x)
    np.testing.assert_allclose(
        got[ok], np.nan_to_num(ref[ok]), rtol=1e-6, atol=1e-5
    )  # float32 colour positions
    assert np.isnan(got[2, 1]) and got[2, 0] == 0.0  # NaN stays NaN, 0 is white
    assert scales.signed_log(np.array([-np.inf, np.inf]), -3.0).tolist() == [-np.inf, np.inf]
    huge = np.array([1e-44, 3e38], np.float32)  # float32's whole range: at most MAX_DECADES
    f, k = scales.signed_decades(huge)
    assert k == 39.0 and k - f == scales.MAX_DECADES


@pytest.mark.parametrize(
    ("kind", "levels", "ends"),
    [
        ("log10", (-49.0, -2.0), ("1e-49", "0.01")),
        ("log10", (30.0, 36.0), ("1e+30", "1e+36")),
        ("signed_log", (-15.0, -3.0), ("−0.001", "0.001")),
        ("linear", (-2e-3, 2e-3), ("−0.002", "0.002")),
        ("fixed", (0.0, 1.0), ("0", "1")),
    ],
)
def test_the_bar_labels_both_ends_in_the_values_themselves(kind, levels, ends):
    marks = scales.ticks(kind, levels)
    lo, hi = scales.bar_range(kind, levels)
    texts = dict(marks)
    assert texts[lo] == ends[0] and texts[hi] == ends[1]
    assert len(marks) <= 7
    assert any(t.startswith("−") for t in texts.values()) == (kind in ("signed_log", "linear"))


def test_dragging_a_signed_log_bar_moves_its_top_or_its_floor():
    levels = (-15.0, -3.0)  # bar at -12 .. 12
    assert scales.from_bar("signed_log", (-12.0, 12.0), levels) == levels
    assert scales.from_bar("signed_log", (-12.0, 8.0), levels) == (-15.0, -7.0)  # top end down
    assert scales.from_bar("signed_log", (-6.0, 12.0), levels) == (-9.0, -3.0)  # floor up
    assert scales.from_bar("log10", (-5.0, 0.0), (-8.0, 1.0)) == (-5.0, 0.0)


def test_a_heatmap_follows_its_data_until_the_user_drags_and_again_after_a_double_click(qtbot):
    glw = pg.GraphicsLayoutWidget()
    qtbot.addWidget(glw)
    glw.show()
    m = HeatmapPlot(
        glw.ci, 0, 0, title="dh", x_label="t", y_label="unit", colormap=colormaps.DIVERGING,
        levels=(-3.0, 0.0), scale="signed_log", interactive_bar=True,
    )  # fmt: skip
    grads = np.outer(np.geomspace(1e-15, 1e-3, 6), np.array([1.0, -1.0, 0.5])).astype(np.float32).T
    m.set_data(grads)
    assert m.levels == (-16.0, -2.0)  # |x| from 5e-16 to 1e-3: the decades around them
    np.testing.assert_allclose(m.image.image, scales.signed_log(grads, -16.0))
    assert tuple(m.bar.levels()) == (-14.0, 14.0)
    assert "1e-16" in m.bar.toolTip()
    hit = m.value_at(m.plot.vb.mapViewToScene(pg.QtCore.QPointF(5.5, 1.5)))
    assert hit is not None and hit[2] == pytest.approx(float(grads[1, 5]))  # the real value on hover
    m.bar.setLevels((-7.0, 14.0))  # drag the bottom end halfway to the middle: the floor rises
    m.bar.sigLevelsChangeFinished.emit(m.bar)
    assert m.levels == (-9.0, -2.0) and not m.auto
    m.set_data(grads * 1e-10)  # the next frames keep the user's range
    assert m.levels == (-9.0, -2.0)
    m.follow_data()  # a double-click on the bar
    assert m.auto and m.levels == (-26.0, -12.0)


def test_a_double_click_on_the_bar_follows_the_data_again(qtbot):
    from PySide6.QtCore import Qt

    glw = pg.GraphicsLayoutWidget()
    qtbot.addWidget(glw)
    glw.resize(400, 300)
    glw.show()
    qtbot.waitExposed(glw)
    m = HeatmapPlot(
        glw.ci, 0, 0, title="flow", x_label="step", y_label="t", colormap=colormaps.GRADIENT_FLOW,
        levels=(-8.0, 1.0), scale="log10", interactive_bar=True,
    )  # fmt: skip
    img = np.log10(np.geomspace(1e-40, 1e-2, 40)).reshape(8, 5).astype(np.float32)
    m.set_data(img)
    assert m.levels == (-40.0, -2.0)
    m.bar.setLevels((-10.0, -2.0))
    m.bar.sigLevelsChangeFinished.emit(m.bar)
    assert not m.auto and m.levels == (-10.0, -2.0)
    qtbot.wait(20)  # the layout places the bar
    centre = glw.mapFromScene(m.bar.vb.sceneBoundingRect().center())
    view, left = glw.viewport(), Qt.MouseButton.LeftButton
    qtbot.mousePress(view, left, pos=centre)  # what a real double-click delivers (QTest's
    qtbot.mouseRelease(view, left, pos=centre)  # mouseDClick alone sends no release, and
    qtbot.mouseDClick(view, left, pos=centre)  # pyqtgraph's scene reports clicks on release)
    qtbot.mouseRelease(view, left, pos=centre)
    qtbot.waitUntil(lambda: m.auto)
    assert m.levels == (-40.0, -2.0)
