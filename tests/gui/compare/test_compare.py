"""Compare: two runs side by side, one step and cursor, shared colour scales, A − B view."""

from __future__ import annotations

import numpy as np
import pytest

from rnnscope.engine import TrainConfig, Trainer
from rnnscope.gui.panels import scales
from rnnscope.sessions import LiveSession, RecordSettings, Session

T = 30_000
CFG = dict(task="copy", hidden_size=8, seq_len=10, delay=3, batch_size=4, device="cpu", seed=0)


def _record(path, model, steps, *, branch_at=None, lr=None):
    settings = RecordSettings(checkpoint_every=5, frame_every=4)
    with LiveSession.create(path, Trainer(TrainConfig(cell=model, **CFG)), settings=settings) as live:
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
    from rnnscope.gui.compare import CompareWindow

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
    from rnnscope.gui.compare import CompareSource

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
            ma, mb = pa.maps[name], pb.maps[name]
            la, lb = ma.levels, mb.levels
            np.testing.assert_array_equal(la, lb)
            own = [ma.own_levels, mb.own_levels]
            assert tuple(la) == (min(o[0] for o in own), max(o[1] for o in own))
            # what the images show: the shared levels (signed_log: -(k - f) .. k - f of one floor)
            np.testing.assert_array_equal(ma.image.levels, scales.bar_range(ma.kind, la))
            np.testing.assert_array_equal(mb.image.levels, scales.bar_range(mb.kind, lb))
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
    from rnnscope.gui.compare import CompareSource

    win = _open(qtbot, CompareSource(branched, _branches(branched)[1]), CompareSource(rnn_file))
    try:
        a = win.models[0]
        pa, pb = win.current_panels()
        # one scale on both gradient-flow heatmaps (whole decades); dragging one bar moves the other
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
    from rnnscope.gui.compare.difference import log_grad_difference
    from rnnscope.gui.model.history import History, bin_size
    from rnnscope.sessions.summaries import PartSummaries, Summaries

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
    d = log_grad_difference(a, b, 0, max_columns=4)
    # bins of the longer run's heatmap (10 steps in <= 4 columns: 4 steps per column), so the
    # columns line up with A's; the 7 common steps make 2 columns, the last one partial
    assert d.bin == bin_size(10, 4) == 4 and d.steps == 7 and d.image.shape == (3, 2)
    np.testing.assert_allclose(d.image, 3.0)  # 3 common timesteps


def test_compare_window_from_the_main_window(window, qtbot):
    c = window.controller
    c.run_until(6)
    qtbot.waitUntil(lambda: c.steps >= 6 and not c.playing, timeout=T)
    c.files.continue_from(2)
    qtbot.waitUntil(lambda: len(c.files.branches()) == 2, timeout=T)
    c.run_until(8)
    qtbot.waitUntil(lambda: not c.playing and not c.worker.busy, timeout=T)
    c.worker.live.flush()
    from rnnscope.gui.compare import CompareSource
    from rnnscope.gui.compare.dialog import CompareDialog

    dialog = CompareDialog(c.path, c.branch_id, window)
    qtbot.addWidget(dialog)
    a, b = dialog.sources()
    assert a.branch == c.branch_id and b.branch != a.branch and a.path == b.path == str(c.path)
    win = window.open_compare(a, b)
    qtbot.waitUntil(lambda: win.ready, timeout=T)
    assert win.models[0].steps >= 6 and isinstance(win.models[1].source, CompareSource)
    window.close()  # closes the compare window with it (its threads too)
    assert not window.compare_windows


# ---------------------------------------------------------------- one step, one cursor, one axis
def _click(qtbot, view, vb, x, y):
    """A real mouse click on ``view`` at data point (x, y) of the ViewBox ``vb``."""
    from PySide6.QtCore import QPointF, Qt

    pos = view.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def _x_range(plot):
    return tuple(plot.vb.viewRange()[0])


def _stored(path, branch, k):
    with Session.open(path) as s:
        return s.has_stored_frame(k, branch=branch), s.record(k, branch=branch)


def test_scrubbing_the_shared_step_shows_that_step_of_both_runs(qtbot, branched):
    from rnnscope.gui.compare import CompareSource

    b0, b1 = _branches(branched)
    win = _open(qtbot, CompareSource(branched, b0), CompareSource(branched, b1), panel="states")
    try:
        a, b = win.models
        # scrub: several positions in a row; only the last one counts
        for k in (2, 7, 10, 4, 9):
            win.slider.setValue(k)
        # step 9 has no stored frame: it is read (regenerated) off the GUI thread, with a busy text
        stored_a, rec_a = _stored(branched, b0, 9)
        stored_b, rec_b = _stored(branched, b1, 9)
        assert not stored_a and not stored_b
        assert a.shown_step != 9 and "reading step 9" in win.busy_label.text()
        qtbot.waitUntil(lambda: win.ready, timeout=T)
        assert (a.shown_step, b.shown_step, win.spin.value()) == (9, 9, 9)
        assert win.busy_label.text() == ""
        pa, pb = win.current_panels()
        np.testing.assert_allclose(pa.maps["h"].data, rec_a.hidden[0].T)
        np.testing.assert_allclose(pb.maps["h"].data, rec_b.hidden[0].T)
        np.testing.assert_allclose(pa.maps["c"].data, rec_a.cell[0].T)
        np.testing.assert_allclose(pb.maps["dh"].data, rec_b.h_grad[0].T)
        # the gradient-flow view of the same step: ||dL/dh_t|| of each run's step 9
        win.set_panel("gradient_flow")
        pa, pb = win.current_panels()
        np.testing.assert_allclose(pa.h_curve.yData, rec_a.h_grad_norm[0], rtol=1e-6)  # (log axis:
        np.testing.assert_allclose(pb.h_curve.yData, rec_b.h_grad_norm[0], rtol=1e-6)  # yData, not log10)
        assert pa.step_line.value() == pb.step_line.value() == win.difference.step_line.value() == 9.5
        # the keyboard moves both too
        next(act for act in win.actions() if act.text() == "Next step").trigger()  # →
        qtbot.waitUntil(lambda: win.ready and win.step == 10, timeout=T)
        assert a.shown_step == b.shown_step == 10
    finally:
        win.close()


def test_over_steps_plots_share_one_x_axis_and_a_click_seeks_both(qtbot, branched):
    from rnnscope.gui.compare import CompareSource

    b0, b1 = _branches(branched)
    win = _open(qtbot, CompareSource(branched, b0), CompareSource(branched, b1))
    try:
        a, b = win.models
        assert (a.steps, b.steps) == (12, 15)
        pa, pb = win.current_panels()
        diff = win.difference.heat.plot
        # gradient flow: A (12 steps), B (15 steps) and A − B show one step range, B's included
        qtbot.waitUntil(lambda: _x_range(pa.heat.plot) == _x_range(pb.heat.plot) == _x_range(diff))
        lo, hi = _x_range(pb.heat.plot)
        assert lo <= 0 and hi >= 15
        # a click on B's heatmap at step 4, timestep 2 moves both runs there and the cursor
        _click(qtbot, pb.view, pb.heat.plot.vb, 4.5, 2.5)
        qtbot.waitUntil(lambda: win.ready and win.step == 4, timeout=T)
        assert (a.shown_step, b.shown_step, win.slider.value(), win.cursor.t) == (4, 4, 4, 2)
        assert pa.heat.cursor_line.value() == pb.heat.cursor_line.value() == 2.5
        # a click on the difference view seeks both as well
        _click(qtbot, win.difference.view, diff.vb, 8.5, 1.5)
        qtbot.waitUntil(lambda: win.ready and win.step == 8, timeout=T)
        assert (a.shown_step, b.shown_step) == (8, 8)
        # health: loss (and the curves linked to it) of both runs share the x range too
        win.set_panel("health")
        ha, hb = win.current_panels()
        qtbot.waitUntil(lambda: hb.loss.xData is not None and len(hb.loss.xData) == 15)
        ranges = {_x_range(p) for p in (ha.loss_plot, hb.loss_plot, ha.lr_plot, hb.metric_plot)}
        assert len(ranges) == 1 and _x_range(hb.loss_plot) == _x_range(pb.heat.plot)
        _click(qtbot, ha.view, ha.loss_plot.vb, 6, float(np.nanmean(ha.loss.yData)))
        qtbot.waitUntil(lambda: win.ready and win.step == 6, timeout=T)
        assert (a.shown_step, b.shown_step) == (6, 6)
        np.testing.assert_allclose(ha.step_lines[0].value(), 6)
        np.testing.assert_allclose(hb.step_lines[0].value(), 6)
    finally:
        win.close()


def test_one_timestep_cursor_moves_on_both_sides(qtbot, branched, rnn_file):
    from PySide6.QtCore import Qt

    from rnnscope.gui.compare import CompareSource

    win = _open(
        qtbot, CompareSource(branched, _branches(branched)[1]), CompareSource(rnn_file), panel="states"
    )
    try:
        pa, pb = win.current_panels()
        assert set(pb.maps) == {"h", "dh"}  # an RNN: no cell state
        # a click on A's hidden-state map at timestep 6 puts the cursor there on both sides
        m = pa.maps["h"]
        _click(qtbot, pa.view, m.plot.vb, 6.5, 1.5)
        assert win.cursor.t == 6
        for panel in (pa, pb):
            for heat in panel.maps.values():
                assert heat.cursor_line.value() == 6.5
        # Shift+→ (the window's shortcut) moves both
        win.activateWindow()
        qtbot.keyClick(win, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
        assert win.cursor.t == 7
        assert pa.maps["dh"].cursor_line.value() == pb.maps["dh"].cursor_line.value() == 7.5
        # the other views follow the same cursor: gradient flow (both sides and A − B), gates, health
        win.set_panel("gradient_flow")
        ga, gb = win.current_panels()
        assert ga.t_line.value() == gb.t_line.value() == 7
        assert ga.heat.cursor_line.value() == gb.heat.cursor_line.value() == 7.5
        assert win.difference.heat.cursor_line.value() == 7.5
        win.set_panel("health")
        ha, hb = win.current_panels()
        assert ha.jac_cursor.value() == hb.jac_cursor.value() == 7
        # it stops at the longer run's last timestep (T = 10 here)
        for _ in range(5):
            win.move_cursor(1)
        assert win.cursor.t == 9 and hb.jac_cursor.value() == 9
    finally:
        win.close()


# ---------------------------------------------------------------- following a run in training
def _train_to(qtbot, c, n: int) -> None:
    """Train the main window's run to n steps, wait until it rests, and commit them to its file."""
    c.run_until(n)
    qtbot.waitUntil(lambda: c.steps >= n and not c.playing and not c.worker.busy, timeout=T)
    c.worker.live.flush()


def test_compare_follows_the_run_the_main_window_trains(window, qtbot, rnn_file):
    from rnnscope.gui.compare import CompareSource

    c = window.controller
    _train_to(qtbot, c, 6)
    win = window.open_compare(CompareSource(c.path, c.branch_id), CompareSource(rnn_file))
    qtbot.waitUntil(lambda: win.ready, timeout=T)
    a, b = win.models
    assert a.training and not b.training and "training" in win.titles[0].text()
    assert (a.steps, b.steps, win.step) == (6, 9, 5)  # at A's end: the step follows A
    pa, pb = win.current_panels()
    # the main window trains on: A's new steps appear, the shared step moves with A's end
    c.run_until(14)
    qtbot.waitUntil(lambda: a.steps == 14 and win.ready and win.step == 13, timeout=T)
    assert (a.shown_step, b.shown_step) == (13, 8)  # B (9 steps) stays at its last step
    assert a.record is c.record  # the main window's newest step, taken from memory (no read)
    assert win.slider.maximum() == 13 and "ends at step 8" in win.titles[1].text()
    qtbot.waitUntil(lambda: not c.playing and not c.worker.busy, timeout=T)
    c.worker.live.flush()
    with Session.open(c.path) as s:
        summ = s.summaries(branch=a.branch_id)
        rec = s.record(13, branch=a.branch_id)
    np.testing.assert_array_equal(a.history.series("loss"), summ.loss)
    np.testing.assert_allclose(a.history.log10_h_grad_rows(0), np.log10(summ.h_grad_norm[:, 0, :]), rtol=1e-6)
    qtbot.waitUntil(lambda: pa.heat.data is not None and pa.heat.data.shape[1] == 14, timeout=T)
    np.testing.assert_allclose(pa.h_curve.yData, rec.h_grad_norm[0], rtol=1e-6)
    qtbot.waitUntil(
        lambda: _x_range(pa.heat.plot) == _x_range(pb.heat.plot) and _x_range(pb.heat.plot)[1] >= 14
    )
    assert win.difference.result.steps == 9  # the difference covers the steps both have
    assert "Step counts differ (A 14, B 9)" in win.banner.text()
    window.close()
    assert not window.compare_windows


def test_follow_reads_only_the_new_steps_from_the_file(window, qtbot, monkeypatch):
    """The main window trains run A but shows another branch: A's new steps come from the
    file, read from where A's history ends (never the whole branch again)."""
    import rnnscope.gui.compare.source as source
    from rnnscope.gui.compare import CompareSource

    reads = []
    real = source.read_new_steps
    monkeypatch.setattr(
        source, "read_new_steps", lambda r, bid, start: reads.append(start) or real(r, bid, start)
    )
    c = window.controller
    c.run_until(6)
    qtbot.waitUntil(lambda: c.steps >= 6 and not c.playing and not c.worker.busy, timeout=T)
    first = c.branch_id
    c.files.continue_from(2)  # a new branch (steps 0..2 shared), trained on
    qtbot.waitUntil(lambda: len(c.files.branches()) == 2 and c.branch_id != first, timeout=T)
    c.run_until(5)
    qtbot.waitUntil(lambda: c.steps == 5 and not c.playing and not c.worker.busy, timeout=T)
    c.worker.live.flush()
    live = c.branch_id
    win = window.open_compare(CompareSource(c.path, live), CompareSource(c.path, first))
    qtbot.waitUntil(lambda: win.ready, timeout=T)
    a = win.models[0]
    win.follow_timer.stop()  # follow by hand from here
    c.run_until(12)
    qtbot.waitUntil(lambda: c.steps == 12 and not c.playing and not c.worker.busy, timeout=T)
    c.files.view_branch(first)  # the window now shows the other branch; A stays the live one
    qtbot.waitUntil(lambda: c.branch_id == first and len(c.history) == 6, timeout=T)
    c.worker.live.flush()
    assert a.training and a.steps == 5
    win.follow()
    qtbot.waitUntil(lambda: a.steps == 12, timeout=T)
    assert reads == [5]
    with Session.open(c.path) as s:
        np.testing.assert_array_equal(a.history.series("loss"), s.summaries(branch=live).loss)
    win.follow()  # nothing new: a cheap length check, no summaries read
    qtbot.waitUntil(lambda: not a._reading, timeout=T)
    assert a.steps == 12 and reads == [5, 12]


# ---------------------------------------------------------------- runs that do not match
def test_mismatched_runs_are_explained_not_fatal(qtbot, branched, tmp_path):
    from rnnscope.engine import TrainConfig, Trainer
    from rnnscope.gui.compare import CompareSource

    cfg = dict(CFG, seq_len=16, layers=2)
    other = tmp_path / "gru.rnnscope"
    settings = RecordSettings(checkpoint_every=5, frame_every=4)
    with LiveSession.create(other, Trainer(TrainConfig(cell="gru", **cfg)), settings=settings) as live:
        live.run(5)
    win = _open(qtbot, CompareSource(branched, _branches(branched)[0]), CompareSource(other))
    try:
        a, b = win.models
        text = win.banner.text()
        assert win.banner.isVisible()
        for expected in (
            "Step counts differ (A 12, B 5)",
            "Sequence lengths differ",
            "Layer counts differ (A 1, B 2)",
            "Different cells (A lstm, B gru)",
        ):
            assert expected in text
        d = win.difference.result
        assert (d.steps, d.image.shape) == (5, (10, 5))  # common steps and timesteps
        # past B's end: B stays at its last step, A goes on
        win.set_step(11)
        qtbot.waitUntil(lambda: win.ready, timeout=T)
        assert (a.shown_step, b.shown_step) == (11, 4) and "ends at step 4" in win.titles[1].text()
        # every view draws both runs, the cursor may go past A's T (10) up to B's (16)
        for key in ("gates", "states", "health", "sample", "gradient_flow"):
            win.set_panel(key)
            qtbot.wait(10)
        for _ in range(20):
            win.move_cursor(1)
        assert win.cursor.t == 15
        # a run with no steps, and a file that is not there: said so, nothing breaks
        empty = tmp_path / "empty.rnnscope"
        LiveSession.create(empty, Trainer(TrainConfig(cell="rnn", **CFG)), settings=settings).close()
        win2 = _open(qtbot, CompareSource(empty), CompareSource(other))
        try:
            assert "A has no steps yet" in win2.banner.text()
            assert win2.models[1].shown_step == 4 and win2.difference.heat.data is None
        finally:
            win2.close()
        from rnnscope.gui.compare import CompareWindow

        win3 = CompareWindow(CompareSource(tmp_path / "missing.rnnscope"), CompareSource(other))
        qtbot.addWidget(win3)
        win3.show()
        qtbot.waitUntil(lambda: bool(win3.errors) and win3.models[1].record is not None, timeout=T)
        assert "A cannot be shown" in win3.banner.text() and "missing.rnnscope" in win3.banner.text()
        win3.close()
    finally:
        win.close()


# ---------------------------------------------------------------- one side shows nothing
def test_a_side_with_no_frame_does_not_widen_the_shared_scale(qtbot, rnn_file, tmp_path):
    """B has no steps yet (a run just started): its heatmaps show nothing, so A's colour
    scales are A's own (not widened to the empty side's default ±1)."""
    from rnnscope.gui.compare import CompareSource

    empty = tmp_path / "empty.rnnscope"
    settings = RecordSettings(checkpoint_every=5, frame_every=4)
    LiveSession.create(empty, Trainer(TrainConfig(cell="rnn", **CFG)), settings=settings).close()
    win = _open(qtbot, CompareSource(rnn_file), CompareSource(empty), panel="states")
    try:
        pa, pb = win.current_panels()
        assert pb.maps["dh"].data is None and pa.maps["dh"].data is not None
        own = pa.maps["dh"].own_levels
        assert own[1] < 1.0, "the run's gradients should be well below the default scale of ±1"
        assert tuple(pa.maps["dh"].levels) == tuple(own)
        np.testing.assert_array_equal(pa.maps["dh"].image.levels, scales.bar_range("signed_log", own))
    finally:
        win.close()


def test_the_run_in_training_is_followed_when_the_other_side_cannot_be_opened(window, qtbot, tmp_path):
    from rnnscope.gui.compare import CompareSource

    c = window.controller
    _train_to(qtbot, c, 3)
    win = window.open_compare(
        CompareSource(c.path, c.branch_id), CompareSource(tmp_path / "missing.rnnscope")
    )
    a = win.models[0]
    qtbot.waitUntil(lambda: bool(win.errors) and a.shown_step == 2, timeout=T)
    assert a.training and win.step == 2
    c.run_until(8)  # A is shown alone; its new steps move the shared step on as they come
    qtbot.waitUntil(lambda: a.steps == 8 and win.step == 7 and a.shown_step == 7, timeout=T)
    window.close()


def test_two_runs_of_the_users_own_loop_side_by_side(qtbot, tmp_path):
    """Two attached runs (the user's model, two learning rates): every view draws both, the
    banner compares what it can, and a step shown is one with a stored frame."""
    import torch

    import rnnscope
    from rnnscope.gui.compare import CompareSource

    paths = []
    for lr in (1e-2, 1e-1):
        torch.manual_seed(0)
        net = torch.nn.Sequential()
        net.lstm = torch.nn.LSTM(3, 6)
        opt = torch.optim.SGD(net.parameters(), lr)
        path = tmp_path / f"own-{lr}.rnnscope"
        scope = rnnscope.attach(net, path, optimizer=opt, probe_every=2)
        for _ in range(6):
            loss = net.lstm(torch.randn(5, 2, 3))[0].square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            scope.step(loss)
        scope.detach()
        paths.append(path)
    win = _open(qtbot, CompareSource(paths[0]), CompareSource(paths[1]), panel="gates")
    try:
        a, b = win.models
        assert a.config is None and a.shape.names == ["lstm"] and b.shape == a.shape
        win.set_step(4)
        qtbot.waitUntil(lambda: win.ready and a.shown_step == 4 and b.shown_step == 4, timeout=T)
        assert a.record.has_frame and list(a.record.parts) == ["lstm"]
        for key in ("gates", "states", "health", "sample", "gradient_flow"):
            win.set_panel(key)
            qtbot.wait(10)
        assert "Different cells" not in win.banner.text()
    finally:
        win.close()
