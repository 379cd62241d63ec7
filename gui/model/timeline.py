"""Timeline: where the window is (file, branch, live or replay), the viewed history, the step shown.

A Qt-free part of the application model; it holds state and says what changed, one event per
concern (napari's EventedModel in miniature, gui.model.events):

    session_changed()      the mode (empty/live/replay), the file, the branch or the device
    config_changed()       the viewed run's settings (a live edit, or one refused and undone)
    run_changed()          another run or branch: views rebuild for ``config``
    history_changed()      steps or timeline events added or removed
    record_changed(rec)    the StepRecord shown (None: nothing yet)

Modes: ``live`` (the training thread records the branch ``live_branch_id``), ``replay`` (a
file was opened; training resumes into it on the first play, step or edit), ``follow`` (a
file another process writes, a run of the user's own loop: gui.model.follow), ``empty``.
``shape`` (gui.model.shape) is what the panels are built for: the parts, cells and layers.
The last ``RECENT`` framed records are kept in memory so scrubbing near the end reads nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

from rnnscope.engine import StepRecord, TrainConfig
from rnnscope.engine.tasks import make_task
from rnnscope.gui.model.events import Event
from rnnscope.gui.model.history import History
from rnnscope.gui.model.places import Places
from rnnscope.gui.model.shape import RunShape

RECENT = 48


class Timeline:
    def __init__(self, places: Places) -> None:
        self.places = places
        self.session_changed: Event[[]] = Event()
        self.config_changed: Event[[]] = Event()
        self.run_changed: Event[[]] = Event()
        self.history_changed: Event[[]] = Event()
        self.record_changed: Event[[StepRecord | None]] = Event()
        self.mode = "empty"  # empty | live | replay | follow
        self.path: Path | None = None
        self.branch_id = 0
        self.branch_name = ""
        self.live_branch_id: int | None = None
        self.device = ""
        self.config: TrainConfig | None = None
        self.shape: RunShape | None = None
        self.task: Any = None
        self.history = History()
        self.record: StepRecord | None = None
        self.follow_live = True
        self.viewed_step: int | None = None
        self.recent: OrderedDict[int, StepRecord] = OrderedDict()
        self.wanted: tuple[int, int] | None = None  # (branch, step) being read for the view
        self._unsaved_for: Path | None = None
        self._unsaved = False

    # ------------------------------------------------------------ facts
    @property
    def steps(self) -> int:
        return len(self.history)

    @property
    def shown_step(self) -> int | None:
        return None if self.record is None else self.record.step

    @property
    def viewing_live(self) -> bool:
        """The viewed branch is the one being trained."""
        return self.mode == "live" and self.live_branch_id == self.branch_id

    @property
    def unsaved(self) -> bool:
        """The file is the window's own recording of a run never saved (Places.is_unsaved)."""
        if self._unsaved_for != self.path:  # resolving paths costs a syscall: once per path
            self._unsaved_for, self._unsaved = self.path, self.places.is_unsaved(self.path)
        return self._unsaved

    # ------------------------------------------------------------ changes
    def move(self, **where: Any) -> None:
        """Change ``mode``, ``path``, ``live_branch_id``, ``device``, ``branch_id`` or ``branch_name``."""
        for name, value in where.items():
            if name not in ("mode", "path", "live_branch_id", "device", "branch_id", "branch_name"):
                raise AttributeError(f"Timeline.move: {name} is not where the timeline is")
            setattr(self, name, value)
        self.session_changed.emit()

    def set_config(self, config: TrainConfig) -> None:
        """The viewed run's settings changed (same run: a live edit)."""
        self.config = config
        self.config_changed.emit()

    def set_run(
        self, branch_id: int, branch_name: str, config: TrainConfig | None, shape: RunShape | None = None
    ) -> None:
        """Show another run or branch from its start (views rebuild). ``shape`` given: a run
        with those parts and ``config`` (None for a run of the user's own loop, which has no
        rnnscope config and no task); else the parts of ``config``, and ``config`` None keeps it."""
        self.branch_id, self.branch_name = branch_id, branch_name
        if shape is not None:
            self.config, self.shape = config, shape
            self.task = make_task(config) if config is not None else None
        elif config is not None:
            changed = self.config is None or config != self.config
            self.config = config
            self.shape = RunShape.of_config(config)
            if changed or self.task is None:
                self.task = make_task(config)
        self.recent.clear()
        self.wanted = None
        self.follow_live = True
        self.viewed_step = None
        self.show(None)
        self.run_changed.emit()

    def cut(self, k: int, branch_id: int, branch_name: str, config: TrainConfig) -> None:
        """Keep steps 0..k-1 and go on along branch ``branch_id`` (a rewind)."""
        self.history.truncate(k)
        self.recent = OrderedDict((s, r) for s, r in self.recent.items() if s < k)
        self.branch_id, self.branch_name, self.config = branch_id, branch_name, config
        self.shape = RunShape.of_config(config)
        self.follow_live = True
        self.viewed_step = None

    # ------------------------------------------------------------ the step shown
    def remember(self, rec: StepRecord) -> None:
        self.recent[rec.step] = rec
        self.recent.move_to_end(rec.step)
        while len(self.recent) > RECENT:
            self.recent.popitem(last=False)

    def show(self, rec: StepRecord | None) -> None:
        self.record = rec
        self.record_changed.emit(rec)

    def add_steps(self, records: list[StepRecord]) -> None:
        """Steps the training thread finished (on the viewed branch): append, and show the
        newest when following (the newest framed one while a frameless record would replace
        a framed one)."""
        self.history.extend(records)
        for rec in records:
            if rec.has_frame:
                self.remember(rec)
        self.history_changed.emit()
        if self.follow_live:
            latest = records[-1]
            if not latest.has_frame:
                framed = [r for r in records if r.has_frame]
                latest = (
                    framed[-1] if framed and self.record is not None and not self.record.has_frame else latest
                )
            self.show(latest)
