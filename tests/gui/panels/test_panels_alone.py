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


def test_a_relu_rnn_of_the_users_loop_shows_its_relu_derivative(qtbot, tmp_path) -> None:
    """An attached nn.RNN(nonlinearity="relu"): the gates view shows relu'(a_t) = [h_t > 0]
    (not tanh's 1 - h_t^2), the parts and layers come from the file's modules."""
    import torch

    import rnnscope
    from rnnscope.gui.model.follow import views_of
    from rnnscope.sessions import Session

    net = torch.nn.Sequential()
    net.body = torch.nn.RNN(3, 5, num_layers=2, nonlinearity="relu")
    path = tmp_path / "relu.rnnscope"
    scope = rnnscope.attach(net, path, probe_every=1)
    for _ in range(2):
        net.body(torch.randn(6, 2, 3))[0].sum().backward()
        scope.step()
    scope.detach()
    with Session.open(path) as s:
        (shape,), config = views_of(s)
        records = [s.record(k) for k in range(2)]
    assert config is None and shape.relu and shape.names == ["body"] and shape.layers == 2
    model = FakeModel(CFG)
    model.config, model.task, model.shape = None, None, shape
    gates = next(d for d in STEP_VIEWS if d.name == "gates").make(DockContext(model, TimeCursor()))
    qtbot.addWidget(gates)
    gates.show()
    model.run_changed.emit()
    model.history.extend(records)
    model.history_changed.emit()
    model.show(records[-1])
    gates.refresh()
    maps = {k: m for k, m in heatmaps(gates).items() if m.data is not None}
    assert list(maps) == ["relu'"] and "relu RNN" in gates.note.text()
    h = records[-1].hidden[0]  # (T, H) of layer 0
    want = (h > 0).astype(h.dtype)
    assert np.array_equal(maps["relu'"].data, want) or np.array_equal(maps["relu'"].data, want.T)
    assert set(np.unique(want)) == {0.0, 1.0}  # some units off, some on: the map says which
