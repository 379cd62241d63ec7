"""Every step view is built alone on a fake model (no window, no training thread, no
RunController): the registry's ``make`` and the PanelModel protocol are all a panel needs."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from fake_model import FakeModel

from rnnscope.engine import TrainConfig
from rnnscope.gui.compare.window import heatmaps
from rnnscope.gui.panels import DOCKS, DockContext
from rnnscope.gui.shell.cursor import TimeCursor

CFG = TrainConfig(cell="lstm", task="copy", hidden_size=8, seq_len=10, delay=3, batch_size=4, device="cpu")
STEP_VIEWS = [d for d in DOCKS if d.compares]


def test_the_step_views_are_the_registrys() -> None:
    assert [d.name for d in STEP_VIEWS] == ["gradient_flow", "gates", "health", "states", "sample"]


@pytest.mark.parametrize("dock", STEP_VIEWS, ids=lambda d: d.name)
def test_a_step_view_draws_a_record_on_a_fake_model(dock, qtbot) -> None:
    threads = threading.active_count()
    model = FakeModel(CFG)
    panel = dock.make(DockContext(model, TimeCursor()))
    qtbot.addWidget(panel)
    panel.resize(700, 500)
    panel.show()
    records = model.train(3)
    panel.refresh()
    rec = records[-1]
    assert threading.active_count() == threads  # nothing trains behind the panel
    maps = {k: m for k, m in heatmaps(panel).items() if m.data is not None}
    if dock.name == "gates":
        assert set(maps) == {"i", "f", "g", "o"}
        for g, m in maps.items():
            gate = rec.gates[g][0]  # (T, H) of layer 0
            assert m.data.shape in (gate.shape, gate.T.shape)
            assert np.array_equal(m.data, gate) or np.array_equal(m.data, gate.T)
    elif dock.name == "states":
        assert set(maps) == {"h", "c", "dh", "dc"}
        h = rec.hidden[0]
        assert np.array_equal(maps["h"].data, h) or np.array_equal(maps["h"].data, h.T)
    elif dock.name == "gradient_flow":
        (heat,) = maps.values()
        assert 3 in heat.data.shape  # the three steps, over the timesteps
    elif dock.name == "health":
        curves = [c for c in panel.sv_curves if c.yData is not None and len(c.yData)]
        assert len(curves) == 4  # one per LSTM gate block
        np.testing.assert_allclose(
            sorted(np.concatenate([c.yData for c in curves])),
            sorted(rec.parts["rnn"].whh_block_singular_values[0].ravel()),
            rtol=1e-6,
        )
    elif dock.name == "sample":
        assert panel.grid.isVisibleTo(panel) or panel.plot.isVisibleTo(panel)
        assert "accuracy" in panel.summary.text() or str(rec.step) in panel.summary.text()
    model.show(None)  # no step shown: the frames clear
    panel.refresh()
    if dock.name in ("gates", "states"):
        assert all(m.data is None for m in heatmaps(panel).values())


def test_the_sample_view_names_a_data_series_and_its_units(qtbot) -> None:
    from importlib import resources

    from rnnscope.engine.datasets import DataFile, store

    data = resources.files("rnnscope.engine").joinpath("data", "sunspots.csv").read_bytes()
    df = store.register(DataFile.of("sunspots.csv", data))
    cfg = TrainConfig(
        task="series", data=df.id, time_column="YEAR", seq_len=12, hidden_size=8, batch_size=4, device="cpu"
    )
    model = FakeModel(cfg)
    panel = next(d for d in STEP_VIEWS if d.name == "sample").make(DockContext(model, TimeCursor()))
    qtbot.addWidget(panel)
    panel.show()
    model.run_changed.emit()
    model.train(2)
    panel.refresh()
    axis = panel.plot.getPlotItem().getAxis("left").labelText
    assert axis.startswith("normalised (SUNACTIVITY = ") and "x value)" in axis
    assert "SUNACTIVITY" in panel.plot.getPlotItem().titleLabel.text
