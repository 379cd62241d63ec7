"""sessions.start: a new session file holds its root branch and meta rows, all or nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rnnscope.sessions import Session, SessionError
from rnnscope.sessions.start import start_file
from rnnscope.sessions.writer import RecordSettings


def test_a_started_file_opens_with_its_branch_and_meta(tmp_path: Path) -> None:
    path = tmp_path / "s.rnnscope"
    conn = start_file(
        path,
        config={"external": {"modules": []}},
        settings=RecordSettings(checkpoint_every=7),
        kernels="torch",
        fingerprint={"revision": 2, "kernels": "torch"},
        branch_name="first",
        fork_step=3,
        meta={"note": {"a": 1}},
        also=lambda c: c.execute("INSERT INTO meta(key, value) VALUES ('also', '2')"),
    )
    conn.close()
    with Session.open(path) as s:
        b = s.branch
        assert (b.id, b.name, b.parent, b.fork_step, b.config) == (
            0,
            "first",
            None,
            3,
            {"external": {"modules": []}},
        )
        assert s.meta_value("note") == {"a": 1} and s.meta_value("also") == 2
        assert s.meta_value("settings")["checkpoint_every"] == 7 and s.kernels == "torch"
        assert s.numerics[0].fingerprint == {"revision": 2, "kernels": "torch"}
    with pytest.raises(SessionError, match="already exists"):
        start_file(path, config={}, settings=RecordSettings(), kernels="torch", fingerprint={})


def test_a_failure_inside_leaves_no_file_behind(tmp_path: Path) -> None:
    path = tmp_path / "f.rnnscope"

    def broken(conn: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError):
        start_file(path, config={}, settings=RecordSettings(), kernels="torch", fingerprint={}, also=broken)
    assert not path.exists()  # nothing half-started in the way of another try
    start_file(path, config={}, settings=RecordSettings(), kernels="torch", fingerprint={}).close()
    with Session.open(path) as s:
        assert [b.id for b in s.branches()] == [0]
