"""Pause and single-step a training loop in another process, through its session file.

The window (or any reader) writes a request into the file's meta table under ``control``:

    {"pause": true, "run_to": 41, "beat": 1765151234.5}

and refreshes ``beat`` (a wall-clock time) while it is open. The recording process reads that
one row (a primary-key lookup) at each step boundary and, while ``pause`` is set, waits there:
``run_to`` lets it run until that many steps are recorded (single step: the current count + 1).
A request whose ``beat`` is older than ``STALE`` seconds is ignored, so a window that closed or
crashed without saying so never leaves a script waiting for more than ``STALE`` seconds; closing
the window normally writes ``pause: false``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KEY = "control"
STALE = 10.0  # seconds without a heartbeat after which a pause request no longer holds
POLL = 0.05  # seconds between reads while paused


@dataclass(frozen=True)
class Request:
    pause: bool = False
    run_to: int | None = None  # while paused: run until this many steps are recorded
    beat: float = 0.0  # the requester's last sign of life (time.time())

    def holds(self, steps: int, now: float) -> bool:
        """Whether a loop that has recorded ``steps`` steps must wait now."""
        if not self.pause or now - self.beat > STALE:
            return False
        return self.run_to is None or steps >= self.run_to

    @classmethod
    def parse(cls, text: str | None) -> Request:
        if not text:
            return cls()
        try:
            data: Any = json.loads(text)
            run_to = data.get("run_to")
            return cls(
                bool(data.get("pause")), None if run_to is None else int(run_to), float(data.get("beat", 0))
            )
        except (ValueError, TypeError, AttributeError):
            return cls()  # a malformed request holds nobody


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    mode = "ro" if readonly else "rw"
    return sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=5.0, check_same_thread=False)


class Requester:
    """The window's side: say pause, resume or one step (a connection of its own)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._conn = _connect(self.path, readonly=False)
        self._last = Request()

    def send(self, pause: bool, run_to: int | None = None) -> None:
        self._last = Request(pause, run_to, time.time())
        self._write(self._last)

    def beat(self) -> None:
        """Keep a pause holding (call it every few seconds while the window is open)."""
        if self._last.pause:
            self.send(self._last.pause, self._last.run_to)

    def _write(self, req: Request) -> None:
        value = json.dumps({"pause": req.pause, "run_to": req.run_to, "beat": req.beat})
        with self._conn:
            self._conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (KEY, value))

    def close(self) -> None:
        """Release the loop (pause: false) and close."""
        with contextlib.suppress(sqlite3.Error):
            self.send(False)
        self._conn.close()


class Listener:
    """The training side: read the request at a step boundary and wait while it holds."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._conn = _connect(Path(path), readonly=True)

    def read(self) -> Request:
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key=?", (KEY,)).fetchone()
        except sqlite3.Error:
            return Request()  # an unreadable request never stops training
        return Request.parse(None if row is None else row[0])

    def wait(self, steps: int, *, sleep: Any = time.sleep) -> float:
        """Hold while the request says so; returns the seconds waited."""
        t0 = time.monotonic()
        while self.read().holds(steps, time.time()):
            sleep(POLL)
        return time.monotonic() - t0

    def close(self) -> None:
        self._conn.close()
