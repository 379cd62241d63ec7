"""The training thread runs at a lower priority than the GUI thread (Linux: per-thread nice)."""

from __future__ import annotations

import os
import sys
import time

import pytest

from gui.worker import TRAINING_NICENESS, TrainingWorker


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
