"""A session replays on the CPU loops it was recorded on (C++ kernels or torch loops).

The two implementations round differently in the last bit (tests/engine/test_native_kernels.py),
so a session recorded on one and regenerated on the other would not reproduce its own numbers
and Session would flag every regenerated step as a RegenerationMismatch. The file says which
loops recorded it (meta ``kernels``) and every trainer the session builds runs those.
"""

from __future__ import annotations

import json
import sqlite3
import warnings
from pathlib import Path

import pytest
from session_fixtures import tiny_config

from rnnscope.engine import Trainer, native
from rnnscope.engine.native.builder import compiler
from rnnscope.sessions import LiveSession, RecordSettings, RegenerationMismatch, Session
from rnnscope.sessions.record_codec import diff_records

needs_kernels = pytest.mark.skipif(compiler() is None, reason="no C++ compiler")
SETTINGS = RecordSettings(checkpoint_every=4, frame_every=0)


def _record(path: Path, mode: str, steps: int = 6) -> list:
    with native.forced(mode), LiveSession.create(path, Trainer(tiny_config()), settings=SETTINGS) as live:
        return [live.step(probe=True) for _ in range(steps)]


def _meta_kernels(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return json.loads(conn.execute("SELECT value FROM meta WHERE key='kernels'").fetchone()[0])


@needs_kernels
def test_a_torch_loops_session_regenerates_bit_for_bit_where_the_kernels_run(tmp_path: Path) -> None:
    path = tmp_path / "r.rnnscope"
    live_records = _record(path, "torch")
    assert _meta_kernels(path) == "torch"
    with native.forced("native"), warnings.catch_warnings():  # this process runs the C++ kernels
        warnings.simplefilter("error", RegenerationMismatch)
        with Session.open(path) as s:
            for k in (1, 5):  # 1 replays from the step-0 checkpoint, 5 from step 4
                assert diff_records(live_records[k], s.record(k)) == [], k
            assert s.mismatches == []
        assert native.mode() == "native"  # replay pinned its own trainers, not the process


@needs_kernels
def test_a_native_session_regenerates_bit_for_bit_on_the_kernels(tmp_path: Path) -> None:
    path = tmp_path / "r.rnnscope"
    live_records = _record(path, "native")
    assert _meta_kernels(path) == native.variant() and native.variant().startswith("native/")
    with native.forced("auto"), warnings.catch_warnings():
        warnings.simplefilter("error", RegenerationMismatch)
        with Session.open(path) as s:
            assert all(diff_records(live_records[k], s.record(k)) == [] for k in (1, 5))


@needs_kernels
def test_resuming_a_torch_loops_session_keeps_recording_on_the_torch_loops(tmp_path: Path) -> None:
    path = tmp_path / "r.rnnscope"
    _record(path, "torch", steps=3)
    with native.forced("native"), LiveSession.resume(path) as live:
        assert live.trainer.loops() == "torch"
        resumed = [live.step(probe=True) for _ in range(2)]
        run = live.new_run(Trainer(tiny_config(seed=5)), name="second")
        assert live.trainer.loops() == "torch" and run.name == "second"
    with native.forced("torch"):  # one uninterrupted torch-loops run gives the same numbers
        tr = Trainer(tiny_config())
        straight = [tr.step(probe=True) for _ in range(5)]
    assert [r.loss for r in resumed] == [r.loss for r in straight[3:]]
    assert all(diff_records(a, b) == [] for a, b in zip(resumed, straight[3:], strict=True))


@needs_kernels
def test_a_native_session_replayed_where_the_torch_loops_are_chosen_warns_naming_its_loops(
    tmp_path: Path,
) -> None:
    """RNNSCOPE_KERNELS=torch (or a machine that cannot build the kernels) is respected: the
    replay runs the torch loops, the numbers differ in the last bit, and the warning says why."""
    path = tmp_path / "r.rnnscope"
    _record(path, "native", steps=6)
    recorded = native.variant()  # "native/AVX512" or the like
    with native.forced("torch"), Session.open(path) as s:
        with pytest.warns(RegenerationMismatch, match=f"recorded on the {recorded} loops"):
            s.record(5)
        assert s.mismatches == [(0, 5)]


def test_files_without_the_key_were_recorded_on_the_torch_loops(tmp_path: Path) -> None:
    path = tmp_path / "r.rnnscope"
    _record(path, "torch", steps=1)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM meta WHERE key='kernels'")
    with Session.open(path) as s:
        assert s.kernels == "torch"
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO meta(key, value) VALUES ('kernels', '{not json')")
    with Session.open(path) as s:  # a damaged value does not stop the file from opening
        assert s.kernels == "unknown"
