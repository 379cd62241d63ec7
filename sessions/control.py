"""Pause and single-step a training loop in another process, through its session file.

The window (or any reader) writes a request into the file's meta table under ``control``:

    {"pause": true, "advance": 1, "seq": 7, "beat": 1765151234.5}

and refreshes ``beat`` (a wall-clock time) while it is open. The recording process reads that
one row (a primary-key lookup) at each step boundary and, while ``pause`` is set, waits there.
``advance`` k with a ``seq`` it has not seen yet lets it run k more steps from wherever it is
(a single step: 1), then hold again: the count is the loop's own, so a window whose view lags
the writer by a commit still steps exactly k. A request whose ``beat`` is older than ``STALE``
seconds is ignored, so a window that closed or crashed without saying so never leaves a
script waiting for more than ``STALE`` seconds; closing the window normally writes
``pause: false``.

While it waits, the loop says so under ``HELD`` (``{"at": steps, "since": time}``, ``at`` None
once it runs again), written by its recorder: the window shows "your loop waits at step N".
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KEY = "control"
HELD = "control_held"  # where the loop waits (written by the recording process)
STALE = 10.0  # seconds without a heartbeat after which a pause request no longer holds
POLL = 0.05  # seconds between reads while paused


@dataclass(frozen=True)
class Request:
    pause: bool = False
    advance: int = 0  # steps to run before holding again (counted by the loop, once per seq)
    seq: int = 0  # which request this is: an advance counts once per new seq
    beat: float = 0.0  # the requester's last sign of life (time.time())

    def fresh(self, now: float) -> bool:
        return now - self.beat <= STALE

    @classmethod
    def parse(cls, text: str | None) -> Request:
        if not text:
            return cls()
        try:
            data: Any = json.loads(text)
            return cls(
                bool(data.get("pause")),
                max(0, int(data.get("advance", 0))),
                int(data.get("seq", 0)),
                float(data.get("beat", 0)),
            )
        except (ValueError, TypeError, AttributeError):
            return cls()  # a malformed request holds nobody


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    mode = "ro" if readonly else "rw"
    return sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=5.0, check_same_thread=False)


class Requester:
    """The window's side: say pause, resume or run k steps (a connection of its own). A write
    can wait up to the recorder's commit interval for the file's lock: call it off a GUI thread."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._conn = _connect(self.path, readonly=False)
        self._last = Request()
        self._seq = int(time.time() * 1000)  # new seqs even after a window reopened the file

    def send(self, pause: bool, advance: int = 0) -> None:
        """``pause`` False: run freely; True: hold at the next step boundary, after ``advance`` more steps."""
        self._seq += 1
        self._last = Request(pause, max(0, int(advance)), self._seq, time.time())
        self._write(self._last)

    def beat(self) -> None:
        """Keep a pause holding (call it every few seconds while the window is open)."""
        if self._last.pause:
            last = self._last
            self._last = Request(last.pause, last.advance, last.seq, time.time())
            self._write(self._last)

    def _write(self, req: Request) -> None:
        value = json.dumps({"pause": req.pause, "advance": req.advance, "seq": req.seq, "beat": req.beat})
        with self._conn:
            self._conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (KEY, value))

    def held(self) -> int | None:
        """The step count at which the loop waits now (None: it runs, or has not said yet)."""
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key=?", (HELD,)).fetchone()
            at = None if row is None else json.loads(row[0]).get("at")
        except (sqlite3.Error, ValueError, AttributeError):
            return None
        return None if at is None else int(at)

    def close(self) -> None:
        """Release the loop (pause: false) and close."""
        with contextlib.suppress(sqlite3.Error):
            self.send(False)
        self._conn.close()


class Listener:
    """The training side: read the request at a step boundary and wait while it holds.

    ``report(at)`` (optional) is told where the loop waits (``at`` the step count) when it
    starts to, and ``None`` when it runs on."""

    def __init__(
        self, path: str | os.PathLike[str], report: Callable[[int | None], None] | None = None
    ) -> None:
        self._conn = _connect(Path(path), readonly=True)
        self._report = report
        self._seq: int | None = None  # the last request whose advance was counted
        self._until: int | None = None  # run until this many steps, then hold

    def read(self) -> Request:
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key=?", (KEY,)).fetchone()
        except sqlite3.Error:
            return Request()  # an unreadable request never stops training
        return Request.parse(None if row is None else row[0])

    def holds(self, req: Request, steps: int, now: float) -> bool:
        """Whether a loop that has recorded ``steps`` steps must wait now under ``req``."""
        if req.seq != self._seq:  # a new request: its advance counts from here
            self._seq = req.seq
            self._until = steps + req.advance if req.advance else None
        if not req.pause or not req.fresh(now):
            return False
        return self._until is None or steps >= self._until

    def wait(self, steps: int, *, sleep: Any = time.sleep) -> float:
        """Hold while the request says so; returns the seconds waited."""
        t0 = time.monotonic()
        held = False
        while self.holds(self.read(), steps, time.time()):
            if not held and self._report is not None:
                self._report(steps)
            held = True
            sleep(POLL)
        if held and self._report is not None:
            self._report(None)
        return time.monotonic() - t0

    def close(self) -> None:
        self._conn.close()
