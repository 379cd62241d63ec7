"""Shared by every test directory: tests/ on sys.path (for the helper ``cpu_kinds``, which runs
code as another CPU kind would), torch's thread count restored after each test, and garbage
collected on the main thread after each test once a window has turned automatic collection off.

The thread count is part of a session's numerics fingerprint (engine/numerics.py): a test that
sets it (``main.py train --threads 1`` runs in-process) must not change what later tests record.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _restore_torch_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    yield
    if torch.get_num_threads() != before:
        torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _collect_on_the_main_thread() -> Iterator[None]:
    """Once a window has turned automatic garbage collection off (gui/gc_guard.py), collect
    after every test, here on the main thread: the tests run no Qt event loop between them to
    drive the GUI's collection timer, and a worker thread must never be the one to free Qt
    objects."""
    yield
    if not gc.isenabled():
        from rnnscope.gui.shell import gc_guard  # imported already: only a window turns collection off

        gc_guard.collect_if_due()
