"""Recording a real trainer, reading it back, and regenerating frames that were not stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from session_fixtures import rewrite_checksums, tiny_config

from rnnscope.engine import Trainer
from rnnscope.engine.record import StepRecord
from rnnscope.sessions import LiveSession, RecordSettings, Session
from rnnscope.sessions.record_codec import diff_records
from rnnscope.sessions.session import RegenerationMismatch


def test_stored_records_equal_the_live_ones(recorded: tuple[Path, list[StepRecord]]) -> None:
    path, recs = recorded
    with Session.open(path) as s:
        assert len(s) == 30 and s.branch.name == "main"
        for k in range(30):
            assert s.has_stored_frame(k)
            rec = s.record(k)
            assert rec.step == k and rec.has_frame
            assert diff_records(recs[k], rec) == [], k
        assert s.replayed_steps == 0  # nothing had to be regenerated


def test_regenerated_record_is_bit_identical_to_the_stored_full_one(
    recorded: tuple[Path, list[StepRecord]],
) -> None:
    path, _ = recorded
    with Session.open(path) as s:
        for k in (0, 9, 10, 17, 29):
            assert diff_records(s.record(k), s.regenerate(k)) == [], k


def test_sparse_recording_regenerates_what_a_full_recording_stores(
    tmp_path: Path, recorded: tuple[Path, list[StepRecord]]
) -> None:
    full_path, _ = recorded
    path = tmp_path / "sparse.rnnscope"
    with LiveSession.create(
        path, Trainer(tiny_config()), settings=RecordSettings(checkpoint_every=10, frame_every=0)
    ) as live:
        live.run(30)
    with Session.open(full_path) as full, Session.open(path) as sparse:
        assert sparse.stats()["frames"] == 0 and sparse.stats()["checkpoints"] == 4  # steps 0, 10, 20, 30
        for k in (3, 4, 5, 19, 20, 27):
            assert not sparse.has_stored_frame(k)
            assert diff_records(full.record(k), sparse.record(k)) == [], k
        # scrubbing forward through unstored steps costs one optimizer step each (cached trainer)
        before = sparse.replayed_steps
        sparse.record(28)
        assert sparse.replayed_steps - before == 1
        # a far jump replays from the nearest checkpoint (<= 10 steps), not from the start
        before = sparse.replayed_steps
        sparse.record(14)
        assert sparse.replayed_steps - before == 5


def test_summaries_are_the_recorded_values(recorded: tuple[Path, list[StepRecord]]) -> None:
    path, recs = recorded
    with Session.open(path) as s:
        summ = s.summaries()
        assert len(summ) == 30
        np.testing.assert_array_equal(summ.step, np.arange(30))
        np.testing.assert_array_equal(summ.loss, [r.loss for r in recs])
        np.testing.assert_array_equal(summ.grad_norm, [r.grad_norm for r in recs])
        assert np.isnan(summ.clip_threshold).all()
        assert summ.h_grad_norm.dtype == np.float64  # issue 11: float64 norms
        assert summ.h_grad_norm.shape == (30, 1, 8)
        np.testing.assert_array_equal(summ.h_grad_norm, np.stack([r.h_grad_norm for r in recs]))
        c = summ.parts["rnn"].c_grad_norm
        assert c is not None
        np.testing.assert_array_equal(c, np.stack([r.parts["rnn"].c_grad_norm for r in recs]))
        tail = s.summaries(25)
        np.testing.assert_array_equal(tail.step, [25, 26, 27, 28, 29])
        assert summ.metric_name == "accuracy"


def test_closed_session_is_one_self_contained_file(recorded: tuple[Path, list[StepRecord]]) -> None:
    path, _ = recorded
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_resume_continues_exactly_where_the_file_ends(tmp_path: Path) -> None:
    straight = Trainer(tiny_config())
    expected = [straight.step() for _ in range(25)]
    path = tmp_path / "resume.rnnscope"
    with LiveSession.create(
        path, Trainer(tiny_config()), settings=RecordSettings(checkpoint_every=10)
    ) as live:
        live.run(13)
    with LiveSession.resume(path) as live:
        assert live.trainer.step_count == 13
        more = [live.step() for _ in range(12)]
    for a, b in zip(expected[13:], more, strict=True):
        assert diff_records(a, b, frames=False) == []
    with Session.open(path) as s:
        assert len(s) == 25
        assert diff_records(expected[24], s.summary(24), frames=False) == []


def test_live_record_reads_steps_not_yet_committed(tmp_path: Path) -> None:
    settings = RecordSettings(checkpoint_every=10, frame_every=1, commit_interval=60.0)
    with LiveSession.create(tmp_path / "r.rnnscope", Trainer(tiny_config()), settings=settings) as live:
        recs = [live.step() for _ in range(5)]
        assert live.recorder.committed_step(0) == -1  # a minute-long batch: nothing committed yet
        assert diff_records(recs[4], live.record(4)) == []  # flushed on demand
        assert live.recorder.committed_step(0) == 4


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="checkpoint_every must be >= 1"):
        RecordSettings(checkpoint_every=0)
    with pytest.raises(ValueError, match="frame_every must be >= 0"):
        RecordSettings(frame_every=-1)


def test_regeneration_that_disagrees_with_the_file_is_flagged(tmp_path: Path) -> None:
    path = tmp_path / "m.rnnscope"
    with LiveSession.create(
        path, Trainer(tiny_config()), settings=RecordSettings(checkpoint_every=10, frame_every=0)
    ) as live:
        live.run(8)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE steps SET loss = loss + 1 WHERE step = 5")  # as if recorded elsewhere
    rewrite_checksums(conn)
    conn.commit()
    conn.close()
    with Session.open(path) as s:
        assert s.record(4).has_frame and s.mismatches == []
        with pytest.warns(RegenerationMismatch, match="step 5 regenerated differently"):
            rec = s.record(5)
        assert s.mismatches == [(0, 5)] and rec.has_frame
