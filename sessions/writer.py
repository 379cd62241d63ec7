"""Recorder: writes records, checkpoints and events to a session on a background thread.

The training side calls ``submit_*``; those calls only queue work (a checkpoint's arrays
are copied first, since the optimizer changes its tensors in place). The writer thread
owns the SQLite connection and groups everything into transactions that commit every
``commit_interval`` seconds or ``commit_records`` items, whichever comes first (WAL,
synchronous=NORMAL: a killed process loses at most the uncommitted batch).

Backpressure: the queue is bounded; when the disk is slower than training, ``submit_*``
blocks instead of growing memory.

Errors: an SQLite error on the writer thread (disk full, read-only file, size cap)
rolls back the open batch and keeps it (and what arrives after) in memory, marks the
recorder unhealthy and stores a ``RecordingError``; the next ``submit_*`` or ``flush``
raises it, so training pauses. Everything committed before stays in the file.
``retry()`` writes the kept items once the problem is fixed.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import math
import queue
import sqlite3
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnscope.engine.datasets import DataFile
from rnnscope.engine.record import StepRecord
from rnnscope.sessions import checksum, datasets, record_codec, tree
from rnnscope.sessions.errors import RecordingError
from rnnscope.sessions.record_codec import SUMMARY_COLUMNS
from rnnscope.sessions.timeline import Branch

POLL = 0.25  # seconds between writer wake-ups when nothing asks for one (flush/close wake it at once)

_INSERT_STEP = (
    f"INSERT OR REPLACE INTO steps(branch, {', '.join(SUMMARY_COLUMNS)}, crc) "
    f"VALUES (?, {', '.join('?' * len(SUMMARY_COLUMNS))}, ?)"
)
_INSERT_FRAME = "INSERT OR REPLACE INTO frames(branch, step, meta, data, crc) VALUES (?, ?, ?, ?, ?)"
_INSERT_CHECKPOINT = "INSERT OR REPLACE INTO checkpoints(branch, step, after_event, skeleton, data, crc) VALUES (?, ?, ?, ?, ?, ?)"


def _with_crc(sql: str, values: tuple[Any, ...], checked: bool) -> tuple[str, tuple[Any, ...]]:
    """The insert and its values with the row's checksum, or without (a file from before crc)."""
    if checked:
        return sql, (*values, checksum.row_crc(values))
    return sql.replace(", crc)", ")").replace(", ?)", ")"), values


@dataclass(frozen=True)
class RecordSettings:
    """How a session is recorded.

    Defaults, measured with benchmarks/bench_sessions.py on a 10,000-step LSTM B32 T50 H64
    (2 CPU threads): 46.6 MB (134 checkpoints of ~270 KB: float weights and Adam moments
    barely compress; 10,000 summaries ~8.5 MB; 20 frames ~1.7 MB). A cold seek to an unstored
    frame re-runs on average K/2 and at most K optimizer steps: p95 ~0.95 * K * step time
    (~0.9 s at 12.7 ms per step). K trades file size for seek time linearly."""

    checkpoint_every: int = 75  # K: trainer state every K steps (rewind/regenerate replay < K steps)
    frame_every: int = 500  # store the full probe frame of every N-th step (1 = all, 0 = none)
    compress: bool = True  # zlib (byte-shuffled) frames and checkpoints; lossless
    commit_interval: float = 0.5  # seconds: the most a crash can lose
    commit_records: int = 1000  # or commit after this many queued items
    queue_size: int = 256  # items in flight before submit blocks (backpressure)
    max_bytes: int | None = None  # cap on the file size; reaching it stops recording like a full disk

    def __post_init__(self) -> None:
        for name in ("checkpoint_every", "commit_records", "queue_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1; got {getattr(self, name)!r}")
        if self.frame_every < 0:
            raise ValueError(f"frame_every must be >= 0 (0 = never store frames); got {self.frame_every!r}")
        if not self.commit_interval > 0:
            raise ValueError(f"commit_interval must be > 0 seconds; got {self.commit_interval!r}")

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordSettings:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def _dump(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value)  # NaN / Infinity (Python's json reads them back)
    return json.dumps(value, default=str)


class Recorder:
    """Background writer of one session file. Create it through ``LiveSession``."""

    def __init__(self, conn: sqlite3.Connection, path: Path, settings: RecordSettings) -> None:
        self.path = path
        self.settings = settings
        self._conn = conn
        self._checked = checksum.has_crc(conn, "steps")  # files from before crc: rows without it
        if settings.max_bytes is not None:
            page = conn.execute("PRAGMA page_size").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count={max(1, settings.max_bytes // page)}")
        row = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
        self.last_event_id: int = int(row[0])
        self._q: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=settings.queue_size)
        self._error: RecordingError | None = None
        self._kept: list[tuple[Any, ...]] = []  # items not written because of an error
        self._committed: dict[int, int] = {}  # branch -> highest committed step
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self.cpu_seconds = 0.0  # CPU time the writer thread has used (benchmarks)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"rnnscope-writer {path.name}", daemon=True)
        self._thread.start()
        # close (commit) at interpreter exit if the owner forgot; a partial per recorder so
        # that unregistering one leaves the others registered
        self._atexit = functools.partial(_close_at_exit, weakref.WeakMethod(self.close))
        atexit.register(self._atexit)

    # ---------------------------------------------------------------- training side
    @property
    def healthy(self) -> bool:
        return self._error is None and not self._closed

    @property
    def error(self) -> RecordingError | None:
        return self._error

    def committed_step(self, branch: int) -> int:
        """The highest step of ``branch`` known to be committed (-1 if none)."""
        with self._lock:
            return self._committed.get(branch, -1)

    def _put(self, item: tuple[Any, ...], *, hold: bool = False) -> None:
        """Queue ``item``. After a failure it raises, unless ``hold``: then the item is kept
        with the others for ``retry()`` (used for a step that has already happened)."""
        if self._closed:
            raise RecordingError(self.path, "the recorder is closed")
        if self._error is not None and not hold:
            raise self._error
        while True:
            try:
                self._q.put(item, timeout=0.25)
                if item[0] in ("flush", "stop", "retry") or self._q.qsize() >= self._q.maxsize // 2:
                    self._wake.set()
                return
            except queue.Full:
                self._wake.set()
                if self._error is not None and not hold:
                    raise self._error from None
                if not self._thread.is_alive():
                    raise RecordingError(self.path, "the writer thread stopped") from None

    def submit_step(self, branch: int, rec: StepRecord, *, store_frame: bool, hold: bool = False) -> None:
        """Queue a step's record. ``hold``: never raise; after a failure it waits for retry()."""
        self._put(("step", branch, rec, store_frame), hold=hold)

    def submit_checkpoint(self, branch: int, step: int, state: Any, *, hold: bool = False) -> None:
        """Queue the trainer state ``state`` (copied now) as the checkpoint at ``step``."""
        skeleton, arrays = tree.encode_tree(state)
        self._put(("checkpoint", branch, step, self.last_event_id, skeleton, arrays), hold=hold)

    def submit_event(self, branch: int, step: int, kind: str, name: str, old: Any, new: Any) -> int:
        """Queue a timeline event; returns its id."""
        if self._error is not None:
            raise self._error
        self.last_event_id += 1
        item = ("event", self.last_event_id, branch, step, kind, name, _dump(old), _dump(new), time.time())
        self._put(item)
        return self.last_event_id

    def submit_branch(self, branch: Branch) -> None:
        self._put(("branch", branch))

    def submit_dataset(self, df: DataFile) -> None:
        """Queue a data file for the session's datasets table (once per id; sessions.datasets)."""
        self._put(("dataset", df))

    def submit_meta(self, key: str, value: Any) -> None:
        self._put(("meta", key, json.dumps(value)))

    def inject(self, sql: str) -> None:
        """Fault injection for tests: run one SQL statement on the writer's connection, in order
        with the queued items (e.g. ``PRAGMA query_only=1`` makes later writes fail read-only)."""
        self._put(("sql", sql))

    def flush(self, timeout: float | None = 60.0) -> None:
        """Block until everything submitted so far is committed; raise the writer's error if any."""
        if self._closed:
            if self._error is not None:
                raise self._error
            return
        done = threading.Event()
        self._put(("flush", done))
        deadline = None if timeout is None else time.monotonic() + timeout
        while not done.wait(0.25):
            if not self._thread.is_alive():
                raise RecordingError(self.path, "the writer thread stopped")
            if deadline is not None and time.monotonic() > deadline:
                raise RecordingError(self.path, f"writing did not finish within {timeout} s")
        if self._error is not None:
            raise self._error

    def retry(self) -> None:
        """Try again to write what an error kept back (after freeing space, fixing permissions)."""
        if self._closed:
            raise RecordingError(self.path, "the recorder is closed")
        done = threading.Event()
        self._q.put(("retry", done))
        self._wake.set()
        done.wait()
        if self._error is not None:
            raise self._error

    def close(self, *, finalize: bool = True) -> None:
        """Commit what is queued and stop the writer. ``finalize``: fold the WAL into the file."""
        if self._closed:
            return
        self._q.put(("stop", finalize))
        self._wake.set()
        self._thread.join()
        self._closed = True
        atexit.unregister(self._atexit)

    # ------------------------------------------------------------------ writer side
    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # pragma: no cover - a bug; make it visible to the training side
            self._error = RecordingError(self.path, f"the writer stopped: {type(exc).__name__}: {exc}")
            raise

    def _loop(self) -> None:
        # The writer polls (every POLL s, or when woken by flush/close/retry/a full queue)
        # and then drains the queue: a wake-up per step would cost the training thread
        # context switches and GIL hand-overs for nothing.
        batch: list[tuple[Any, ...]] = []
        deadline = 0.0
        while True:
            self._wake.wait(POLL)
            self._wake.clear()
            while True:
                try:
                    item = self._q.get_nowait()
                except queue.Empty:
                    break
                kind = item[0]
                if kind in ("flush", "stop", "retry"):
                    batch = self._commit(batch)
                    if kind == "retry":
                        self._retry()
                    if kind == "stop":
                        self._finish(bool(item[1]))
                        return
                    item[1].set()
                    continue
                if self._error is not None:
                    self._kept.append(item)
                    continue
                try:
                    if not batch:
                        self._conn.execute("BEGIN")
                        deadline = time.monotonic() + self.settings.commit_interval
                    batch.append(item)
                    self._write(item)
                except Exception as exc:  # sqlite (disk full, read-only) or a record that cannot be stored
                    self._fail(batch, exc)
                    batch = []
                    continue
                if len(batch) >= self.settings.commit_records:
                    batch = self._commit(batch)
            if batch and time.monotonic() >= deadline:
                batch = self._commit(batch)
            self.cpu_seconds = time.thread_time()  # this thread's CPU time so far

    def _write(self, item: tuple[Any, ...]) -> None:
        conn, kind = self._conn, item[0]
        if kind == "step":
            _, branch, rec, store_frame = item
            conn.execute(*_with_crc(_INSERT_STEP, (branch, *record_codec.summary_row(rec)), self._checked))
            if store_frame and record_codec.has_frame_data(rec):
                meta, data = record_codec.frame_row(rec, compress=self.settings.compress)
                conn.execute(*_with_crc(_INSERT_FRAME, (branch, rec.step, meta, data), self._checked))
        elif kind == "checkpoint":
            _, branch, step, after, skeleton, arrays = item
            data = tree.pack_arrays(arrays, compress=self.settings.compress)
            conn.execute(*_with_crc(_INSERT_CHECKPOINT, (branch, step, after, skeleton, data), self._checked))
        elif kind == "event":
            conn.execute(
                "INSERT INTO events(id, branch, step, kind, name, old, new, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                item[1:],
            )
        elif kind == "branch":
            b: Branch = item[1]
            conn.execute(
                "INSERT INTO branches(id, name, parent, fork_step, created, config) VALUES (?, ?, ?, ?, ?, ?)",
                (b.id, b.name, b.parent, b.fork_step, b.created, json.dumps(b.config)),
            )
        elif kind == "sql":
            conn.execute(item[1])
        elif kind == "dataset":
            datasets.write(conn, item[1])
        elif kind == "meta":
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (item[1], item[2]))
        else:  # pragma: no cover - programming error
            raise AssertionError(f"unknown writer item {kind!r}")

    def _commit(self, batch: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        if not batch:
            return []
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._fail(batch, exc)
            return []
        with self._lock:
            for item in batch:
                if item[0] == "step":
                    b, s = item[1], int(item[2].step)
                    self._committed[b] = max(self._committed.get(b, -1), s)
        return []

    def _fail(self, batch: list[tuple[Any, ...]], exc: Exception) -> None:
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        self._kept = [item for item in batch if item[0] != "sql"] + self._kept  # injected faults run once
        msg = str(exc)
        if "full" in msg:
            why = "the disk is full (or the session reached its size cap)"
        elif "readonly" in msg or "read-only" in msg:
            why = "the file became read-only"
        elif not isinstance(exc, sqlite3.Error):
            why = f"a record could not be stored ({type(exc).__name__}: {msg})"
        else:
            why = f"a database error ({msg})"
        self._error = RecordingError(
            self.path,
            f"recording paused: {why}. Everything up to the last saved batch is kept; "
            f"{len(self._kept)} pending item(s) are held in memory until retry()",
        )

    def _retry(self) -> None:
        if self._error is None:
            return
        kept, self._kept, self._error = self._kept, [], None
        while not self._q.empty():  # items that arrived meanwhile keep their order
            nxt = self._q.get_nowait()
            if nxt[0] in ("flush", "retry"):
                nxt[1].set()
            elif nxt[0] == "stop":
                self._q.put(nxt)
                break
            else:
                kept.append(nxt)
        if not kept:
            return
        try:
            self._conn.execute("BEGIN")
            for item in kept:
                self._write(item)
        except Exception as exc:
            self._fail(kept, exc)
            return
        self._commit(kept)

    def _finish(self, finalize: bool) -> None:
        conn = self._conn
        try:
            if finalize and self._error is None:
                # Fold the WAL back into the file and leave it self-contained (one file to send).
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                with contextlib.suppress(sqlite3.OperationalError):  # a reader is open: stay in WAL
                    conn.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.Error:
            pass
        finally:
            conn.close()


def _close_at_exit(ref: weakref.WeakMethod[Any]) -> None:
    method = ref()
    if method is not None:
        method()
