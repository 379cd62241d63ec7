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
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from engine.tasks import make_task
from gui.compare.loader import Loader
from gui.history import History
from sessions.session import Session


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

    def __init__(self, source: CompareSource, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.name = name  # "A" or "B"
        self.loader = Loader(f"compare-{name}", self)
        self.history = History()
        self.config: Any = None
        self.task: Any = None
        self.record: Any = None
        self.follow_live = False  # a replay: the views always mark the shown step
        self.branch_id: int | None = None
        self.branch_name = ""
        self.error = ""
        self._session: Session | None = None
        self._wanted: int | None = None

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

    # ------------------------------------------------------------ opening
    def open(self) -> None:
        """Open the file and read the branch's summaries on the loader thread."""
        src = self.source

        def load() -> tuple[Session, Any, Any, Any, Any]:
            session = Session.open(src.path)
            try:
                branch = session.checkout(src.branch if src.branch is not None else session.branch.id)
                summ = session.summaries(branch=branch.id)
                events = session.timeline(branch=branch.id)
                cfg = session.config_at(max(len(summ) - 1, 0), branch=branch.id)
                return session, branch, summ, events, cfg
            except BaseException:
                session.close()
                raise

        self.loader.submit(load, self._on_opened, busy=f"opening {Path(src.path).name}")

    def _on_opened(self, result: Any, exc: BaseException | None) -> None:
        if exc is not None:
            self.error = str(exc) or type(exc).__name__
            self.failed.emit(self.error)
            return
        session, branch, summ, events, cfg = result
        self._session = session
        self.branch_id, self.branch_name = branch.id, branch.name
        self.config = cfg
        self.task = make_task(cfg)
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
        self._wanted = step
        bid = self.branch_id

        def load() -> Any:
            if self._wanted != step:
                return None  # a newer request came in meanwhile
            return session.record(step, branch=bid)

        def done(rec: Any, exc: BaseException | None) -> None:
            if self._wanted != step:
                return
            self._wanted = None
            if exc is not None:
                self.failed.emit(f"{self.name}: cannot show step {step}: {exc}")
                return
            if rec is not None:
                self.record = rec
                self.record_changed.emit(rec)

        self.loader.submit(load, done, busy=f"{self.name}: reading step {step}")

    def close(self) -> None:
        session, self._session = self._session, None
        self.loader.close(session.close if session is not None else None)
