"""Breakpoints in the window: the dock edits them, the worker pauses on a hit, the window shows
which one fired and where, and both definitions and hits survive save and open."""

from __future__ import annotations

import math

import numpy as np

from rnnscope.engine.demos import DEMOS
from rnnscope.sessions import Session
from rnnscope.sessions.breakpoints import hits, load_breakpoints

T = 60_000  # ms


def panel(window):
    return window.panels["breakpoints"]


def add_expression(window, text):
    p = panel(window)
    p.expression.setText(text)
    p.add_expression_button.click()


def add_kind(window, kind, threshold=None):
    p = panel(window)
    p.kind.setCurrentIndex(p.kind.findData(kind))
    p.add_button.click()
    bp = list(window.controller.watch.breakpoints)[-1]
    assert bp.kind == kind
    if threshold is not None:
        row = p.rows[bp.id]
        row.threshold.setText(repr(threshold))
        row.threshold.editingFinished.emit()
    return window.controller.watch.breakpoints.get(bp.id)


def play_until_paused(qtbot, window):
    c = window.controller
    with qtbot.waitSignal(c.breakpoint_hit, timeout=T) as signal:
        window.actions_by_name["play"].trigger()
    assert signal.args[0] == c.watch.last_hits
    qtbot.waitUntil(lambda: not c.playing and not c.worker.busy, timeout=T)
    qtbot.waitUntil(lambda: c.steps == c.worker.live.trainer.step_count, timeout=T)
    return c.watch.last_hits


def test_every_run_watches_non_finite_by_default(window):
    c = window.controller
    assert [(b.kind, b.enabled) for b in c.watch.breakpoints] == [("nonfinite", True)]
    assert [b.kind for b in c.worker.breakpoints] == ["nonfinite"]
    assert list(panel(window).rows) == ["nonfinite"] and panel(window).rows["nonfinite"].enabled.isChecked()
    assert window.actions_by_name["pause_nan"].isChecked()


def test_loss_above_a_tiny_threshold_pauses_at_the_first_step(window, qtbot):
    bp = add_kind(window, "loss_above", 1e-6)
    assert bp.threshold == 1e-6
    found = play_until_paused(qtbot, window)
    c = window.controller
    assert c.steps == 1 and [h.breakpoint_id for h in found] == [bp.id] and found[0].step == 0
    assert "loss" in found[0].message and "> 1e-06" in found[0].message
    assert "loss" in panel(window).last_hit.text() and "step 0" in panel(window).last_hit.text()
    assert "breakpoint" in window.status.currentMessage()
    assert c.shown_step == 0
    assert [h.step for h in c.hits] == [0] and panel(window).hits.count() == 1


def test_expression_pauses_at_the_step_it_holds_and_the_views_show_it(window, qtbot):
    add_expression(window, "step >= 3 and loss > 0")
    assert panel(window).expression_error.text() == ""
    found = play_until_paused(qtbot, window)
    c = window.controller
    assert found[0].step == 3 and c.steps == 4 and c.shown_step == 3
    assert any(e.kind == "breakpoint" and e.step == 3 for e in c.history.events)
    slider = window.transport.slider  # the hit is on the timeline (drawn on the next redraw tick)
    qtbot.waitUntil(lambda: any(step == 3 for step, _ in slider._marks), timeout=T)
    # Play again: the condition still holds, so it stops at the very next step (like a debugger)
    found = play_until_paused(qtbot, window)
    assert found[0].step == 4 and c.steps == 5


def test_a_disabled_breakpoint_does_not_fire(window, qtbot):
    bp = add_kind(window, "loss_above", 1e-6)
    panel(window).rows[bp.id].enabled.setChecked(False)
    assert not window.controller.watch.breakpoints.get(bp.id).enabled
    c = window.controller
    c.run_until(4)
    qtbot.waitUntil(lambda: c.steps >= 4 and not c.playing, timeout=T)
    assert c.watch.last_hits == [] and c.hits == []


def test_bad_expression_is_refused_with_the_reason_and_changes_nothing(window, qtbot):
    c = window.controller
    before = [b.to_dict() for b in c.watch.breakpoints]
    worker_set = c.worker.breakpoints
    for text, reason in (
        ("loss >", "cannot parse"),
        ("__import__('os').system('x')", "not allowed"),
        ("h_grad_norm > 3", "array"),
        ("los > 3", "did you mean 'loss'"),
    ):
        add_expression(window, text)
        shown = panel(window).expression_error.text()
        assert reason in shown, (text, shown)
        assert panel(window).expression.text() == text  # kept for fixing
    assert [b.to_dict() for b in c.watch.breakpoints] == before and c.worker.breakpoints is worker_set
    assert len(panel(window).rows) == 1


def test_a_bad_threshold_is_put_back_with_the_reason(window):
    bp = add_kind(window, "grad_norm_above", 50.0)
    row = panel(window).rows[bp.id]
    for text in ("abc", "nan"):
        row = panel(window).rows[bp.id]
        row.threshold.setText(text)
        row.threshold.editingFinished.emit()
        assert panel(window).row_error.text().startswith("refused")
        assert window.controller.watch.breakpoints.get(bp.id).threshold == 50.0
        assert panel(window).rows[bp.id].threshold.text() == "50"


def test_the_exploding_demo_pauses_on_the_default_non_finite_breakpoint(qtbot):
    from rnnscope.gui.shell.main_window import MainWindow

    win = MainWindow(interactive=False)
    qtbot.addWidget(win)
    win.show()
    try:
        win.start_demo(DEMOS["exploding"])
        c = win.controller
        qtbot.waitUntil(lambda: c.mode == "live" and c.demos.demo is DEMOS["exploding"], timeout=T)
        found = play_until_paused(qtbot, win)
        hit = found[0]
        assert hit.kind == "nonfinite" and hit.breakpoint_id == "nonfinite"
        assert c.steps == hit.step + 1 and hit.step > 5  # it trained a while before blowing up
        qtbot.waitUntil(lambda: c.record is not None and c.record.step == hit.step, timeout=T)
        rec = c.record  # the views show the step that broke
        assert (
            rec.nonfinite is not None
            or not (math.isfinite(rec.loss) and math.isfinite(rec.grad_norm))
            or np.isinf(rec.h_grad_norm).any()
        )
        assert f"step {hit.step}" in panel(win).last_hit.text()
        health = win.panels["health"]  # a red band along the top of the loss plot marks the steps
        qtbot.waitUntil(lambda: any(b.isVisible() for b in health.nan_bands), timeout=T)
        lo, hi = next(b for b in health.nan_bands if b.isVisible()).getRegion()
        assert lo <= hit.step <= hi
        assert f"step {min(c.history.nonfinite)}" in health.loss_plot.toolTip()
        if hit.timestep is not None:
            assert win.cursor.t == hit.timestep  # the timestep cursor went where it broke
    finally:
        win.close()


def test_breakpoints_and_hits_survive_save_and_open(window, qtbot, tmp_path):
    c = window.controller
    bp = add_kind(window, "loss_above", 1e-6)
    add_expression(window, "step >= 100")
    expr_id = list(c.watch.breakpoints)[-1].id
    panel(window).rows["nonfinite"].enabled.setChecked(False)
    assert not window.actions_by_name["pause_nan"].isChecked()
    play_until_paused(qtbot, window)
    window.actions_by_name["step"].trigger()  # step on: it hits again at step 1
    qtbot.waitUntil(lambda: len(c.hits) == 2 and not c.worker.busy, timeout=T)
    dest = tmp_path / "bp.rnnscope"
    saved = []
    c.files.save_as(dest, on_saved=saved.append)
    qtbot.waitUntil(lambda: bool(saved), timeout=T)
    with Session.open(dest) as s:
        stored = load_breakpoints(s)
        assert stored is not None and [b.id for b in stored] == ["nonfinite", bp.id, expr_id]
        assert [h.step for h in hits(s)] == [0, 1]
    # a fresh window opens the file: same breakpoints, same hits on the timeline
    from rnnscope.gui.shell.main_window import MainWindow

    other = MainWindow(interactive=False)
    qtbot.addWidget(other)
    try:
        other.open_path(dest)
        oc = other.controller
        qtbot.waitUntil(lambda: oc.mode == "replay" and len(oc.history) == 2 and not oc.busy_text, timeout=T)
        assert [b.to_dict() for b in oc.watch.breakpoints] == [b.to_dict() for b in c.watch.breakpoints]
        assert (
            not oc.watch.breakpoints.get("nonfinite").enabled
            and not other.actions_by_name["pause_nan"].isChecked()
        )
        assert [b.id for b in oc.worker.breakpoints] == ["nonfinite", bp.id, expr_id]
        assert [h.step for h in oc.hits] == [0, 1] and panel(other).hits.count() == 2
        assert "loss" in panel(other).hits.item(0).text()
        assert sum(1 for step, _ in other.transport.slider._marks if step in (0, 1)) >= 2
    finally:
        other.close()


def test_a_frame_breakpoint_forces_a_probe_frame_on_every_step(window, qtbot, tiny_config):
    c = window.controller
    c.files.new_run(tiny_config.with_changes(probe_every=0))  # no scheduled frames at all
    qtbot.waitUntil(lambda: c.mode == "live" and c.config.probe_every == 0 and not c.busy_text, timeout=T)
    add_expression(window, "step >= 3 and mean(gate_f) < 1.01")  # reads the forget gate: a frame field
    bp = list(c.watch.breakpoints)[-1]
    assert bp.needs_frame and "probe frame" in panel(window).rows[bp.id].label.text()
    found = play_until_paused(qtbot, window)
    # step 3 is neither a scheduled probe nor a stored frame (every 20th): it was forced
    assert found[0].breakpoint_id == bp.id and found[0].step == 3 and c.steps == 4
    assert c.record.step == 3 and c.record.has_frame
