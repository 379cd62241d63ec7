"""Follower: the window on a session file that another process writes (Qt-free).

A run recorded from the user's own training loop (``rnnscope.attach``, sessions.attached) is
written by the user's script; the window opens that file in *follow* mode:

- every ``FOLLOW_S`` the loader thread reads the steps it has not seen (their summaries, and
  the stored frame of each probed step), checks the watched breakpoints on each of them, and
  the owner's thread appends them to the timeline, so every over-steps plot and the step slider
  grow; while the views follow, they show the newest step with a frame;
- a seek lands on a step with a stored frame (the nearest one at or before the step asked
  for): nothing else of such a run can be shown, since its steps cannot be re-run;
- Pause, Step and Play reach the user's loop through the file (sessions.control): the
  requests are written by a thread of their own (a write can wait for the writer's commit),
  a heartbeat (every ``BEAT_S``) keeps a pause holding while the window is open, and closing
  releases the loop. The watched breakpoints travel with the requests: the loop checks them on
  each of its steps and holds right after a hit (sessions.control); the window checks the
  steps it reads too, marks the hits on the timeline and shows the hit step;
- the parts shown are those of one view (gui.model.shape): all attached modules side by side,
  or one module at a time when their layers or hidden sizes differ.

A file of rnnscope's own runs that another process records into (``main.py train --out``; the
file's writer mark, sessions.ownership) is followed too, as is any file opened with
``main.py open FILE --follow``: the same reads, with its own config's panels; its frames are
regenerated as in replay, and the transport cannot reach that process.
"""

from __future__ import annotations

import bisect
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnscope.engine import StepRecord, TrainConfig
from rnnscope.engine.breakpoints import BreakpointSet, Hit
from rnnscope.gui.model.history import Event as TimelineMark
from rnnscope.gui.model.jobs import Jobs
from rnnscope.gui.model.shape import RunShape, views_of_external
from rnnscope.sessions import control, ownership
from rnnscope.sessions.attached import EXTERNAL
from rnnscope.sessions.breakpoints import HIT_EVENT

if TYPE_CHECKING:
    from rnnscope.gui.model.app import AppModel
    from rnnscope.sessions.session import Session
    from rnnscope.sessions.summaries import Summaries
    from rnnscope.sessions.timeline import Branch, TimelineEvent

FOLLOWED_RUN = (
    "this run is recorded by another process (your own training loop, or `main.py train`): it cannot "
    "be re-run, rewound, branched or edited here; Pause, Step and Play reach a loop of your own "
    "(rnnscope.attach); a finished `train` run opened again replays as any file"
)
FOLLOW_S = 0.25  # seconds between two reads of new steps
BEAT_S = 2.0  # seconds between heartbeats that keep a pause holding (control.STALE is 10 s)
RETRY_S = 5.0  # seconds between reads while the file cannot be read
MAX_READ = 256  # steps per read at most (a long backlog comes in over a few ticks)


@dataclass(frozen=True)
class Writer:
    """What the file says about the process that writes it."""

    external: bool  # recorded from the user's own loop (the transport can reach it)
    live: bool  # it is recording (it has not detached)
    gone: bool = False  # it said live but its process is not running any more (killed)
    held: control.Held | None = None  # where the user's loop waits now (and the hits that stopped it)

    def describe(self) -> str:
        if not self.external:
            if self.gone:
                return "the recording process ended without closing the file (killed?)"
            return "following a file another process writes" if self.live else "the recording has ended"
        if self.gone:
            return "the training process ended without detaching (killed?): no more steps will come"
        if not self.live:
            return "the training loop has detached: the run is complete"
        if self.held is not None:
            why = f" (breakpoint: {self.held.hits[0].name})" if self.held.hits else ""
            return f"your training loop waits at step {self.held.at}{why}"
        return "your training loop is running"


def writer_of(reader: Session) -> Writer:
    """Read the writer's state now (a few primary-key reads); call it off the GUI thread. A file
    without a writer's mark (recorded before there was one) is taken to be written still."""
    state = ownership.writer_state(reader)
    live = True if state is None else state.live
    gone = state is not None and state.gone
    if not reader.external:
        return Writer(external=False, live=live, gone=gone)
    held = control.Held.from_value(reader.meta_value(control.HELD)) if live else None
    return Writer(True, live, gone, held)


def views_of(reader: Session) -> tuple[list[RunShape], TrainConfig | None]:
    """The views of the file's current branch and its config (None for an attached run)."""
    config = dict(reader.branch.config)
    if EXTERNAL in config:
        return views_of_external(config[EXTERNAL].get("modules", [])), None
    n = reader.length()
    cfg = reader.config_at(n) if n else TrainConfig.from_dict(config)
    return [RunShape.of_config(cfg)], cfg


@dataclass(frozen=True)
class Opened:
    branch: Branch  # the one followed
    views: list[RunShape]
    config: TrainConfig | None
    summaries: Summaries
    events: list[TimelineEvent]
    framed: list[int]
    writer: Writer


@dataclass(frozen=True)
class Fresh:
    start: int
    records: list[StepRecord]  # the new steps (probed ones with their frame), in order
    framed: list[int]
    hits: list[Hit]
    writer: Writer
    ends: bool  # the read reached the file's end


class Follower:
    """The follow mode of ``app`` (an AppModel): its reads, views and requests to the writer."""

    def __init__(self, app: AppModel) -> None:
        self.app = app
        self.reader: Session | None = None  # the app's reader while following (loader thread only)
        self.branch_id, self.branch_name = 0, ""  # the branch followed
        self.views: list[RunShape] = []
        self.view = 0
        self.framed: list[int] = []  # steps with a stored frame, ascending
        self.writer = Writer(external=False, live=False)
        self.pause_requested = False
        self._requester: control.Requester | None = None
        self._control: Jobs | None = None  # the thread that writes requests
        self._reading = False
        self._caught_up = True
        self._next_read = 0.0
        self._last_beat = 0.0
        self._arrivals: deque[tuple[float, int]] = deque(maxlen=64)  # (time, steps) of each read
        self._failing = False  # the last read failed (reported once)
        self._unreachable = False  # the last request could not be written (reported once)

    # ------------------------------------------------------------ facts
    @property
    def active(self) -> bool:
        return self.app.timeline.mode == "follow"

    @property
    def playing(self) -> bool:
        """The followed run goes on: its writer records and the window has not paused it."""
        return self.active and self.writer.live and not self.pause_requested

    @property
    def shape(self) -> RunShape | None:
        return self.views[self.view] if self.views else None

    def state(self) -> str:
        """Where the followed loop is, in a few words (the status bar)."""
        w = self.writer
        if w.external and w.live and self.pause_requested and w.held is None:
            return "pausing your loop (at its next step)…"
        return w.describe()

    def steps_per_second(self) -> float:
        """How fast the followed run records steps (over the last few seconds of reads)."""
        now = time.monotonic()
        recent = [(t, n) for t, n in self._arrivals if now - t < 5.0]
        if len(recent) < 2 or not self.playing:
            return 0.0
        (t0, n0), (t1, n1) = recent[0], recent[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    # ------------------------------------------------------------ start and stop
    def start(self, reader: Session, path: Path) -> None:
        """Show ``reader``'s file (already open, its current branch) and follow it."""
        app = self.app

        def load() -> Opened:
            views, cfg = views_of(reader)
            branch = reader.branch
            bid = branch.id
            return Opened(
                branch,
                views,
                cfg,
                reader.summaries(branch=bid),
                reader.timeline(branch=bid),
                reader.framed_steps(branch=bid),
                writer_of(reader),
            )

        def done(opened: Opened | None, exc: BaseException | None) -> None:
            if exc is not None or opened is None:
                app.fail(exc or RuntimeError("nothing read"), f"cannot follow {path.name}")
                return
            self.stop()
            self.reader = reader
            self.branch_id, self.branch_name = opened.branch.id, opened.branch.name
            self.views, self.view = opened.views, 0
            self.framed = list(opened.framed)
            self.writer = opened.writer
            self.pause_requested = False
            tl = app.timeline
            tl.move(mode="follow", live_branch_id=None, path=path, device="")
            self._show_history(opened.summaries, opened.events, opened.config)
            if opened.writer.external:
                self._control = Jobs("control", app.post)
                self._control.submit(lambda: self._connect(path), self._connected)
            app.events.playing_changed.emit(self.playing)
            app.events.message.emit(f"{path.name}: {self.writer.describe()}")

        app.background(load, done, busy=f"reading {path.name}")

    def _connect(self, path: Path) -> control.Requester:
        return control.Requester(path)

    def _connected(self, requester: control.Requester | None, exc: BaseException | None) -> None:
        if exc is not None or requester is None:  # a read-only file: watch only
            self.app.events.message.emit(f"cannot pause the training loop from here: {exc}")
            return
        if self._control is None:  # stopped meanwhile
            requester.close()
            return
        self._requester = requester
        self.breakpoints_changed()  # the loop checks them from its next step on

    def _watched(self) -> BreakpointSet | None:
        """What the loop is to check on its own steps (nothing while hits only mark, as in a screenshot)."""
        return self.app.watch.breakpoints.copy() if self.app.worker.pause_on_hit else None

    def breakpoints_changed(self) -> None:
        """The watched set changed (or the window connected): hand it to the loop."""
        watched = self._watched()
        self._last_beat = time.monotonic()
        self._send(lambda r: r.watch(watched))

    def _show_history(self, summ: Summaries, events: list[Any], config: TrainConfig | None) -> None:
        tl = self.app.timeline
        shape = self.shape
        names = shape.names if shape is not None else list(summ.parts)
        tl.history.load(summ.select(names) if self.writer.external else summ, events)
        tl.set_run(self.branch_id, self.branch_name, config, shape)
        tl.history_changed.emit()
        tl.session_changed.emit()
        self._caught_up = True
        self._next_read = 0.0
        self.show_newest()

    def stop(self) -> None:
        """Stop following (another file is opened, or the window closes): the loop is released."""
        jobs, self._control = self._control, None
        requester, self._requester = self._requester, None
        if jobs is not None:  # (queued requests are dropped; the one being written finishes first)
            jobs.close(requester.close if requester is not None else None)  # the release, written now
        self.reader = None
        self.views, self.framed = [], []
        self.pause_requested = False
        self._reading = False
        self._failing = self._unreachable = False

    # ------------------------------------------------------------ views
    def set_view(self, index: int) -> None:
        """Show another of the run's views (one attached module of several): its history is read again."""
        if not 0 <= index < len(self.views) or index == self.view or self.reader is None:
            return
        reader, app = self.reader, self.app
        self.view = index
        bid = self.branch_id

        def load() -> tuple[Summaries, list[Any]]:
            return reader.summaries(branch=bid), reader.timeline(branch=bid)

        def done(result: tuple[Summaries, list[Any]] | None, exc: BaseException | None) -> None:
            if exc is not None or result is None or self.reader is not reader:
                if exc is not None:
                    app.fail(exc)
                return
            self._show_history(result[0], result[1], None)

        app.background(load, done, busy=f"reading {self.views[index].label}")

    def select(self, rec: StepRecord) -> StepRecord:
        """``rec`` as the current view shows it (its parts only)."""
        shape = self.shape
        if shape is None or not self.writer.external:
            return rec
        return rec.select([n for n in shape.names if n in rec.parts])

    # ------------------------------------------------------------ the tick
    def poll(self) -> None:
        """On the window's redraw tick: read new steps now and then; keep a pause alive."""
        now = time.monotonic()
        if self._requester is not None and self.writer.live and now - self._last_beat > BEAT_S:
            self.breakpoints_changed()  # the heartbeat: the window is there (and what it watches)
        if self._reading or self.reader is None or now < self._next_read:
            return
        self._reading = True
        self._next_read = now + (FOLLOW_S if self._caught_up else 0.0)
        reader, start = self.reader, self.app.timeline.steps
        bps = self.app.watch.breakpoints.copy()
        self.app.background(lambda: self._read(reader, start, bps), self._on_read)

    def _read(self, reader: Session, start: int, bps: BreakpointSet) -> Fresh:
        """Steps ``start..`` (at most MAX_READ), on the loader thread."""
        n = reader.length()
        stop = min(n, start + MAX_READ)
        framed = {k for k in reader.framed_steps(start) if k < stop} if stop > start else set()
        records, hits = [], []
        for k in range(start, stop):  # (an own run's unstored frame is regenerated on a seek only)
            rec = reader.record(k) if k in framed else reader.summary(k)
            hits += bps.check(rec) if len(bps) else []
            records.append(rec)
        return Fresh(start, records, sorted(framed), hits, writer_of(reader), stop >= n)

    def _on_read(self, fresh: Fresh | None, exc: BaseException | None) -> None:
        self._reading = False
        app, tl = self.app, self.app.timeline
        if not self.active or fresh is None:
            if exc is not None and self.active:  # said once; tried again now and then, quietly
                if not self._failing:
                    app.fail(exc, "cannot read the followed file (trying again every few seconds)")
                self._failing = True
                self._next_read = time.monotonic() + RETRY_S
            return
        self._failing = False
        was_playing = self.playing
        self.writer = fresh.writer
        held, requester = fresh.writer.held, self._requester
        if held is not None and held.hits and requester is not None and held.seq == requester.last.seq:
            self.pause_requested = True  # the loop stopped itself on a breakpoint, at the hit
        self._arrivals.append((time.monotonic(), fresh.start + len(fresh.records)))
        self._caught_up = fresh.ends
        if fresh.start == tl.steps and fresh.records:
            self.framed += [s for s in fresh.framed if not self.framed or s > self.framed[-1]]
            shown = [self.select(r) for r in fresh.records]
            tl.history.extend(shown)
            for rec in shown:
                if rec.has_frame:
                    tl.remember(rec)
            tl.history_changed.emit()
            if tl.follow_live:
                self.show_newest()
            if fresh.hits:
                self._on_hits(fresh.hits)
        if self.playing != was_playing:
            app.events.playing_changed.emit(self.playing)

    def show_newest(self) -> None:
        tl = self.app.timeline
        if not tl.steps:
            return
        k = self.framed[-1] if self.framed else tl.steps - 1
        if tl.record is None or tl.record.step != k:
            self.app.seek(k, follow=True)

    def _on_hits(self, hits: list[Hit]) -> None:
        app, tl = self.app, self.app.timeline
        for h in hits:
            tl.history.add_event(TimelineMark(h.step, HIT_EVENT, h.name, None, h.to_dict()))
        tl.history_changed.emit()
        app.watch.note_hits(hits)
        if app.worker.pause_on_hit and self.writer.external:
            self.pause()
            app.seek(hits[0].step)

    def frame_step(self, step: int) -> int:
        """The step a seek to ``step`` shows: the nearest stored frame at or before it (after it
        when there is none before); ``step`` itself when the file stores no frames."""
        if not self.framed or not self.writer.external:
            return step
        i = bisect.bisect_right(self.framed, step)
        return self.framed[i - 1] if i else self.framed[0]

    # ------------------------------------------------------------ the transport
    def _send(self, what: Callable[[control.Requester], Any]) -> None:
        requester, jobs = self._requester, self._control
        if jobs is None:
            return
        jobs.submit(lambda: what(requester) if requester is not None else None, self._sent)

    def _sent(self, _: Any, exc: BaseException | None) -> None:
        """A request written, or not: a failure is said once until one succeeds again (the
        heartbeat would repeat it every few seconds)."""
        if exc is not None and not self._unreachable:
            self.app.fail(exc, "cannot reach the training loop")
        self._unreachable = exc is not None

    def refusal(self) -> str | None:
        """Why the transport cannot reach the writer (None when it can)."""
        if not self.writer.external:
            return "this file is written by another rnnscope process: it cannot be paused from here"
        if not self.writer.live:
            return self.writer.describe()
        if self._requester is None:
            return "the session file cannot be written from here (read-only?): the loop cannot be paused"
        return None

    def pause(self) -> None:
        if self._refuse():
            return
        self.pause_requested = True
        self._last_beat = time.monotonic()
        self._send(lambda r: r.send(True))
        self.app.events.playing_changed.emit(False)

    def resume(self) -> None:
        if self._refuse():
            return
        self.pause_requested = False
        self._send(lambda r: r.send(False))
        self.app.go_live()
        self.app.events.playing_changed.emit(self.playing)

    def step(self, n: int = 1) -> None:
        """Let the loop run ``n`` steps (counted by the loop), then hold."""
        if self._refuse():
            return
        self.pause_requested = True
        self._last_beat = time.monotonic()
        self._send(lambda r: r.send(True, advance=max(1, int(n))))
        self.app.go_live()
        self.app.events.playing_changed.emit(False)

    def _refuse(self) -> bool:
        why = self.refusal()
        if why is not None:
            self.app.events.message.emit(why)
        return why is not None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
