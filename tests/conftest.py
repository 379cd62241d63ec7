"""Shared by every test directory: tests/ on sys.path (for the helper ``cpu_kinds``, which runs
code as another CPU kind would), and torch's thread count restored after each test.

The thread count is part of a session's numerics fingerprint (engine/numerics.py): a test that
sets it (``main.py train --threads 1`` runs in-process) must not change what later tests record.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _restore_torch_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    yield
    if torch.get_num_threads() != before:
        torch.set_num_threads(before)
