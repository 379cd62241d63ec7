"""CompareSource (what to compare) and SourceModel (one side of the compare view).

``CompareSource`` is the whole interface for showing a run in the compare view: a session
file and a branch of it (id, name, or None for the file's head branch), plus an optional
label. Anything that records its runs into session files (the window, ``main.py train
--out``, multi-run demos) can hand two of them to ``CompareWindow``.

``SourceModel`` is the read-only twin of the RunController for the panels: it has the
same signals (``run_changed``, ``history_changed``, ``record_changed``) and fields
(``config``, ``task``, ``history``, ``record``, ``follow_live``), so the window's panel
classes draw it unchanged. Opening and reading records (which may regenerate a frame by
replay) run on its own Loader thread; ``seek`` from a panel click is passed up as
``step_requested`` so that the compare window moves both sides together.

``live`` (optional) is the main window's RunController. When this side's run is the branch
it trains, ``follow`` appends the new steps (gui.compare.follow), and a step the main
window holds in memory (the newest one it shows) is taken from there instead of the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from rnnscope.engine.tasks import make_task
from rnnscope.gui.compare.follow import GrowingHistory, read_new_steps, same_file
from rnnscope.gui.compare.loader import Loader
from rnnscope.gui.model.follow import views_of
from rnnscope.gui.model.history import History
from rnnscope.sessions.session import Session

COMMIT_WAIT_S = 5.0  # a step the main window has shown may take this long to reach the file


@dataclass(frozen=True)
class CompareSource:
    """One run to compare: ``path`` (a session file) and ``branch`` (id, name or None = head)."""

    path: str | os.PathLike[str]
    branch: int | str | None = None
    label: str = ""

    def describe(self, branch_name: str = "") -> str:
        name = Path(self.path).name
        where = branch_name or ("head" if self.branch is None else str(self.branch))
        return f"{self.label} · {name} @ {where}" if self.label else f"{name} @ {where}"


class SourceModel(QObject):
    run_changed = Signal()
    history_changed = Signal()
    record_changed = Signal(object)
    opened = Signal()
    failed = Signal(str)
    step_requested = Signal(int)  # a panel asked for a step (a click): the compare window decides
    grown = Signal(int)  # steps were appended while following a run in training (the old count)

    def __init__(
        self, source: CompareSource, name: str, parent: QObject | None = None, live: Any = None
    ) -> None:
        super().__init__(parent)
        self.source = source
        self.name = name  # "A" or "B"
        self.live = live  # the main window's RunController, or None
        self.loader = Loader(f"compare-{name}", self)
        self.history = GrowingHistory()
        self.config: Any = None
        self.shape: Any = None  # gui.model.shape.RunShape
        self.task: Any = None
        self.record: Any = None
        self.follow_live = False  # a replay: the views always mark the shown step
        self.branch_id: int | None = None
        self.branch_name = ""
        self.error = ""
        self._session: Session | None = None
        self._wanted: int | None = None
        self._reading = False  # a follow read of the file is in flight
        self._same: tuple[Any, bool] = (None, False)  # (live.path, whether it is this file)

    # ------------------------------------------------------------ state
    @property
    def steps(self) -> int:
        return len(self.history)

    @property
    def title(self) -> str:
        return self.source.describe(self.branch_name)

    @property
    def shown_step(self) -> int | None:
        return None if self.record is None else int(self.record.step)

    @property
    def in_live_file(self) -> bool:
        """Whether this run is in the session file the main window records into."""
        live = self.live
        if live is None:
            return False
        if self._same[0] != live.path:
            self._same = (live.path, same_file(live.path, self.source.path))
        return self._same[1]

    @property
    def training(self) -> bool:
        """Whether the main window trains this run (its steps grow while the window is open)."""
        return (
            self.branch_id is not None
            and self.in_live_file
            and self.live.mode == "live"
            and self.live.live_branch_id == self.branch_id
        )

    # ------------------------------------------------------------ opening
    def open(self) -> None:
        """Open the file and read the branch's summaries on the loader thread."""
        src = self.source

        def load() -> tuple[Session, Any, Any, Any, Any, Any]:
            session = Session.open(src.path)
            try:
                branch = session.checkout(src.branch if src.branch is not None else session.branch.id)
                summ = session.summaries(branch=branch.id)
                events = session.timeline(branch=branch.id)
                views, cfg = views_of(session)  # (a run of the user's own loop: its first view)
                shape = views[0] if views else None
                if cfg is None and shape is not None:
                    summ = summ.select(shape.names)
                return session, branch, summ, events, (cfg, shape), make_task(cfg) if cfg else None
            except BaseException:
                session.close()
                raise

        self.loader.submit(load, self._on_opened, busy=f"opening {Path(src.path).name}")

    def _on_opened(self, result: Any, exc: BaseException | None) -> None:
        if exc is not None:
            self.error = str(exc) or type(exc).__name__
            self.failed.emit(self.error)
            return
        session, branch, summ, events, (cfg, shape), task = result
        self._session = session
        self.branch_id, self.branch_name = branch.id, branch.name
        self.config = cfg
        self.shape = shape
        self.task = task
        self.history.load(summ, events)
        self.run_changed.emit()
        self.history_changed.emit()
        self.opened.emit()

    # ------------------------------------------------------------ steps
    def seek(self, step: int, **_: Any) -> None:
        """What a panel calls when clicked: the compare window moves both sides."""
        self.step_requested.emit(int(step))

    def show(self, step: int) -> None:
        """Show step ``step`` (clamped to this run's steps) as soon as it is read or regenerated."""
        n = len(self.history)
        session = self._session
        if not n or session is None:
            return
        step = max(0, min(int(step), n - 1))
        if self.shown_step == step or self._wanted == step:
            return
        held = self._held(step)
        if held is not None:  # the main window shows this very step: no read at all
            self._wanted = None
            self.record = held
            self.record_changed.emit(held)
            return
        self._wanted = step
        bid = self.branch_id

        def load() -> Any:
            if self._wanted != step:
                return None  # a newer request came in meanwhile
            session.wait_for(
                step + 1, branch=bid, timeout=COMMIT_WAIT_S
            )  # a step in training, not committed yet
            return session.record(step, branch=bid)

        def done(rec: Any, exc: BaseException | None) -> None:
            if self._wanted != step:
                return
            self._wanted = None
            if exc is not None:
                self.failed.emit(f"{self.name}: cannot show step {step}: {exc}")
                return
            if rec is not None:
                if self.config is None and self.shape is not None:  # a run of the user's own loop
                    rec = rec.select([n for n in self.shape.names if n in rec.parts])
                self.record = rec
                self.record_changed.emit(rec)

        self.loader.submit(load, done, busy=f"{self.name}: reading step {step}")

    def held_step(self) -> int | None:
        """The step of this run that the main window shows while it follows training (it holds
        that record in memory: showing it costs no read), or None."""
        live = self.live
        if live is None or not live.follow_live or live.record is None:
            return None
        step = int(live.record.step)
        return step if step < len(self.history) and self._held(step) is not None else None

    def _held(self, step: int) -> Any:
        """The main window's shown record when it is this run's step ``step`` with a frame."""
        rec = None if self.live is None else self.live.record
        if (
            rec is None
            or int(rec.step) != step
            or not rec.has_frame
            or self.live.branch_id != self.branch_id
            or not self.in_live_file
        ):
            return None
        return rec

    # ------------------------------------------------------------ following a run in training
    def follow(self) -> None:
        """Append the steps this run gained since the last call, when the main window trains
        it: from that window's History if it shows this run, else read from the file."""
        live = self.live
        if self._session is None or not self.training:
            return
        h = self.history
        if live.branch_id == self.branch_id:
            if len(live.history) > len(h):
                self._grow(live.history, len(h))
            return
        reader = live.reader
        if self._reading or reader is None:
            return
        self._reading = True
        bid, start = self.branch_id, len(h)
        live.background(lambda: read_new_steps(reader, bid, start), self._on_read)

    def _on_read(self, fresh: History | None, exc: BaseException | None) -> None:
        self._reading = False
        if self.loader.closed:  # the compare window was closed meanwhile
            return
        if exc is not None:
            self.failed.emit(f"{self.name}: cannot read new steps: {exc}")
        elif fresh is not None and len(fresh) and int(fresh.steps[0]) == len(self.history):
            self._grow(fresh, 0)

    def _grow(self, other: History, first: int) -> None:
        old = len(self.history)
        if self.history.extend_from(other, first, events=other.events):
            self.history_changed.emit()
            self.grown.emit(old)

    def close(self) -> None:
        session, self._session = self._session, None
        self.loader.close(session.close if session is not None else None)
