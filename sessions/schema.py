"""The session file: SQLite schema, format version, and opening with clear refusals.

Format 1 (``PRAGMA user_version = 1``; meta ``app = rnnscope``, ``format = 1``)::

    meta(key TEXT PRIMARY KEY, value TEXT)          app, format, created, settings (JSON),
                                                    head (branch id a reader starts on),
                                                    breakpoints, demo (JSON; optional),
                                                    kernels (JSON: the CPU loops it was recorded
                                                    on, engine.native.variant(); absent: "torch")
    branches(id, name UNIQUE, parent, fork_step, created, config JSON)
        a branch owns its steps >= fork_step; earlier steps are its parent's
    steps(branch, step, loss, metric, grad_norm, grad_norm_clipped, lr, clip_threshold,
          step_time, probe_index, metric_name, nonfinite JSON, extras JSON,
          parts JSON, arrays BLOB)                  one row per optimizer step (the summary)
    frames(branch, step, meta JSON, data BLOB)      full probe frames that were stored
    checkpoints(branch, step, after_event, skeleton JSON, data BLOB)
        trainer state at the start of ``step`` (before that step's edits); ``after_event``
        is the last event id already applied in that state
    events(id, branch, step, kind, name, old JSON, new JSON, time)
        kind: edit (a live parameter change effective from ``step``), branch (a new branch
        was forked here), fork (this branch starts here), or a note that replay ignores
        (``breakpoint``: a hit, ``new`` = Hit.to_dict(); see sessions.breakpoints)

``steps``, ``frames`` and ``checkpoints`` rows carry ``crc`` (sessions.checksum: CRC-32 of the
row's other values, checked on every read). Format-1 files written before it have no such
column and are read unchecked; nothing else about the format changed, so older readers read
newer files.

Floats in REAL columns: NULL stands for NaN (SQLite cannot hold NaN) and for a missing
clip threshold. Arrays are ``sessions.blobs`` packs. Nothing is ever pickled.

Opening (``open_readonly`` / ``open_for_append``) checks, in order and before SQLite
touches the file: it exists, is a regular file, is not empty, starts with the SQLite
header, is not shorter than its header says (truncated); then that it is an rnnscope
session, of a format this code reads, with the tables it needs. Each refusal is a
``SessionError`` naming the file and the problem; a refused file is never written.
"""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rnnscope.sessions.errors import SessionError

APP = "rnnscope"
FORMAT = 1
SQLITE_MAGIC = b"SQLite format 3\x00"

SCHEMA_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE branches (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, parent INTEGER REFERENCES branches(id),
    fork_step INTEGER NOT NULL, created REAL NOT NULL, config TEXT NOT NULL);
CREATE TABLE steps (
    id INTEGER PRIMARY KEY, branch INTEGER NOT NULL, step INTEGER NOT NULL,
    loss REAL, metric REAL, grad_norm REAL, grad_norm_clipped REAL, lr REAL, clip_threshold REAL,
    step_time REAL, probe_index INTEGER NOT NULL, metric_name TEXT NOT NULL,
    nonfinite TEXT, extras TEXT, parts TEXT NOT NULL, arrays BLOB NOT NULL, crc INTEGER);
CREATE UNIQUE INDEX steps_by_step ON steps(branch, step);
CREATE TABLE frames (
    id INTEGER PRIMARY KEY, branch INTEGER NOT NULL, step INTEGER NOT NULL,
    meta TEXT NOT NULL, data BLOB NOT NULL, crc INTEGER);
CREATE UNIQUE INDEX frames_by_step ON frames(branch, step);
CREATE TABLE checkpoints (
    id INTEGER PRIMARY KEY, branch INTEGER NOT NULL, step INTEGER NOT NULL,
    after_event INTEGER NOT NULL, skeleton TEXT NOT NULL, data BLOB NOT NULL, crc INTEGER);
CREATE UNIQUE INDEX checkpoints_by_step ON checkpoints(branch, step);
CREATE TABLE events (
    id INTEGER PRIMARY KEY, branch INTEGER NOT NULL, step INTEGER NOT NULL, kind TEXT NOT NULL,
    name TEXT NOT NULL, old TEXT, new TEXT, time REAL NOT NULL);
CREATE INDEX events_by_step ON events(branch, step);
"""

# table -> columns a format-1 reader relies on
REQUIRED_V1: dict[str, tuple[str, ...]] = {
    "meta": ("key", "value"),
    "branches": ("id", "name", "parent", "fork_step", "created", "config"),
    "steps": ("branch", "step", "loss", "metric", "grad_norm", "grad_norm_clipped", "lr",
              "clip_threshold", "step_time", "probe_index", "metric_name", "nonfinite",
              "extras", "parts", "arrays"),
    "frames": ("branch", "step", "meta", "data"),
    "checkpoints": ("branch", "step", "after_event", "skeleton", "data"),
    "events": ("id", "branch", "step", "kind", "name", "old", "new", "time"),
}  # fmt: skip


def _check_v1(conn: sqlite3.Connection, path: Path) -> None:
    for table, cols in REQUIRED_V1.items():
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        missing = [c for c in cols if c not in have]
        if not have:
            raise SessionError(path, f"damaged rnnscope session: table {table!r} is missing")
        if missing:
            raise SessionError(path, f"damaged rnnscope session: table {table!r} lacks {', '.join(missing)}")


# format version -> validator. A future format 2 adds its own entry and, where the
# reader's model changed, an adapter; format 1 files stay readable through this one.
LOADERS: dict[int, Callable[[sqlite3.Connection, Path], None]] = {1: _check_v1}

_FOREIGN = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (an .npz export?)"),
    (b"\x93NUMPY", "a numpy .npy file"),
    (b"\x80", "a Python pickle"),
    (b"\x1f\x8b", "a gzip file"),
)


def _describe_foreign(head: bytes) -> str:
    for magic, what in _FOREIGN:
        if head.startswith(magic):
            return what
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "an unknown binary file"
    return "a text file"


def check_header(path: Path) -> None:
    """Refuse files that are not (whole) SQLite databases, reading only their first bytes."""
    if not path.exists():
        raise SessionError(path, "no such file")
    if not path.is_file():
        raise SessionError(path, "not a file (a directory?)")
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise SessionError(path, f"cannot read: {exc.strerror or exc}") from None
    if size == 0:
        raise SessionError(path, "empty file (0 bytes): not an rnnscope session")
    if not head.startswith(SQLITE_MAGIC):
        if SQLITE_MAGIC.startswith(head[: len(SQLITE_MAGIC)]):
            raise SessionError(path, f"truncated: only {size} bytes, not a complete session file")
        raise SessionError(path, f"not an rnnscope session (it looks like {_describe_foreign(head)})")
    if len(head) < 100:
        raise SessionError(path, f"truncated: only {size} bytes, shorter than an SQLite header")
    (page_size,) = struct.unpack_from(">H", head, 16)
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        raise SessionError(path, "corrupt: invalid page size in the file header")
    (change,) = struct.unpack_from(">I", head, 24)
    (pages,) = struct.unpack_from(">I", head, 28)
    (valid_for,) = struct.unpack_from(">I", head, 92)
    if size % page_size:
        raise SessionError(path, f"truncated: {size} bytes is not a whole number of {page_size}-byte pages")
    if change == valid_for and pages and pages * page_size > size:
        raise SessionError(path, f"truncated: the header says {pages * page_size} bytes, the file has {size}")


def _connect(uri: str, path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=5.0, check_same_thread=False)
    except sqlite3.Error as exc:
        raise SessionError(path, f"cannot open: {exc}") from None
    return conn


def _uri(path: Path, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{path.resolve().as_uri()}?{query}"


def validate(conn: sqlite3.Connection, path: Path) -> int:
    """Check that ``conn`` holds an rnnscope session this code reads; return its format."""
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" not in tables:
            what = f"tables {', '.join(sorted(tables))}" if tables else "no tables"
            raise SessionError(path, f"an SQLite database but not an rnnscope session ({what})")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("app") != APP:
            raise SessionError(
                path, "an SQLite database but not an rnnscope session (no app=rnnscope in meta)"
            )
        try:
            fmt = int(meta.get("format", ""))
        except ValueError:
            raise SessionError(path, f"unreadable format version {meta.get('format')!r}") from None
        if fmt > FORMAT:
            raise SessionError(
                path, f"written by a newer rnnscope (session format {fmt}; this version reads up to {FORMAT})"
            )
        loader = LOADERS.get(fmt)
        if loader is None:
            raise SessionError(path, f"unknown session format {fmt}")
        loader(conn, path)
        return fmt
    except sqlite3.DatabaseError as exc:
        raise SessionError(path, f"corrupt or not a session file: {exc}") from None


def open_readonly(path: str | os.PathLike[str]) -> tuple[sqlite3.Connection, int]:
    """A read-only connection (never writes the database) and the file's format version."""
    p = Path(path)
    check_header(p)
    if not Path(f"{p}-wal").exists():
        # Validate first through an immutable view: SQLite then creates no -wal/-shm side files,
        # so a refused file is left exactly as it was. (With a -wal present a writer may be
        # active, and only a normal read-only connection sees its commits.)
        probe = _connect(_uri(p, mode="ro", immutable="1"), p)
        try:
            validate(probe, p)
        finally:
            probe.close()
    conn = _connect(_uri(p, mode="ro"), p)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError as exc:
        # A WAL file in a read-only place (no -shm can be made): read it as immutable.
        conn.close()
        if "unable to open" not in str(exc) and "readonly" not in str(exc):
            raise SessionError(p, f"corrupt or not a session file: {exc}") from None
        conn = _connect(_uri(p, mode="ro", immutable="1"), p)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise SessionError(p, f"corrupt or not a session file: {exc}") from None
    try:
        fmt = validate(conn, p)
    except BaseException:
        conn.close()
        raise
    return conn, fmt


def _writer_pragmas(conn: sqlite3.Connection) -> None:
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise sqlite3.OperationalError(f"cannot switch to WAL mode (got {mode})")
    conn.execute("PRAGMA synchronous=NORMAL")


def create(path: str | os.PathLike[str], *, overwrite: bool = False) -> sqlite3.Connection:
    """A new, empty format-1 session at ``path`` (WAL mode), as a connection in autocommit mode."""
    p = Path(path)
    if p.exists():
        if not overwrite:
            raise SessionError(p, "already exists (choose another name, or overwrite)")
        if not p.is_file():
            raise SessionError(p, "exists and is not a file")
        for suffix in ("", "-wal", "-shm", "-journal"):
            side = Path(str(p) + suffix)
            try:
                side.unlink(missing_ok=True)
            except OSError as exc:
                raise SessionError(p, f"cannot replace: {exc.strerror or exc}") from None
    if not p.parent.exists():
        raise SessionError(p, f"folder {p.parent} does not exist")
    if not os.access(p.parent, os.W_OK):
        raise SessionError(p, f"cannot create: folder {p.parent} is read-only")
    conn = _connect(_uri(p, mode="rwc"), p)
    conn.isolation_level = None
    try:
        _writer_pragmas(conn)
        conn.execute("BEGIN")
        conn.execute(f"PRAGMA user_version={FORMAT}")
        for stmt in SCHEMA_V1.split(";"):
            if stmt.strip():
                conn.execute(stmt)
        now = time.time()
        rows = [("app", APP), ("format", str(FORMAT)), ("created", json.dumps(now)), ("head", "0")]
        conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", rows)
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        conn.close()
        raise SessionError(p, f"cannot create: {exc}") from None
    return conn


def open_for_append(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A writable connection to an existing session (validated first; WAL mode)."""
    p = Path(path)
    check_header(p)
    if not os.access(p, os.W_OK) or not os.access(p.parent, os.W_OK):
        raise SessionError(p, "read-only: cannot record into it (copy it somewhere writable)")
    conn = _connect(_uri(p, mode="rw"), p)
    conn.isolation_level = None
    try:
        validate(conn, p)
        _writer_pragmas(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise SessionError(p, f"cannot open for recording: {exc}") from None
    except BaseException:
        conn.close()
        raise
    return conn


def read_meta(conn: sqlite3.Connection) -> dict[str, Any]:
    return dict(conn.execute("SELECT key, value FROM meta").fetchall())
