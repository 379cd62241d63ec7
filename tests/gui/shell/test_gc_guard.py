"""Garbage collection happens on the GUI thread only once a window exists (gui/gc_guard.py):
a collection on a worker thread destroyed Qt objects there and deadlocked the GUI thread."""

from __future__ import annotations

import gc
import threading


def test_a_window_turns_automatic_collection_off_and_collects_on_the_gui_thread(qtbot, tiny_config) -> None:
    from rnnscope.gui.shell import gc_guard
    from rnnscope.gui.shell.main_window import MainWindow

    win = MainWindow(interactive=False)
    qtbot.addWidget(win)
    assert gc_guard.installed() and not gc.isenabled()
    seen: list[str] = []
    gc.callbacks.append(
        lambda phase, info: seen.append(threading.current_thread().name) if phase == "start" else None
    )
    try:
        junk = []
        for _ in range(20_000):  # cycles, past generation 0's threshold
            a: list[object] = []
            a.append(a)
            junk.append(a)
        del junk
        done = threading.Event()
        worker = threading.Thread(
            target=lambda: ([[] for _ in range(50_000)], done.set()), name="rnnscope-test-worker"
        )
        worker.start()
        worker.join()
        assert done.is_set() and "rnnscope-test-worker" not in seen  # allocation there collects nothing
        qtbot.waitUntil(lambda: bool(seen), timeout=5_000)  # the GUI's timer collects
        assert set(seen) == {threading.main_thread().name}
    finally:
        gc.callbacks.pop()
