"""Start a session file: its root branch and the meta rows every recording has, in one transaction.

``LiveSession.create`` (rnnscope's own runs) and ``sessions.attached`` (the user's own loop) both
begin a file this way; what differs is the root branch's config and the extra meta rows (a
run's data file, an attached run's writer), which the caller passes in.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rnnscope.sessions import provenance, schema
from rnnscope.sessions.writer import RecordSettings


def start_file(
    path: str | os.PathLike[str],
    *,
    config: Mapping[str, Any],
    settings: RecordSettings,
    kernels: str,
    fingerprint: Mapping[str, Any],
    overwrite: bool = False,
    branch_name: str = "main",
    fork_step: int = 0,
    meta: Mapping[str, Any] | None = None,
    also: Callable[[sqlite3.Connection], None] | None = None,
) -> sqlite3.Connection:
    """A new session at ``path`` (SessionError when it exists and ``overwrite`` is off) with root
    branch 0 (``config``, starting at ``fork_step``), the ``settings``, ``kernels`` and numerics
    (``fingerprint`` recorded from ``fork_step``) meta rows, ``meta`` (key -> JSON value) and
    whatever ``also(conn)`` writes, committed together; on any failure nothing is left at ``path``.
    Returns the connection for a Recorder."""
    conn = schema.create(path, overwrite=overwrite)
    recorded_by = provenance.encode_entries([provenance.Entry(0, int(fork_step), dict(fingerprint))])
    rows = {
        "settings": settings.to_dict(),
        "kernels": kernels,
        "numerics": recorded_by,
        **(meta or {}),
    }
    try:
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO branches(id, name, parent, fork_step, created, config) VALUES (0, ?, NULL, ?, ?, ?)",
            (branch_name, int(fork_step), time.time(), json.dumps(dict(config))),
        )
        if also is not None:
            also(conn)
        conn.executemany(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
            [(k, json.dumps(v)) for k, v in rows.items()],
        )
        conn.execute("COMMIT")
    except BaseException:  # no half-started file: the name stays free for another try
        with contextlib.suppress(sqlite3.Error):
            conn.rollback()
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        raise
    return conn
