"""GUI test setup: offscreen Qt, settings in a temporary directory, no threads left behind."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before anything imports Qt
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

import threading
import time

import pytest

TINY = dict(cell="lstm", task="copy", hidden_size=8, seq_len=10, delay=3, batch_size=4, device="cpu")


@pytest.fixture(autouse=True)
def _settings_dir(tmp_path, monkeypatch):
    """QSettings, recent files and unsaved runs go to a fresh directory per test."""
    monkeypatch.setenv("RNNSCOPE_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(autouse=True)
def _no_threads_left():
    """Fail a test that leaves a thread (training, writer, loader) running."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while True:
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not left, f"threads still running after the test: {[t.name for t in left]}"


def wait_until(qtbot, condition, timeout=30_000):
    qtbot.waitUntil(condition, timeout=timeout)


@pytest.fixture
def tiny_config():
    from rnnscope.engine import TrainConfig

    return TrainConfig(**TINY)


@pytest.fixture
def window(qtbot, tiny_config):
    """A main window running a tiny LSTM run (paused at step 0)."""
    from rnnscope.gui.shell.main_window import MainWindow

    win = MainWindow(interactive=False)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    win.controller.files.new_run(tiny_config)
    qtbot.waitUntil(lambda: win.controller.mode == "live", timeout=30_000)
    yield win
    win.close()
    assert not win.controller.threads_alive
