"""sessions.ownership: a file says which process records into it, and a second writer is refused."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from rnnscope.engine import TrainConfig, Trainer
from rnnscope.sessions import Session, SessionError, ownership
from rnnscope.sessions.cli import info
from rnnscope.sessions.live import LiveSession

CFG = TrainConfig(cell="gru", task="copy", hidden_size=8, seq_len=10, delay=3, batch_size=4, device="cpu")


def _mark(path: Path, **changes: object) -> None:
    with sqlite3.connect(path) as conn:
        state = json.loads(conn.execute("SELECT value FROM meta WHERE key='writer'").fetchone()[0])
        state.update(changes)
        conn.execute("UPDATE meta SET value=? WHERE key='writer'", (json.dumps(state),))


def test_a_recording_marks_the_file_live_until_it_closes(tmp_path: Path) -> None:
    path = tmp_path / "o.rnnscope"
    live = LiveSession.create(path, Trainer(CFG))
    live.run(2)
    live.flush()
    with Session.open(path) as s:
        state = ownership.writer_state(s)
        assert state == ownership.WriterState(live=True, gone=False, pid=os.getpid(), here=True)
        assert ownership.busy(s) is None  # this very process
    live.close()
    with Session.open(path) as s:
        assert ownership.writer_state(s) == ownership.WriterState(False, False, os.getpid(), True)
    LiveSession.resume(path).close()  # marks it live again, then ended


def test_a_second_writer_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    path = tmp_path / "two.rnnscope"
    with LiveSession.create(path, Trainer(CFG)) as live:
        live.run(2)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _mark(path, live=True, pid=other.pid)
        with Session.open(path) as s:
            assert ownership.busy(s) == f"is being recorded by another process (pid {other.pid})"
        with pytest.raises(SessionError, match=f"another process \\(pid {other.pid}\\): open it to follow"):
            LiveSession.resume(path)
    finally:
        other.kill()
        other.wait(30)
    with Session.open(path) as s:  # killed: gone, and the file free again
        state = ownership.writer_state(s)
        assert state is not None and state.gone and not state.live and ownership.busy(s) is None
    assert f"writer    process {other.pid}: ended without closing the file (killed?)" in info(path)
    with LiveSession.resume(path) as live:
        assert len(live) == 2
    _mark(path, live=True, pid=other.pid, host="another-machine")  # cannot be checked from here
    with Session.open(path) as s:
        state = ownership.writer_state(s)
        assert state is not None and state.live and not state.gone
