"""RunFiles: the RunController's runs, branches and files (a mixin, split off for size).

new_run (a fresh file, or a new run inside this session after a structural change),
continue_from (rewind and branch), view_branch, open (replay a file) and save_as (move
or copy the recording, then go on recording there). Each is a command for the training
thread and/or a read on the loader thread, finished on the main thread.
"""

from __future__ import annotations

import shutil
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnscope.engine import TrainConfig, Trainer
from rnnscope.engine.tasks import make_task
from rnnscope.gui.model.history import Event
from rnnscope.gui.shell import settings
from rnnscope.sessions.errors import SessionError
from rnnscope.sessions.live import LiveSession
from rnnscope.sessions.session import Session

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from rnnscope.gui.model.worker import TrainingWorker
    from rnnscope.sessions.summaries import Summaries
    from rnnscope.sessions.timeline import Branch, TimelineEvent


def describe(exc: BaseException) -> str:
    """An exception as one line for the user (the type only when the message needs it)."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, (ValueError, OSError, SessionError)):
        return text
    return f"{type(exc).__name__}: {text}"


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)`` ... whichever is not taken."""
    out, i = name, 2
    while out in taken:
        out, i = f"{name} ({i})", i + 1
    return out


@dataclass(frozen=True)
class Started:
    """What the worker reports when a new run (and its demo's other runs) started."""

    path: Path
    branch: Branch
    config: TrainConfig
    device: str
    runs: dict[str, int]  # run label -> branch id


@dataclass(frozen=True)
class Rewound:
    """A timeline cut back to a step, on the branch that continues it."""

    branch: Branch
    config: TrainConfig
    device: str


@dataclass(frozen=True)
class Loaded:
    """A branch's summaries and timeline events, read on the loader thread."""

    summaries: Summaries
    events: list[TimelineEvent]
    config: TrainConfig | None


class RunFiles:
    """Mixed into RunController (which provides the state, signals and threads used here)."""

    # ================================================================ runs
    def new_run(
        self,
        config: TrainConfig,
        *,
        in_session: bool = False,
        path: str | Path | None = None,
        name: str | None = None,
        others: Mapping[str, TrainConfig] | None = None,
        on_started: Callable[[dict[str, int]], None] | None = None,
    ) -> None:
        """Start training ``config`` from step 0: into a new (unsaved) file, or as a new run in this session.

        ``name`` names the run's branch (default "main" in a new file, "run-<id>" in this
        session; a taken name gets a suffix). ``others`` (name -> config) are further runs
        created at step 0 in the same file but not trained (a demo's other runs: the user
        switches to them). ``on_started({name: branch id})`` runs on the main thread after."""
        self.worker.pause()
        if not in_session:
            self._set_demo(None)  # a fresh file is no demo (start_demo sets it again once started)
        current = self.path if in_session and self.mode in ("live", "replay") else None
        target = Path(path) if path is not None else settings.new_unsaved_path()
        recording = self.recording
        branch = self.branch_id

        def cmd(w: TrainingWorker) -> Any:
            trainer = Trainer(config)
            if current is not None:
                if w.live is None:
                    w.live = LiveSession.resume(current, branch=branch)
                taken = {b.name for b in w.live.session.branches()}
                w.live.new_run(trainer, None if name is None else unique_name(name, taken))
            else:
                if w.live is not None:
                    w.live.close()
                    w.live = None
                w.live = LiveSession.create(
                    target, trainer, settings=recording, overwrite=True, branch_name=name or "main"
                )
            first = w.live.branch
            runs = {first.name: first.id}
            for label, cfg in (others or {}).items():
                taken = {b.name for b in w.live.session.branches()}
                runs[label] = w.live.new_run(cfg, unique_name(label, taken), switch=False).id
            return Started(Path(w.live.path), first, trainer.config, str(trainer.device), runs)

        def done(result: Started, exc: BaseException | None) -> None:
            if exc is not None:
                self.error.emit(describe(exc))
                return
            live_path, branch, cfg, device, runs = (
                result.path,
                result.branch,
                result.config,
                result.device,
                result.runs,
            )
            self.worker.take_records()  # steps of the previous run still in flight
            self._attach_reader(Path(live_path), branch.id)
            self.mode = "live"
            self.live_branch_id = branch.id
            self.device = device
            self._set_run(branch.id, branch.name, cfg)
            self.history.clear()
            self.history.add_event(Event(0, "run", branch.name))
            self.history_changed.emit()
            self.state_changed.emit()
            if on_started is not None:
                on_started(runs)

        self.command(cmd, done, busy="starting a new run")

    def _attach_reader(self, path: Path, branch: int) -> None:
        if self._reader is None or Path(self._reader.path) != path:
            old, self._reader = self._reader, None
            if old is not None:
                self._close_reader_later(old)
            self._reader = Session.open(path, branch=branch)
        else:
            self._reader.checkout(branch)
        self.path = path
        if not settings.is_unsaved(path):
            settings.add_recent(path)

    def _close_reader_later(self, reader: Session) -> None:
        self._loader.submit(reader.close)

    def _set_run(self, branch_id: int, branch_name: str, config: TrainConfig) -> None:
        self.branch_id, self.branch_name = branch_id, branch_name
        changed = self.config is None or config != self.config
        self.config = config
        if changed or self.task is None:
            self.task = make_task(config)
        self._recent.clear()
        self._wanted = None
        self.follow_live = True
        self.viewed_step = None
        self._show(None)
        self.run_changed.emit()

    def restart(self, config: TrainConfig) -> None:
        """A structural change: a new run (step 0) with ``config``, kept in the same session file."""
        self.new_run(config, in_session=True)

    def reset(self) -> None:
        """Fresh weights with the current settings (a new run in this session)."""
        if self.config is not None:
            self.restart(self.config)

    # ================================================================ branches
    def continue_from(self, step: int, then: Callable[[], None] | None = None) -> None:
        """Keep steps 0..step of the viewed timeline and train on from there on a new branch
        (``step`` -1: from step 0). ``then()`` runs on the main thread once it is done."""
        k = int(step) + 1
        path, src = self.path, self.branch_id
        if path is None:
            return
        self.worker.pause()

        def cmd(w: TrainingWorker) -> Any:
            if w.live is None or self.live_branch_id is None:
                w.live = LiveSession.resume(path, branch=src)
            trainer = w.live.rewind(k, branch=src)
            return Rewound(w.live.branch, trainer.config, str(trainer.device))

        def done(result: Rewound, exc: BaseException | None) -> None:
            if exc is not None:
                self.error.emit(describe(exc))
                return
            branch, cfg, device = result.branch, result.config, result.device
            self.poll()  # steps before the rewind that were still in flight
            self.mode, self.live_branch_id, self.device = "live", branch.id, device
            if self._reader is not None:
                self._reader.checkout(branch.id)
            self.history.truncate(k)
            if branch.id != src:
                self.history.add_event(Event(k, "fork", branch.name))
            self._recent = OrderedDict((s, r) for s, r in self._recent.items() if s < k)
            self.branch_id, self.branch_name, self.config = branch.id, branch.name, cfg
            self.follow_live = True
            self.viewed_step = None
            self.history_changed.emit()
            self.run_changed.emit()
            if k:
                self.seek(k - 1, follow=True)
            self.state_changed.emit()
            if then is not None:
                then()

        self.command(cmd, done, busy=f"rewinding to step {k} (replay from a checkpoint)")

    def branches(self) -> list[Any]:
        return [] if self._reader is None else self._reader.branches()

    def view_branch(self, branch: int | str, then: Callable[[], None] | None = None) -> None:
        """Show another branch (its history and last step); Play continues it. ``then()``
        runs on the main thread once it is shown."""
        if self._reader is None:
            return
        self.worker.pause()
        b = self._reader.checkout(branch)
        self._load_history(b.id, b.name, TrainConfig.from_dict(dict(b.config)), then)

    def _load_history(
        self, bid: int, name: str, config: TrainConfig | None, then: Callable[[], None] | None = None
    ) -> None:
        reader = self._reader
        assert reader is not None

        def load() -> Loaded:
            summ = reader.summaries(branch=bid)
            events = reader.timeline(branch=bid)
            n = len(summ)
            cfg = reader.config_at(n, branch=bid) if n else config
            return Loaded(summ, events, cfg)

        def done(result: Loaded, exc: BaseException | None) -> None:
            if exc is not None:
                self.error.emit(describe(exc))
                return
            summ, events, cfg = result.summaries, result.events, result.config
            self._set_run(bid, name, cfg or config)
            self.history.load(summ, events)
            self.history_changed.emit()
            self.state_changed.emit()
            if len(self.history):
                self.seek(len(self.history) - 1, follow=True)
            if then is not None:
                then()

        self.background(load, done, busy=f"reading branch {name}")

    # ================================================================ files
    def open(self, path: str | Path) -> None:
        """Replay a session file (read-only until you train on). The file is checked first:
        a file that is not a readable session is refused and the current run goes on."""
        p = Path(path)

        def opened(reader: Session | None, exc: BaseException | None) -> None:
            if exc is not None or reader is None:
                self.error.emit(describe(exc) if exc else f"cannot open {p}")
                return
            self.worker.pause()
            self.command(close_live, lambda _r, e: switch(reader, e))

        def close_live(w: TrainingWorker) -> None:
            if w.live is not None:
                w.live.close()
                w.live = None

        def switch(reader: Session, exc: BaseException | None) -> None:
            if exc is not None:
                self.error.emit(describe(exc))
            self.worker.take_records()  # steps of the closed run still in flight
            old, self._reader = self._reader, reader
            if old is not None:
                self._close_reader_later(old)
            self.mode, self.live_branch_id, self.path = "replay", None, p
            self.device = ""
            if not settings.is_unsaved(p):
                settings.add_recent(p)
            self._adopt_file(reader)  # its breakpoints and demo (gui.breakpoint_control, gui.demo_control)
            b = reader.branch
            self._load_history(b.id, b.name, TrainConfig.from_dict(dict(b.config)))

        self.background(lambda: Session.open(p), opened, busy=f"opening {p.name}")

    def save_as(self, dest: str | Path, on_saved: Callable[[Path], None] | None = None) -> None:
        """Write the session to ``dest`` and go on recording there (an unsaved file is moved).

        Order: pause; the loader thread closes the reader (after any read in progress); the
        training thread commits and closes the file, moves or copies it, and resumes
        recording into ``dest``; a new reader is opened on ``dest``."""
        dest = Path(dest)
        src = self.path
        if src is None:
            return
        was_playing = self.worker.playing
        self.worker.pause()
        reader, self._reader = self._reader, None
        self._wanted = None
        bid = self.branch_id
        move = settings.is_unsaved(src)
        live_before = self.mode == "live"
        token = self._begin_busy(f"saving {dest.name}")

        def cmd(w: TrainingWorker) -> Any:
            resumed = False
            if w.live is not None:
                w.live.checkpoint()  # resuming at the current step replays nothing
                w.live.close()
                w.live = None
                resumed = True
            if dest.resolve() != Path(src).resolve():
                for suffix in ("", "-wal", "-shm"):
                    Path(str(dest) + suffix).unlink(missing_ok=True)
                if move:
                    shutil.move(str(src), str(dest))
                    for suffix in ("-wal", "-shm"):
                        Path(str(src) + suffix).unlink(missing_ok=True)
                else:
                    shutil.copy2(str(src), str(dest))
            if resumed:
                w.live = LiveSession.resume(dest, branch=bid)
            return resumed

        def done(resumed: Any, exc: BaseException | None) -> None:
            self._end_busy(token)
            target = dest if exc is None else Path(src)
            try:
                self._reader = Session.open(target, branch=bid)
            except Exception as e:  # the file is gone or unreadable
                self.error.emit(describe(e))
            self.path = target
            if exc is not None:
                self.error.emit(f"could not save to {dest}: {describe(exc)}")
                if live_before and (self.worker.live is None):
                    self.mode = "replay"
                self.state_changed.emit()
                return
            settings.add_recent(dest)
            if not resumed and live_before:
                self.mode = "replay"
            self.state_changed.emit()
            self.message.emit(f"saved {dest}")
            if was_playing:
                self.play()
            if on_saved is not None:
                on_saved(dest)

        def reader_closed(_: Any, exc: BaseException | None) -> None:
            self.command(cmd, done)

        self.background(lambda: reader.close() if reader is not None else None, reader_closed)
