"""The window follows the example script (examples/attach_your_model.py) training in another
process: the panels built for its LSTM, the slider growing, Pause and Step reaching the
script, what cannot be done with such a run refused, and closing the window releasing it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rnnscope.engine import TrainConfig
from rnnscope.sessions import Session
from tests.gui.conftest import TINY

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def script(tmp_path: Path):
    """The example training in another process (long enough to outlive the test)."""
    path = tmp_path / "run.rnnscope"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "attach_your_model.py"), str(path), "--steps", "100000"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "the script did not start recording"
        time.sleep(0.1)
    yield path, proc
    proc.kill()
    proc.wait(30)


def recorded(path: Path) -> int:
    with Session.open(path) as s:
        return len(s)


def test_the_window_follows_pauses_and_steps_the_script(qtbot, script) -> None:
    from rnnscope.gui.shell.main_window import MainWindow

    path, proc = script
    win = MainWindow(interactive=False, restore_layout=False)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    c = win.controller
    win.open_path(path, follow=True)
    qtbot.waitUntil(lambda: c.mode == "follow" and c.steps > 12 and c.record is not None, timeout=120_000)
    assert c.playing and "your training loop: lstm (LSTM H=32 L=2)" in win.windowTitle()
    assert list(win.panels["gates"].maps) == ["i", "f", "g", "o"]
    assert win.panels["states"]._fields == ["c", "h", "dc", "dh"]
    assert (
        c.record.has_frame and c.record.step % 10 == 0 and c.record.parts["lstm"].hidden.shape == (2, 20, 32)
    )
    grown = win.transport.slider.maximum()
    qtbot.waitUntil(lambda: win.transport.slider.maximum() > grown + 5, timeout=60_000)
    assert "following" in win.transport.position.text()
    assert not win.actions_by_name["continue"].isEnabled() and not win.actions_by_name["save_as"].isEnabled()

    win.actions_by_name["play"].trigger()  # Pause: the script waits at its next step
    qtbot.waitUntil(lambda: c.follower.writer.held is not None, timeout=30_000)
    held = c.follower.writer.held.at
    qtbot.waitUntil(lambda: c.steps == held, timeout=30_000)
    qtbot.wait(1500)
    assert recorded(path) == held and proc.poll() is None and not c.playing
    assert win.actions_by_name["play"].text() == "▶ Play"
    assert f"waits at step {held}" in win.status.labels["device"].text()

    win.actions_by_name["step"].trigger()  # one step of the script
    qtbot.waitUntil(
        lambda: c.steps == held + 1 and getattr(c.follower.writer.held, "at", None) == held + 1,
        timeout=30_000,
    )
    assert recorded(path) == held + 1

    win.transport.slider.setValue(3)  # an unprobed step: the nearest stored frame is shown
    qtbot.waitUntil(lambda: c.shown_step == 0 and not c.busy_text, timeout=30_000)
    assert np.isfinite(c.history.series("loss")).all()

    params = win.panels["params"]
    assert params.tree.isHidden() and "your own training loop" in params.status.text()
    assert "lstm: LSTM, hidden 32, 2 layer(s)" in params.status.text()

    assert win.errors == []
    c.files.new_run(TrainConfig(**TINY))  # leaving the followed run: the script goes on at once
    qtbot.waitUntil(lambda: c.mode == "live" and recorded(path) > held + 5, timeout=60_000)
    assert not params.tree.isHidden() and c.shape is not None and c.shape.names == ["rnn"]
    assert win.actions_by_name["continue"].isEnabled() and c.follower.reader is None
    win.close()
    assert not c.threads_alive
