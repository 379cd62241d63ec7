"""The Runs dock (demo panel id "compare"): one row per run of the session, live.

Every figure the table shows is checked against an independent source: parameter counts
against the runs' trainers' models, loss and metric against the records in the session
file (and the window's newest record), step times against the stored step times,
validation against ``Trainer.evaluate`` of the run's trainer at that step.
"""

from __future__ import annotations

import math
from statistics import median

import pytest

from rnnscope.engine import Trainer
from rnnscope.engine.demos import DEMOS
from rnnscope.gui.panels.runs import COLUMNS, row_texts
from rnnscope.sessions import Session

T = 120_000  # ms
COL = {name: i for i, (name, _tip) in enumerate(COLUMNS)}


@pytest.fixture
def win(qtbot):
    from rnnscope.gui.shell.main_window import MainWindow

    w = MainWindow(interactive=False)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    yield w
    w.close()
    assert not w.controller.threads_alive


def start(qtbot, win, name):
    win.demo_actions[name].trigger()
    c = win.controller
    qtbot.waitUntil(lambda: c.mode == "live" and c.demos.demo is DEMOS[name] and not c.busy_text, timeout=T)
    return c


def train_every_run(qtbot, c, steps):
    runs = c.demos.runs()
    c.demos.train_runs(steps)
    with Session.open(c.path) as s:
        qtbot.waitUntil(
            lambda: all(s.length(b) >= steps for b in runs.values()) and not c.demos.training, timeout=T
        )
    qtbot.waitUntil(lambda: not c.playing and not c.busy_text, timeout=T)
    return runs


def counts(trainer):
    model = trainer.model
    total = sum(p.numel() for p in model.parameters())
    recurrent = sum(p.numel() for stack in model.stacks().values() for p in stack.parameters())
    return total, recurrent


def table_text(panel, row, column):
    return panel.table.item(row, COL[column]).text()


def test_gru_vs_lstm_rows_match_the_runs(win, qtbot):
    c = start(qtbot, win, "gru-vs-lstm")
    panel = win.panels["runs"]
    assert not win.docks["runs"].visibleRegion().isEmpty()  # the demo's first panel is up
    assert c.worker.validation.enabled  # shown: the training thread evaluates now and then
    runs = train_every_run(qtbot, c, 3)
    qtbot.waitUntil(
        lambda: (
            [(r.label, r.steps, r.val_step) for r in panel.rows]
            == [
                ("GRU", 3, 3),
                ("LSTM", 3, 3),
            ]
        ),
        timeout=T,
    )
    rows = {r.label: r for r in panel.rows}
    assert panel.table.rowCount() == 2
    with Session.open(c.path) as s:
        for i, (label, bid) in enumerate(runs.items()):
            row = rows[label]
            assert row.branch == bid and table_text(panel, i, "run") == label
            trainer = s.trainer_at(3, branch=bid)  # the run's trainer after its 3 steps
            total, recurrent = counts(trainer)
            assert (row.params, row.recurrent) == (total, recurrent)
            assert table_text(panel, i, "params") == f"{total:,}"
            assert table_text(panel, i, "cell") == DEMOS["gru-vs-lstm"].runs[label].cell
            last = s.summary(2, branch=bid)
            assert (row.loss, row.metric) == (last.loss, last.metric)
            assert table_text(panel, i, "loss") == row_texts(row)[COL["loss"]]
            times = s.summaries(branch=bid).step_time
            assert row.ms_per_step > 0 and row.ms_per_step == pytest.approx(1000 * median(times))
            val_loss, val_acc = trainer.evaluate()
            assert (row.val_loss, row.val_metric) == (pytest.approx(val_loss), pytest.approx(val_acc))
    assert rows["GRU"].recurrent * 4 == rows["LSTM"].recurrent * 3  # what the demo teaches
    live = c.worker.live.trainer  # the LSTM, trained last: the window's own trainer
    assert c.branch_name == "LSTM" and counts(live) == (rows["LSTM"].params, rows["LSTM"].recurrent)
    assert c.record.step == 2 and rows["LSTM"].metric == c.record.metric
    header = [panel.table.horizontalHeaderItem(i).text() for i in range(len(COLUMNS))]
    assert header[COL["metric"]] == "accuracy" and header[COL["val metric"]] == "val accuracy"

    # the table follows training: two more steps of the LSTM
    before = {r.label: r for r in panel.rows}
    c.step(2)
    qtbot.waitUntil(lambda: c.steps == 5 and not c.playing, timeout=T)
    qtbot.waitUntil(lambda: {r.label: (r.steps, r.val_step) for r in panel.rows}["LSTM"] == (5, 5), timeout=T)
    after = {r.label: r for r in panel.rows}
    assert after["GRU"] == before["GRU"]  # not trained: unchanged
    assert after["LSTM"].loss == c.history.series("loss")[-1] != before["LSTM"].loss
    assert after["LSTM"].val_loss != before["LSTM"].val_loss
    assert table_text(panel, 1, "steps") == "5"
    ev = []
    c.command(lambda w: w.live.trainer.evaluate(), lambda r, _e: ev.append(r))
    qtbot.waitUntil(lambda: bool(ev), timeout=T)
    assert (after["LSTM"].val_loss, after["LSTM"].val_metric) == ev[0]


def test_language_model_rows_show_validation_perplexity(win, qtbot):
    demo = DEMOS["language-model"]
    c = start(qtbot, win, "language-model")
    panel = win.panels["runs"]
    assert not win.docks["runs"].visibleRegion().isEmpty()
    train_every_run(qtbot, c, 2)
    labels = list(demo.runs)
    qtbot.waitUntil(
        lambda: [(r.label, r.steps, r.val_step) for r in panel.rows] == [(x, 2, 2) for x in labels], timeout=T
    )
    rows = {r.label: r for r in panel.rows}
    with Session.open(c.path) as s:
        for label, bid in c.demos.runs().items():
            row = rows[label]
            last = s.summary(1, branch=bid)
            assert (row.loss, row.metric) == (last.loss, last.metric)
            assert row.metric_name == "perplexity" and row.ms_per_step > 0
            assert math.isfinite(row.val_metric) and row.val_metric > 1.0
            assert row.val_metric == pytest.approx(math.exp(row.val_loss))
    live = c.worker.live.trainer  # the tied-weights run, trained last
    assert c.branch_name == "tied weights" and counts(live) == (
        rows["tied weights"].params,
        rows["tied weights"].recurrent,
    )
    plain = Trainer(demo.runs["no dropout"].with_changes(device="cpu"))
    assert counts(plain) == (rows["no dropout"].params, rows["no dropout"].recurrent)
    vh = plain.task.output_size * demo.runs["no dropout"].hidden_size
    assert rows["no dropout"].params - rows["tied weights"].params == vh  # tying saves V*H
    ev = []
    c.command(lambda w: w.live.trainer.evaluate(), lambda r, _e: ev.append(r))
    qtbot.waitUntil(lambda: bool(ev), timeout=T)
    assert (rows["tied weights"].val_loss, rows["tied weights"].val_metric) == ev[0]
    header = [panel.table.horizontalHeaderItem(i).text() for i in range(len(COLUMNS))]
    assert header[COL["val metric"]] == "val perplexity"
    for i, label in enumerate(labels):
        assert table_text(panel, i, "val metric") == f"{rows[label].val_metric:.4g}"


def test_a_plain_session_and_its_branches(window, qtbot):
    """Outside demos: hidden by default (no evaluation), then every branch of the session."""
    c = window.controller
    panel = window.panels["runs"]
    assert not window.docks["runs"].isVisible() and not c.worker.validation.enabled
    c.run_until(3)
    qtbot.waitUntil(lambda: c.steps == 3 and not c.playing, timeout=T)
    qtbot.wait(600)  # longer than the worker's quiet time: it would have evaluated by now
    assert c.worker.validation.count == 0
    window.docks["runs"].show()
    assert c.worker.validation.enabled
    qtbot.waitUntil(
        lambda: [(r.label, r.steps, r.val_step) for r in panel.rows] == [("main", 3, 3)], timeout=T
    )
    c.files.continue_from(0)  # keep step 0, train on a new branch
    qtbot.waitUntil(lambda: c.branch_id != 0 and not c.busy_text, timeout=T)
    c.run_until(4)
    qtbot.waitUntil(lambda: c.steps == 4 and not c.playing, timeout=T)
    qtbot.waitUntil(lambda: [(r.steps, r.val_step) for r in panel.rows] == [(3, 3), (4, 4)], timeout=T)
    assert panel.rows[1].label == c.branch_name and panel.rows[1].loss == c.history.series("loss")[-1]
    assert panel.rows[0].params == panel.rows[1].params == counts(c.worker.live.trainer)[0]
    window.docks["runs"].hide()
    assert not c.worker.validation.enabled


def test_opening_another_file_redraws_the_curves(win, qtbot, tmp_path, tiny_config):
    """Two files whose runs have the same length and no validation: the plot shows the
    losses of the file just opened, not the curves drawn for the one before."""
    import numpy as np

    from rnnscope.sessions import LiveSession

    losses = []
    for seed in (0, 1):
        path = tmp_path / f"seed{seed}.rnnscope"
        with LiveSession.create(path, Trainer(tiny_config.with_changes(seed=seed))) as live:
            live.run(3)
        with Session.open(path) as s:
            losses.append((path, s.summaries().loss))
    assert not np.array_equal(losses[0][1], losses[1][1])
    c = win.controller
    panel = win.panels["runs"]
    win.docks["runs"].show()
    panel.quantity.setCurrentText("loss")
    for path, loss in losses:
        c.files.open(path)
        qtbot.waitUntil(lambda p=path: c.path == p and c.mode == "replay" and len(c.history) == 3, timeout=T)
        qtbot.waitUntil(
            lambda p=path, y=loss: panel._path == p and [r.loss for r in panel.rows] == [y[-1]], timeout=T
        )
        train = panel._curves[panel.rows[0].branch][0]
        qtbot.waitUntil(lambda y=loss, t=train: t.yData is not None and np.array_equal(t.yData, y), timeout=T)


def test_the_note_warns_only_about_runs_of_the_open_file(win, qtbot, tmp_path, tiny_config):
    """A model that could not be counted in a file opened before is not this file's problem."""
    from rnnscope.gui.model.runs import structure_key
    from rnnscope.sessions import LiveSession

    path = tmp_path / "r.rnnscope"
    with LiveSession.create(path, Trainer(tiny_config)) as live:
        live.run(2)
    c = win.controller
    panel = win.panels["runs"]
    win.docks["runs"].show()
    c.files.open(path)
    qtbot.waitUntil(lambda: panel._path == path and len(panel.rows) == 1 and bool(panel._branches), timeout=T)
    (branch,) = panel._branches.values()
    panel.errors.update(
        {"another file's run": "OLD cannot be built", structure_key(branch.config): "THIS one"}
    )
    panel._update_note()
    assert "THIS one" in panel.note.text() and "OLD" not in panel.note.text()


def test_each_curve_shows_its_own_run_after_switching_runs(win, qtbot):
    """Switching to another run reloads the History after the switch is announced; the curve of
    the run switched to must then be redrawn from its own steps, not kept from the other run's
    (same length, so a cache keyed on length alone kept the wrong curve)."""
    import numpy as np

    from rnnscope.gui.panels.runs import smooth

    c = start(qtbot, win, "gru-vs-lstm")
    train_every_run(qtbot, c, 6)
    c.demos.show_run("GRU")
    qtbot.waitUntil(lambda: c.demos.run_of(c.branch_id) == "GRU" and c.record is not None, timeout=T)
    qtbot.waitUntil(lambda: not c.busy_text, timeout=T)
    panel = win.panels["runs"]
    panel.refresh()
    with Session.open(c.path) as s:
        for bid in c.demos.runs().values():
            want = smooth(np.asarray(s.summaries(branch=bid).metric, dtype=np.float64))
            qtbot.waitUntil(lambda b=bid, w=want: np.allclose(panel._curves[b][0].yData, w), timeout=T)
