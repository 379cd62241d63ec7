"""The training thread runs at a lower priority than the GUI thread (Linux: per-thread nice)."""

from __future__ import annotations

import os
import sys
import time

import pytest

from rnnscope.gui.model.worker import TRAINING_NICENESS, TrainingWorker


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_training_thread_is_niced_and_gui_thread_is_not() -> None:
    before = os.getpriority(os.PRIO_PROCESS, 0)
    worker = TrainingWorker(lambda kind, payload: None)
    worker.start()
    try:
        deadline = time.monotonic() + 5
        while worker.thread.native_id is None and time.monotonic() < deadline:
            time.sleep(0.01)
        tid = worker.thread.native_id
        assert tid is not None
        deadline = time.monotonic() + 5
        while os.getpriority(os.PRIO_PROCESS, tid) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert os.getpriority(os.PRIO_PROCESS, tid) == min(19, before + TRAINING_NICENESS)
        assert os.getpriority(os.PRIO_PROCESS, 0) == before  # this (GUI) thread keeps its own
    finally:
        worker.stop()


def test_pending_steps_change_only_under_their_lock() -> None:
    """Single steps are added on the GUI thread and taken on the worker. ``n += 1`` on one and
    ``n -= 1`` on the other are each a read then a write, and a thread switch between them loses
    an update (rare, so a stress test would pass either way): every change must hold the lock."""
    import threading

    from rnnscope.gui.model.worker import _PendingSteps

    class Watched:
        def __init__(self) -> None:
            self.inner = threading.Lock()
            self.held = False
            self.entries = 0

        def __enter__(self) -> None:
            self.inner.acquire()
            self.held = True
            self.entries += 1

        def __exit__(self, *_: object) -> None:
            self.held = False
            self.inner.release()

    pending = _PendingSteps()
    lock = Watched()
    pending._lock = lock  # type: ignore[assignment]
    real = type(pending)

    class Checked(real):  # type: ignore[misc, valid-type]
        @property
        def _n(self) -> int:
            return self.__dict__["_n"]

        @_n.setter
        def _n(self, value: int) -> None:
            assert lock.held, "the pending-step count changed without its lock"
            self.__dict__["_n"] = value

    pending.__class__ = Checked
    pending.add(3)
    assert pending.take_one() and pending.count == 2
    pending.clear()
    assert pending.count == 0 and not pending.take_one()
    assert lock.entries == 4
