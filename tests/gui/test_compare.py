"""Compare: two runs side by side, one step and cursor, shared colour scales, A − B view."""

from __future__ import annotations

import numpy as np
import pytest

from engine import TrainConfig, Trainer
from sessions import LiveSession, RecordSettings, Session

T = 30_000
CFG = dict(task="copy", hidden_size=8, seq_len=10, delay=3, batch_size=4, device="cpu", seed=0)


def _record(path, model, steps, *, branch_at=None, lr=None):
    settings = RecordSettings(checkpoint_every=5, frame_every=4)
    with LiveSession.create(path, Trainer(TrainConfig(model=model, **CFG)), settings=settings) as live:
        live.run(steps)
        if branch_at is not None:
            live.rewind(branch_at)
            live.set_param("lr", lr)
            live.run(steps - branch_at + 3)
    return path


@pytest.fixture(scope="module")
def branched(tmp_path_factory):
    """One LSTM session: branch 0 has 12 steps; branch 1 forks at 6 with another lr (15 steps)."""
    return _record(tmp_path_factory.mktemp("cmp") / "two.rnnscope", "lstm", 12, branch_at=6, lr=0.2)


@pytest.fixture(scope="module")
def rnn_file(tmp_path_factory):
    return _record(tmp_path_factory.mktemp("cmp") / "rnn.rnnscope", "rnn", 9)


def _open(qtbot, a, b, panel="gradient_flow"):
    from gui.compare import CompareWindow

    win = CompareWindow(a, b, panel=panel)
    qtbot.addWidget(win)
    win.resize(1500, 800)
    win.show()
    qtbot.waitUntil(lambda: win.ready, timeout=T)
    return win


def _branches(path):
    with Session.open(path) as s:
        return [b.id for b in s.branches()]


def test_two_branches_side_by_side_share_step_cursor_and_scales(qtbot, branched):
    from gui.compare import CompareSource

    b0, b1 = _branches(branched)
    win = _open(qtbot, CompareSource(branched, b0), CompareSource(branched, b1), panel="states")
    try:
        a, b = win.models
        assert (a.steps, b.steps) == (12, 15) and a.branch_id == b0 and b.branch_id == b1
        assert win.step == 11 and a.record.step == 11 and b.record.step == 11
        # both columns show their own run's step 11 (the branches differ after step 6)
        pa, pb = win.current_panels()
        np.testing.assert_array_equal(pa.maps["h"].data, a.record.hidden[0].T)
        np.testing.assert_array_equal(pb.maps["h"].data, b.record.hidden[0].T)
        assert not np.array_equal(a.record.hidden, b.record.hidden)
        # one colour scale per pair of heatmaps: the union of what each side would use alone
        for name in ("c", "dh", "dc"):
            la, lb = pa.maps[name].image.levels, pb.maps[name].image.levels
            np.testing.assert_array_equal(la, lb)
            own = [pa.maps[name].own_levels, pb.maps[name].own_levels]
            assert tuple(la) == (min(o[0] for o in own), max(o[1] for o in own))
        assert any(pa.maps[n].own_levels != pb.maps[n].own_levels for n in ("c", "dh", "dc")), (
            "the runs should differ enough for the shared scale to matter"
        )
        # the step slider moves both; a frame not stored is regenerated in the background
        win.slider.setValue(9)
        qtbot.waitUntil(lambda: a.shown_step == 9 and b.shown_step == 9, timeout=T)
        with Session.open(branched) as s:
            np.testing.assert_allclose(s.record(9, branch=b1).hidden, b.record.hidden)
        # a click on one side (a panel's seek) moves the other side too
        a.seek(3)
        qtbot.waitUntil(lambda: b.shown_step == 3 and a.shown_step == 3, timeout=T)
        assert win.slider.value() == 3
        # B has steps A lacks: A stays at its last step
        win.set_step(14)
        qtbot.waitUntil(lambda: b.shown_step == 14 and a.shown_step == 11, timeout=T)
        assert "ends at step 11" in win.titles[0].text()
        # one timestep cursor: moving it in a panel of A moves it in B's panels
        pa.cursor.set(4)
        assert pb.cursor is pa.cursor
        pb.refresh()
        assert pb.maps["h"].cursor_line.value() == pytest.approx(4.5)
    finally:
        win.close()


def test_gradient_flow_difference_is_a_minus_b(qtbot, branched, rnn_file):
    from gui.compare import CompareSource

    win = _open(qtbot, CompareSource(branched, _branches(branched)[1]), CompareSource(rnn_file))
    try:
        a = win.models[0]
        pa, pb = win.current_panels()
        # the same fixed scale on both gradient-flow heatmaps; dragging one bar moves the other
        np.testing.assert_array_equal(pa.heat.image.levels, pb.heat.image.levels)
        pa.heat.bar.setLevels((-5.0, 0.0))
        pa.heat.bar.sigLevelsChangeFinished.emit(pa.heat.bar)
        assert tuple(pb.heat.image.levels) == (-5.0, 0.0) == tuple(pb.heat.levels)
        # the difference: log10 ||dL/dh_t|| of A minus B over the steps both have
        with Session.open(branched) as s:
            ha = s.summaries(branch=a.branch_id).h_grad_norm[:, 0, :]
        with Session.open(rnn_file) as s:
            hb = s.summaries().h_grad_norm[:, 0, :]
        n = min(len(ha), len(hb))
        expected = (np.log10(ha[:n].astype(np.float32)) - np.log10(hb[:n].astype(np.float32))).T
        img = win.difference.heat.data
        assert img.shape == (10, 9) == expected.shape
        np.testing.assert_allclose(img, expected, rtol=1e-5, atol=1e-5)
        lo, hi = win.difference.heat.image.levels
        assert lo == -hi and hi >= np.nanmax(np.abs(expected))  # diverging, centred at 0
        # different cells: the gates panels have no heatmap in common, the states share h and dh
        win.set_panel("gates")
        assert not win.diff_column.isVisible()
        win.set_panel("states")
        pa, pb = win.current_panels()
        np.testing.assert_array_equal(pa.maps["dh"].image.levels, pb.maps["dh"].image.levels)
    finally:
        win.close()


def test_difference_bins_long_runs():
    from gui.compare.difference import log_grad_difference
    from gui.history import History
    from sessions.summaries import PartSummaries, Summaries

    def hist(values):
        n = values.shape[0]
        z = np.zeros(n)
        summ = Summaries(
            step=np.arange(n), loss=z, metric=z, grad_norm=z, grad_norm_clipped=z, lr=z,
            clip_threshold=z, step_time=z, probe_index=np.zeros(n, np.int64), nonfinite=[None] * n,
            metric_name="m",
            parts={"rnn": PartSummaries("rnn", np.full(n, values.shape[2]), values, None)},
        )  # fmt: skip
        h = History()
        h.load(summ)
        return h

    a = hist(np.full((10, 1, 3), 100.0, np.float32))  # log10 = 2
    b = hist(np.full((7, 1, 4), 0.1, np.float32))  # log10 = -1
    img, size = log_grad_difference(a, b, 0, max_columns=4)
    assert size == 2 and img.shape == (3, 4)  # 7 common steps in bins of 2; 3 common timesteps
    np.testing.assert_allclose(img, 3.0)


def test_compare_window_from_the_main_window(window, qtbot):
    c = window.controller
    c.run_until(6)
    qtbot.waitUntil(lambda: c.steps >= 6 and not c.playing, timeout=T)
    c.continue_from(2)
    qtbot.waitUntil(lambda: len(c.branches()) == 2, timeout=T)
    c.run_until(8)
    qtbot.waitUntil(lambda: not c.playing and not c.worker.busy, timeout=T)
    c.worker.live.flush()
    from gui.compare import CompareSource
    from gui.compare.dialog import CompareDialog

    dialog = CompareDialog(c.path, c.branch_id, window)
    qtbot.addWidget(dialog)
    a, b = dialog.sources()
    assert a.branch == c.branch_id and b.branch != a.branch and a.path == b.path == str(c.path)
    win = window.open_compare(a, b)
    qtbot.waitUntil(lambda: win.ready, timeout=T)
    assert win.models[0].steps >= 6 and isinstance(win.models[1].source, CompareSource)
    window.close()  # closes the compare window with it (its threads too)
    assert not window.compare_windows
