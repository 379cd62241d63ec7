"""Pause and single-step a training loop in another process, through its session file.

The window (or any reader) writes a request into the file's meta table under ``control``:

    {"pause": true, "advance": 1, "seq": 7, "beat": 1765151234.5, "watch": {...}}

and refreshes ``beat`` (a wall-clock time) every few seconds while it is open. The recording
process reads that one row (a primary-key lookup) at each step boundary and, while ``pause``
is set, waits there. ``advance`` k with a ``seq`` it has not seen yet lets it run k more steps
from wherever it is (a single step: 1), then hold again: the count is the loop's own, so a
window whose view lags the writer by a commit still steps exactly k. A request whose ``beat``
is older than ``STALE`` seconds is ignored, so a window that closed or crashed without saying
so never leaves a script waiting for more than ``STALE`` seconds; closing the window normally
writes ``pause: false``.

``watch`` is the window's breakpoint set (engine.breakpoints, ``BreakpointSet.to_dict``). The
loop checks it on each of its steps while the window is there (``Listener.check``) and holds
at the boundary right after a step that hits, until the window sends its next request: the
user's loop stops at the hit, not a commit or two later.

While it waits, the loop says so under ``HELD`` (``{"at": steps, "seq": the request it holds
under, "hits": [...], "since": time}``, ``at`` None once it runs again), written by its
recorder: the window shows "your loop waits at step N".
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

from rnnscope.engine.breakpoints import BreakpointSet, Hit

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
    watch: dict[str, Any] | None = None  # the window's breakpoints (BreakpointSet.to_dict())

    def fresh(self, now: float) -> bool:
        return now - self.beat <= STALE

    @classmethod
    def parse(cls, text: str | None) -> Request:
        if not text:
            return cls()
        try:
            data: Any = json.loads(text)
            watch = data.get("watch")
            return cls(
                bool(data.get("pause")),
                max(0, int(data.get("advance", 0))),
                int(data.get("seq", 0)),
                float(data.get("beat", 0)),
                watch if isinstance(watch, dict) else None,
            )
        except (ValueError, TypeError, AttributeError):
            return cls()  # a malformed request holds nobody


@dataclass(frozen=True)
class Held:
    """Where a loop waits (the ``HELD`` row): its step count, the request it holds under, and
    the breakpoint hits that stopped it (empty when a pause request did)."""

    at: int
    seq: int | None
    hits: tuple[Hit, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> Held | None:
        try:
            return cls.from_value(json.loads(text) if text else None)
        except ValueError:
            return None

    @classmethod
    def from_value(cls, data: Any) -> Held | None:
        """From the row's decoded JSON (None: the loop runs, or the row is unreadable)."""
        try:
            if not isinstance(data, dict) or data.get("at") is None:
                return None
            seq = data.get("seq")
            hits = tuple(Hit.from_dict(h) for h in data.get("hits") or ())
            return cls(int(data["at"]), None if seq is None else int(seq), hits)
        except (ValueError, TypeError, AttributeError, KeyError):
            return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "seq": self.seq,
            "hits": [h.to_dict() for h in self.hits],
            "since": time.time(),
        }


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

    @property
    def last(self) -> Request:
        """The request written last."""
        return self._last

    def send(self, pause: bool, advance: int = 0) -> None:
        """``pause`` False: run freely; True: hold at the next step boundary, after ``advance`` more steps."""
        self._seq += 1
        self._last = Request(pause, max(0, int(advance)), self._seq, time.time(), self._last.watch)
        self._write(self._last)

    def watch(self, breakpoints: BreakpointSet | None) -> None:
        """The breakpoints the loop checks on its steps from now on (the same request otherwise)."""
        last = self._last
        watch = None if breakpoints is None else breakpoints.to_dict()
        self._last = Request(last.pause, last.advance, last.seq, time.time(), watch)
        self._write(self._last)

    def beat(self) -> None:
        """Say the window is still there (every few seconds while it is open): a pause keeps
        holding, and the loop keeps checking the breakpoints."""
        last = self._last
        self._last = Request(last.pause, last.advance, last.seq, time.time(), last.watch)
        self._write(self._last)

    def _write(self, req: Request) -> None:
        value = json.dumps(
            {"pause": req.pause, "advance": req.advance, "seq": req.seq, "beat": req.beat, "watch": req.watch}
        )
        with self._conn:
            self._conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (KEY, value))

    def held(self) -> Held | None:
        """Where the loop waits now (None: it runs, or has not said yet)."""
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key=?", (HELD,)).fetchone()
        except sqlite3.Error:
            return None
        return Held.parse(None if row is None else row[0])

    def close(self) -> None:
        """Release the loop (pause: false) and close."""
        with contextlib.suppress(sqlite3.Error):
            self.send(False)
        self._conn.close()


class Listener:
    """The training side: read the request at a step boundary and wait while it holds; check
    the window's breakpoints on each step (``check``).

    ``report(held)`` (optional) is told where the loop waits (a Held) when it starts to, and
    ``None`` when it runs on."""

    def __init__(
        self, path: str | os.PathLike[str], report: Callable[[Held | None], None] | None = None
    ) -> None:
        self._conn = _connect(Path(path), readonly=True)
        self._report = report
        self._seq: int | None = None  # the last request whose advance was counted
        self._until: int | None = None  # run until this many steps, then hold
        self._request = Request()  # the last one read
        self._watch: dict[str, Any] | None = None  # the breakpoints ``_breakpoints`` was built from
        self._breakpoints: BreakpointSet | None = None
        self._hits: list[Hit] = []  # the hits of the last step: hold until the next request

    def read(self) -> Request:
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key=?", (KEY,)).fetchone()
        except sqlite3.Error:
            return Request()  # an unreadable request never stops training
        return Request.parse(None if row is None else row[0])

    def holds(self, req: Request, steps: int, now: float) -> bool:
        """Whether a loop that has recorded ``steps`` steps must wait now under ``req``."""
        self._request = req
        if req.watch != self._watch:  # the window's breakpoints changed: parse them once
            self._watch = req.watch
            try:
                self._breakpoints = None if req.watch is None else BreakpointSet.from_dict(req.watch)
            except (ValueError, TypeError, AttributeError, KeyError):
                self._breakpoints = None  # a set this version cannot read checks nothing
        if req.seq != self._seq:  # a new request: its advance counts from here, a hit is answered
            self._seq = req.seq
            self._until = steps + req.advance if req.advance else None
            self._hits = []
        if not req.fresh(now):
            return False
        if self._hits:
            return True  # stopped by a breakpoint: until the window answers
        if not req.pause:
            return False
        return self._until is None or steps >= self._until

    def check(self, record: Any) -> list[Hit]:
        """The window's breakpoints that ``record`` (the step just done) hits; the loop then
        holds at this boundary. Nothing is checked without a window (no fresh request)."""
        bps = self._breakpoints
        if bps is None or not len(bps) or not self._request.fresh(time.time()):
            return []
        try:
            hits = bps.check(record)
        except Exception:  # a breakpoint must never break training
            return []
        self._hits = hits
        return hits

    @property
    def needs_frame(self) -> bool:
        """Whether a following window watches a breakpoint that reads frame fields (gates,
        states ...): then every step needs its frame to be checked, as rnnscope's own runs do."""
        bps = self._breakpoints
        return bps is not None and bps.needs_frame and self._request.fresh(time.time())

    def wait(self, steps: int, *, sleep: Any = time.sleep) -> float:
        """Hold while the request (or a breakpoint hit) says so; returns the seconds waited."""
        t0 = time.monotonic()
        held = False
        while self.holds(self.read(), steps, time.time()):
            if not held and self._report is not None:
                self._report(Held(steps, self._seq, tuple(self._hits)))
            held = True
            sleep(POLL)
        if held and self._report is not None:
            self._report(None)
        return time.monotonic() - t0

    def close(self) -> None:
        self._conn.close()
