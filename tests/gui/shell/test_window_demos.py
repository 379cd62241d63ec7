"""Demos in the window: File > Demos, the Explanation dock, suggestions, multi-run demos."""

from __future__ import annotations

import re
from argparse import Namespace

import pytest

from rnnscope.engine.demos import DEFAULT_DEMO, DEMOS
from rnnscope.gui.shell import settings
from rnnscope.sessions import Session

T = 60_000  # ms
HANGUL = re.compile("[\uac00-\ud7a3]")


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
    """Choose demo ``name`` from File > Demos and wait until it is live."""
    win.demo_actions[name].trigger()
    c = win.controller
    qtbot.waitUntil(lambda: c.mode == "live" and c.demos.demo is DEMOS[name] and not c.busy_text, timeout=T)
    return c


def test_menu_lists_every_demo_by_title(win):
    texts = [a.text() for a in win.demos_menu.actions()]
    assert texts == [d.title for d in DEMOS.values()]
    assert len(texts) == len(DEMOS) >= 8 and DEFAULT_DEMO in DEMOS


def test_default_demo_is_an_lstm_on_the_copy_task():
    cfg = next(iter(DEMOS[DEFAULT_DEMO].runs.values()))
    assert (cfg.cell, cfg.task) == ("lstm", "copy")


def test_choosing_a_demo_starts_all_its_runs(win, qtbot):
    demo = DEMOS["vanishing"]
    c = start(qtbot, win, "vanishing")
    assert c.config == demo.runs["RNN"] and c.branch_name == "RNN" and c.steps == 0
    runs = c.demos.runs()
    assert list(runs) == ["RNN", "LSTM"] and runs["RNN"] == c.branch_id
    with Session.open(c.path) as s:  # both runs are root branches of the one session file
        by_id = {b.id: b for b in s.branches()}
        assert by_id[runs["LSTM"]].parent is None and by_id[runs["LSTM"]].name == "LSTM"
        assert s.trainer_at(0, branch=runs["LSTM"]).config == demo.runs["LSTM"]
    assert [b.id for b in c.watch.breakpoints] == [b.id for b in demo.breakpoints]
    assert [b.id for b in c.worker.breakpoints] == [b.id for b in demo.breakpoints]
    expl = win.panels["explanation"]
    assert expl.heading.text() == demo.title
    assert "does not remove" in expl.text.toPlainText()
    assert set(expl.run_buttons) == {"RNN", "LSTM"} and expl.run_buttons["RNN"].isChecked()
    assert not win.docks["gradient_flow"].visibleRegion().isEmpty()  # the demo's first panel is up


def test_a_second_demo_asks_first_when_the_run_is_unsaved(win, qtbot, monkeypatch):
    c = start(qtbot, win, "lstm-copy")
    c.step()
    qtbot.waitUntil(lambda: c.steps == 1, timeout=T)
    asked = []
    monkeypatch.setattr(win, "confirm", lambda text: asked.append(text) or False)
    win.demo_actions["exploding"].trigger()
    qtbot.wait(300)
    assert asked and "not saved" in asked[0] and c.demos.demo is DEMOS["lstm-copy"] and c.steps == 1


def test_language_switch_changes_the_text_and_is_remembered(win, qtbot):
    start(qtbot, win, "highway")
    expl = win.panels["explanation"]
    assert expl.heading.text() == DEMOS["highway"].title and not HANGUL.search(expl.text.toPlainText())
    expl.set_language("ko")
    assert expl.heading.text() == DEMOS["highway"].title_ko
    assert HANGUL.search(expl.text.toPlainText()) and "망각" in expl.text.toPlainText()
    assert HANGUL.search(expl.suggestion_buttons[0][0].text())
    from rnnscope.gui.panels.explanation import has_hangul_font

    # without a Korean font Qt draws boxes: the panel says so (this machine may have none)
    assert expl.font_note.isVisibleTo(expl) == (not has_hangul_font())
    expl.set_language("en")
    assert not expl.font_note.isVisibleTo(expl) and expl.heading.text() == DEMOS["highway"].title
    expl.set_language("ko")
    assert settings.language() == "ko"
    win._title_demos()  # what opening File > Demos does
    assert win.demo_actions["vanishing"].text() == DEMOS["vanishing"].title_ko
    from rnnscope.gui.panels.explanation import ExplanationPanel

    again = ExplanationPanel(win.controller, lambda _t: True)
    qtbot.addWidget(again)
    assert again.lang == "ko" and again.heading.text() == DEMOS["highway"].title_ko


def test_live_suggestion_applies_the_edit(win, qtbot):
    c = start(qtbot, win, "lstm-copy")
    expl = win.panels["explanation"]
    button, sug = next((b, s) for b, s in expl.suggestion_buttons if s.field == "lr")
    assert c.config.lr != sug.value
    button.click()
    qtbot.waitUntil(lambda: any(e.kind == "edit" and e.name == "lr" for e in c.history.events), timeout=T)
    assert c.config.lr == sug.value
    c.step()
    qtbot.waitUntil(lambda: c.steps == 1, timeout=T)
    assert c.record.lr == sug.value  # the trainer used it


def test_structural_suggestion_starts_a_new_run_in_the_session(win, qtbot):
    c = start(qtbot, win, "lstm-copy")
    first = c.branch_id
    expl = win.panels["explanation"]
    button, sug = next((b, s) for b, s in expl.suggestion_buttons if s.field == "delay")
    button.click()
    qtbot.waitUntil(lambda: c.branch_id != first and c.mode == "live", timeout=T)
    assert c.config.delay == sug.value and c.config.lr == DEMOS["lstm-copy"].runs["LSTM"].lr
    assert c.branch_id in c.demos.runs().values() and len(c.demos.runs()) == 2
    assert {b.id for b in c.files.branches()} == {first, c.branch_id}


def test_exploding_suggestion_rewinds_and_turns_clipping_on(win, qtbot):
    c = start(qtbot, win, "exploding")
    c.run_until(5)
    qtbot.waitUntil(lambda: c.steps >= 5 and not c.playing, timeout=T)
    old = c.branch_id
    expl = win.panels["explanation"]
    button = next(b for b, s in expl.suggestion_buttons if s.field == "clip")
    button.click()
    qtbot.waitUntil(lambda: c.branch_id != old and c.config.clip is True, timeout=T)
    qtbot.waitUntil(lambda: any(e.kind == "edit" and e.name == "clip" for e in c.history.events), timeout=T)
    assert c.steps == 0  # rewound to step 0 on a new branch, clipping from there


def test_the_explanation_quotes_the_figures_of_the_run_shown(win, qtbot):
    """The text states what holds on every machine; the box under it, this run's numbers."""
    c = start(qtbot, win, "exploding")
    expl = win.panels["explanation"]
    win.docks["explanation"].raise_()
    assert not expl.figures.isVisible()  # no step yet: nothing measured
    c.run_until(6)
    qtbot.waitUntil(lambda: c.steps >= 6 and not c.playing and c.record is not None, timeout=T)
    qtbot.waitUntil(lambda: expl.figures.isVisible(), timeout=T)
    g0 = c.history.series("grad_norm")[0]
    text = expl.figures.text()
    assert text.startswith("In the run shown (RNN):") and f"‖g‖ at step 0: {g0:.3g}" in text
    assert "median growth of ‖g‖ per step over steps 0…5" in text
    expl.set_language("ko")
    qtbot.waitUntil(lambda: "0번째 스텝의 ‖g‖" in expl.figures.text(), timeout=T)
    expl.set_language("en")


def test_train_every_run_trains_each_demo_run(win, qtbot):
    c = start(qtbot, win, "vanishing")
    runs = c.demos.runs()
    c.demos.train_runs(3)
    with Session.open(c.path) as s:

        def done():
            return all(s.length(b) >= 3 for b in runs.values()) and not c.demos.training

        qtbot.waitUntil(done, timeout=T)
    qtbot.waitUntil(lambda: not c.playing and not c.busy_text, timeout=T)
    assert c.branch_id == runs["LSTM"] and c.steps == 3  # the window followed the last run


def test_unknown_demo_on_the_command_line_is_one_line_and_exit_2(capsys):
    from rnnscope.gui.shell.app import run_gui

    code = run_gui(Namespace(demo="nope", session=None, screenshot=None, steps=0, threads=None))
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "unknown demo 'nope'" in err
    for name in DEMOS:
        assert name in err
