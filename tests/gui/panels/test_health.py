"""The Health panel's shown-step plots: per-gate singular values for gated cells, the line at 1
for the tanh RNN only, every layer and part selectable, the gain's product; loss axes that turn
log when the loss spans decades; NaN/Inf steps as a band that does not cover the curve."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from rnnscope.engine import TrainConfig
from rnnscope.engine.record import GATE_NAMES
from rnnscope.gui.panels.base import title_text
from rnnscope.gui.panels.health import log10_text, log_product
from rnnscope.gui.panels.ranges import AutoLogRange

T = 30_000


def _train(window, qtbot, cfg: TrainConfig | None = None, steps: int = 2):
    c = window.controller
    if cfg is not None:
        c.files.new_run(cfg)
        qtbot.waitUntil(lambda: c.mode == "live" and c.config == cfg, timeout=T)
    c.run_until(steps)
    qtbot.waitUntil(lambda: c.steps >= steps and not c.playing, timeout=T)
    qtbot.waitUntil(
        lambda: c.record is not None and c.record.step == steps - 1 and c.record.has_frame, timeout=T
    )
    health = window.panels["health"]
    health.refresh()
    return c, health


def test_gated_cells_show_each_gate_blocks_singular_values_without_the_line_at_one(window, qtbot):
    c, health = _train(window, qtbot)
    rec = c.record.parts["rnn"]
    assert rec.whh_block_singular_values.shape == (1, 4, 8)
    shown = [cv for cv in health.sv_curves if cv.yData is not None and len(cv.yData)]
    assert len(shown) == 4  # i, f, g, o
    for k, curve in enumerate(shown):
        np.testing.assert_array_equal(curve.yData, rec.whh_block_singular_values[0, k])
    assert not health.sv_one.isVisible()
    assert "per gate" in title_text(health.sv_plot) and all(g in title_text(health.sv_plot) for g in "ifgo")
    assert "the gain on the right" in health.sv_plot.toolTip()

    rnn = TrainConfig(cell="rnn", task="copy", hidden_size=8, seq_len=10, delay=3, batch_size=4, device="cpu")
    c, health = _train(window, qtbot, rnn)
    shown = [cv for cv in health.sv_curves if cv.yData is not None and len(cv.yData)]
    assert len(shown) == 1
    np.testing.assert_array_equal(shown[0].yData, c.record.whh_singular_values[0])
    assert health.sv_one.isVisible()  # > 1 explodes, < 1 vanishes: said for the tanh RNN only
    assert "explode" in title_text(health.sv_plot)


def test_every_layer_and_part_of_a_seq2seq_model_is_selectable(window, qtbot):
    cfg = TrainConfig(
        cell="lstm", decoder_cell="gru", task="reverse", layers=2, hidden_size=8, seq_len=6, batch_size=4,
        device="cpu",
    )  # fmt: skip
    c, health = _train(window, qtbot, cfg)
    items = [health.where.itemText(i) for i in range(health.where.count())]
    assert items == ["encoder layer 0", "encoder layer 1", "decoder layer 0", "decoder layer 1"]
    for i, (part, layer) in enumerate([("encoder", 0), ("encoder", 1), ("decoder", 0), ("decoder", 1)]):
        health.where.setCurrentIndex(i)
        p = c.record.parts[part]
        np.testing.assert_array_equal(health.jac.yData, p.jacobian_norm[layer])
        gates = GATE_NAMES[p.cell_type]
        shown = [cv for cv in health.sv_curves if cv.yData is not None and len(cv.yData)]
        assert len(shown) == len(gates)
        np.testing.assert_array_equal(shown[-1].yData, p.whh_block_singular_values[layer, -1])
        lstm = p.cell_type == "lstm"
        assert ("cₜ" in title_text(health.jac_plot)) == lstm
        want = float(np.prod(p.jacobian_norm[layer][1:].astype(np.float64)))  # the reference product
        assert health.product == log10_text(np.log10(want))
        n = p.jacobian_norm.shape[1] - 1
        assert f"∏ gain (t = 1…{n}) = {health.product}" in health.info.text()
        assert f"{part} layer {layer}" in health.info.text()


def test_the_product_of_gains_is_written_even_beyond_float_range():
    gains = np.full(501, 0.5, np.float32)  # 0.5^500 = 3.05e-151: a float32 product would be 0
    lp = log_product(gains[1:])
    assert lp is not None and abs(lp - 500 * np.log10(0.5)) < 1e-9
    assert log10_text(lp) == "3.05e-151"
    assert log10_text(np.log10(2.5e40)) == "2.50e+40"
    assert log10_text(np.log10(0.25)) == "0.25"
    assert log_product(np.array([np.nan, 0.0])) is None


def test_loss_axis_turns_log_once_the_loss_spans_more_than_three_decades(qtbot):
    glw = pg.GraphicsLayoutWidget()
    qtbot.addWidget(glw)
    plot = glw.ci.addPlot()
    r = AutoLogRange(plot)
    r.update(np.array([2.3, 1.1, 0.4]))
    assert not r.log and not plot.ctrl.logYCheck.isChecked()
    lo, hi = plot.vb.viewRange()[1]
    assert lo >= -0.05 * hi  # a loss never shows a (real) negative range
    r.update(np.array([2.3, 1.1, 4e4, 8e34, np.inf]))  # the exploding demo's loss
    assert r.log and plot.ctrl.logYCheck.isChecked()
    lo, hi = plot.vb.viewRange()[1]
    assert lo <= np.log10(1.1) and hi >= 34  # whole decades, in log10 units
    r.update(np.array([2.3, 1.1]))
    assert r.log  # stays log: no flipping back and forth
    r.reset()
    assert not r.log and not plot.ctrl.logYCheck.isChecked()
    r.update(np.array([0.5, -3.0, 1e5]))  # an R² metric can go negative: keeps a linear axis
    assert not r.log


def test_nonfinite_steps_are_bands_along_the_top(window, qtbot):
    _c, health = _train(window, qtbot)
    health._draw_nonfinite([3, 4, 5, 9])
    bands = [b for b in health.nan_bands if b.isVisible()]
    assert [b.getRegion() for b in bands] == [(2.5, 5.5), (8.5, 9.5)]
    assert all(b.span == (0.93, 1.0) for b in bands)  # a band at the top, never over the whole plot
    assert "first: step 3" in health.loss_plot.toolTip()
    health._draw_nonfinite(list(range(0, 400, 2)))  # 200 separate steps: merged into a few bands
    bands = [b for b in health.nan_bands if b.isVisible()]
    assert len(bands) == health.MAX_BANDS
    assert bands[0].getRegion()[0] == -0.5 and bands[-1].getRegion()[1] == 398.5
    health._draw_nonfinite([*range(0, 40_000, 2), 50_000])  # 20,001 runs: the widest gap stays one
    bands = [b for b in health.nan_bands if b.isVisible()]
    assert len(bands) == health.MAX_BANDS and bands[-1].getRegion() == (49_999.5, 50_000.5)
    health._draw_nonfinite([])
    assert not any(b.isVisible() for b in health.nan_bands)
