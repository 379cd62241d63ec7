"""TrainingWorker: the thread that owns the recording LiveSession and runs optimizer steps.

The GUI never trains. It tells the worker to play, pause, step or run a command, and
reads what came out on its redraw timer:

- ``play()/pause()/step(n)/run_until(k)/set_speed(steps_per_s)`` only set flags and wake
  the thread; they never block.
- ``submit(fn, on_done)`` runs ``fn(worker)`` on the worker thread *between* two steps
  (edits, rewinds, new runs, saving), then ``post("done", ...)`` hands the result back.
- finished StepRecords are appended to a list that ``take_records()`` empties: the GUI
  drains it ~30 times a second, never once per step.
- ``breakpoints`` (an engine BreakpointSet, replaced whole, never mutated: the controller
  hands over a fresh copy) is checked on every step's record. A hit is put on the session's
  timeline, pauses training (``pause_on_hit``) and is posted as ``("hits", (record, hits))``.
  A breakpoint that needs a probe frame (mean forget gate, an expression over gates, states
  or singular values) makes *every* step a probe step while it is enabled: a watch condition
  that is only looked at every ``probe_every`` steps would let the run walk past the step
  that broke it. That costs the frame (~+30-60% per step on CPU for small models); the
  Breakpoints dock says so next to such a breakpoint. The set is also written to the file
  (meta ``breakpoints``) whenever it or the live session changes.
- ``validation`` (gui.validation.ValidationSchedule) evaluates the live trainer on held-out
  data now and then, between steps, while ``set_validation(True)`` (the Runs panel is shown);
  the results go into the session file, where the panel reads them.

``post(kind, payload)`` is called on the worker thread; the controller turns it into a
queued call on the main thread. Nothing here imports Qt.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

from rnnscope.engine.breakpoints import BreakpointSet, default_breakpoints
from rnnscope.gui.model.validation import QUIET_S, ValidationSchedule
from rnnscope.sessions.breakpoints import record_hit, save_breakpoints

Post = Callable[[str, Any], None]

# Added to the training thread's nice value: it yields the CPU to the GUI thread when both want it.
TRAINING_NICENESS = 5


def _lower_priority() -> None:
    """Give this thread (and the OpenMP team torch creates from it, which inherits the
    value) a lower scheduling priority than the GUI thread: on a machine with as many
    cores as torch threads, redraws otherwise wait for the training kernels. Linux keeps a
    nice value per thread; elsewhere this is a no-op."""
    with contextlib.suppress(AttributeError, OSError):  # no setpriority (Windows) or not allowed
        tid = threading.get_native_id()
        os.setpriority(
            os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + TRAINING_NICENESS)
        )


class _PendingSteps:
    """A count of single steps asked for. The GUI thread adds to it while the worker takes from
    it: ``n += 1`` on one thread and ``n -= 1`` on another can lose an update (each is a read and
    a write), so both go through one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._n = 0

    @property
    def count(self) -> int:
        return self._n

    def add(self, n: int) -> None:
        with self._lock:
            self._n += n

    def take_one(self) -> bool:
        with self._lock:
            if self._n <= 0:
                return False
            self._n -= 1
            return True

    def clear(self) -> None:
        with self._lock:
            self._n = 0


class TrainingWorker:
    def __init__(self, post: Post) -> None:
        self._post = post
        self.live: Any = None  # sessions.live.LiveSession, touched only on the worker thread
        self._commands: deque[tuple[Callable[[TrainingWorker], Any], Any]] = deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._records: list[Any] = []
        self._playing = False
        self._pending = _PendingSteps()  # single steps asked for (GUI thread adds, worker takes)
        self._until: int | None = None
        self._interval = 0.0  # seconds between steps (speed limit); 0 = as fast as possible
        self._quit = False
        self._stamps: deque[float] = deque(maxlen=32)
        self.breakpoints: BreakpointSet = default_breakpoints()
        self.pause_on_hit = True
        self._saved_bps: tuple[Any, Any] = (None, None)  # (live, set) last written to the file
        self.busy = False  # a step or command is running
        self.validation = ValidationSchedule()
        self._last_work = 0.0  # monotonic time the last step or command ended
        self.thread = threading.Thread(target=self._run, name="rnnscope-training", daemon=True)

    # ---------------------------------------------------------------- GUI side
    def start(self) -> None:
        self.thread.start()

    @property
    def playing(self) -> bool:
        return self._playing

    def play(self) -> None:
        self._until = None
        self._set_playing(True)

    def pause(self) -> None:
        self._until = None
        self._pending.clear()
        self._set_playing(False)

    def step(self, n: int = 1) -> None:
        self._pending.add(n)
        self._wake.set()

    def run_until(self, step: int) -> None:
        """Play until the trainer has done ``step`` steps, then pause."""
        self._until = step
        self._set_playing(True)

    def set_speed(self, steps_per_s: float | None) -> None:
        """None or 0: as fast as possible."""
        self._interval = 1.0 / steps_per_s if steps_per_s else 0.0
        self._wake.set()

    def submit(self, fn: Callable[[TrainingWorker], Any], on_done: Any = None) -> None:
        self._commands.append((fn, on_done))
        self._wake.set()

    def set_validation(self, on: bool) -> None:
        """Evaluate the live run on held-out data now and then (see gui.validation) while on."""
        self.validation.enabled = on
        self._wake.set()

    def set_breakpoints(self, bset: BreakpointSet) -> None:
        """Watch ``bset`` from the next step on (the worker keeps this object: do not mutate it)."""
        self.breakpoints = bset
        self.submit(lambda w: w._save_breakpoints())

    def take_records(self) -> list[Any]:
        with self._lock:
            out, self._records = self._records, []
        return out

    def steps_per_second(self) -> float:
        s = list(self._stamps)
        if len(s) < 2 or time.monotonic() - s[-1] > 2.0:
            return 0.0
        return (len(s) - 1) / (s[-1] - s[0]) if s[-1] > s[0] else 0.0

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the step in progress, close the live session (commit) and end the thread."""
        self._quit = True
        self._playing = False
        self._wake.set()
        if self.thread.is_alive():
            self.thread.join(timeout)

    # ------------------------------------------------------------- worker side
    def _set_playing(self, on: bool) -> None:
        if on != self._playing:
            self._playing = on
            self._post("playing", on)
        self._wake.set()

    def _run(self) -> None:
        _lower_priority()
        next_at = 0.0
        while not self._quit:
            self._run_commands()
            if self._quit:
                break
            want = self._playing or self._pending.count > 0
            if not want or self.live is None:
                self._rest()
                continue
            now = time.monotonic()
            if self._interval and now < next_at:
                self._wake.wait(next_at - now)
                self._wake.clear()
                continue
            next_at = max(now, next_at) + self._interval if self._interval else 0.0
            self._one_step()
        self._shutdown()

    def _one_step(self) -> None:
        self.busy = True
        bps = self.breakpoints
        try:
            self._save_breakpoints()
            rec = self.live.step(probe=True if bps.needs_frame else None)
            hits = bps.check(rec) if len(bps) else []
        except Exception as exc:
            self._pending.clear()
            self._until = None
            self._set_playing(False)
            self._post("error", exc)
            return
        finally:
            self.busy = False
        self._stamps.append(time.monotonic())
        with self._lock:
            self._records.append(rec)
        try:
            for hit in hits:
                record_hit(self.live, hit)
        except Exception as exc:  # a recording error: shown now, the next step raises it again
            self._post("error", exc)
        self._pending.take_one()
        if self._until is not None and rec.step + 1 >= self._until:
            self._until = None
            self._set_playing(False)
        if hits:
            if self.pause_on_hit:
                self._pending.clear()
                self._until = None
                self._set_playing(False)
            self._post("hits", (rec, hits))
        self.validation.note_step(rec.step_time)
        if self.validation.periodic_due(self.live.trainer):
            self._validate()
        self._last_work = time.monotonic()

    def _rest(self) -> None:
        """Nothing to train: wait for a wake-up, or evaluate the live run once it has been
        quiet for QUIET_S (single steps at a human pace each get theirs)."""
        wait = 0.5
        if self.live is not None and self.validation.due(self.live.trainer):
            quiet = self._last_work + QUIET_S - time.monotonic()
            if quiet <= 0:
                self._validate()
                return
            wait = quiet
        self._wake.wait(wait)
        self._wake.clear()

    def _validate(self) -> None:
        self.busy = True
        try:
            self.validation.run(self.live)
        except Exception as exc:  # storing the result failed (a recording error): shown now
            self._post("error", exc)
        finally:
            self.busy = False
            self._last_work = time.monotonic()

    def _run_commands(self) -> None:
        if self._commands and self.live is not None and self.validation.due(self.live.trainer):
            self._validate()  # a command may switch runs: the step this run stopped at first
        while self._commands:
            fn, on_done = self._commands.popleft()
            self.busy = True
            try:
                result, exc = fn(self), None
            except Exception as e:
                result, exc = None, e
                exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            finally:
                self.busy = False
                self._last_work = time.monotonic()
            self._post("done", (on_done, result, exc))
        if self.live is not None and self.live.healthy:
            try:
                self._save_breakpoints()
            except Exception as exc:  # a recording error: the next step reports it
                self._post("error", exc)

    def _save_breakpoints(self) -> None:
        """Write the watched set into the live session when it or the session changed."""
        live, bps = self.live, self.breakpoints
        if live is None or (self._saved_bps[0] is live and self._saved_bps[1] is bps):
            return
        save_breakpoints(live, bps)
        self._saved_bps = (live, bps)

    def _shutdown(self) -> None:
        self._commands.clear()
        live, self.live = self.live, None
        if live is not None:
            try:
                live.close()
            except Exception as exc:
                self._post("error", exc)
