"""RunFiles: the application model's runs, branches and files (Qt-free).

new_run (a fresh file, or a new run inside this session after a structural change),
continue_from (rewind and branch), view_branch, open (replay a file) and save_as (move
or copy the recording, then go on recording there). Each is a command for the training
thread and/or a read on the loader thread, finished on the owner's thread, where it moves
the Timeline (whose events tell the views).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnscope.engine import TrainConfig, Trainer
from rnnscope.gui.model.follow import FOLLOWED_RUN
from rnnscope.gui.model.history import Event
from rnnscope.sessions import ownership
from rnnscope.sessions.errors import SessionError
from rnnscope.sessions.live import LiveSession
from rnnscope.sessions.session import Session

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from rnnscope.gui.model.app import AppModel
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
    """The runs and files of ``app`` (an AppModel: its timeline, threads and events)."""

    def __init__(self, app: AppModel) -> None:
        self.app = app

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
        weights: str | Path | None = None,
    ) -> None:
        """Start training ``config`` from step 0: into a new (unsaved) file, or as a new run in this session.

        ``name`` names the run's branch (default "main" in a new file, "run-<id>" in this
        session; a taken name gets a suffix). ``others`` (name -> config) are further runs
        created at step 0 in the same file but not trained (a demo's other runs: the user
        switches to them). ``weights``: a state_dict or .safetensors file the run starts from
        (engine.weights; a misfit is reported and nothing starts). ``on_started({name: branch
        id})`` runs on the owner's thread after."""
        app, tl = self.app, self.app.timeline
        app.worker.pause()
        if tl.mode == "follow":
            in_session = False  # a followed file is another process's: a new run gets its own
            app.follower.stop()
        if not in_session:
            app.demos.forget()  # a fresh file is no demo (Demos.start sets it again once started)
        current = tl.path if in_session and tl.mode in ("live", "replay") else None
        target = Path(path) if path is not None else app.places.new_unsaved_path()
        recording = app.recording
        branch = tl.branch_id

        def cmd(w: TrainingWorker) -> Started:
            trainer = Trainer(config)
            imported = None if weights is None else trainer.import_weights(weights)
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
            if imported is not None:  # what the run started from, for Properties and info
                assert weights is not None
                w.live.set_meta(
                    "weights", {"branch": first.id, "file": Path(weights).name, **imported.to_dict()}
                )
            runs = {first.name: first.id}
            for label, cfg in (others or {}).items():
                taken = {b.name for b in w.live.session.branches()}
                runs[label] = w.live.new_run(cfg, unique_name(label, taken), switch=False).id
            return Started(Path(w.live.path), first, trainer.config, str(trainer.device), runs)

        def done(started: Started, exc: BaseException | None) -> None:
            if exc is not None:
                app.fail(exc)
                return
            app.worker.take_records()  # steps of the previous run still in flight
            self._attach_reader(started.path, started.branch.id)
            tl.move(mode="live", path=started.path, live_branch_id=started.branch.id, device=started.device)
            tl.history.clear()
            tl.history.add_event(Event(0, "run", started.branch.name))
            tl.set_run(started.branch.id, started.branch.name, started.config)
            tl.history_changed.emit()
            if on_started is not None:
                on_started(started.runs)

        app.command(cmd, done, busy="starting a new run")

    def _attach_reader(self, path: Path, branch: int) -> None:
        app = self.app
        if app.reader is None or Path(app.reader.path) != path:
            old, app.reader = app.reader, None
            if old is not None:
                self._close_later(old)
            app.reader = Session.open(path, branch=branch)
        else:
            app.reader.checkout(branch)
        if not app.places.is_unsaved(path):
            app.places.add_recent(path)

    def _close_later(self, reader: Session) -> None:
        self.app.jobs.submit(reader.close)  # after any read in progress on it

    def restart(self, config: TrainConfig) -> None:
        """A structural change: a new run (step 0) with ``config``, kept in the same session file."""
        self.new_run(config, in_session=True)

    def reset(self) -> None:
        """Fresh weights with the current settings (a new run in this session)."""
        if self.app.timeline.config is not None:
            self.restart(self.app.timeline.config)

    # ================================================================ branches
    def continue_from(self, step: int, then: Callable[[], None] | None = None) -> None:
        """Keep steps 0..step of the viewed timeline and train on from there on a new branch
        (``step`` -1: from step 0). ``then()`` runs on the owner's thread once it is done."""
        app, tl = self.app, self.app.timeline
        k = int(step) + 1
        path, src = tl.path, tl.branch_id
        if path is None:
            return
        if tl.mode == "follow":
            app.events.message.emit(FOLLOWED_RUN)
            return
        app.worker.pause()
        live_here = tl.live_branch_id is not None

        def cmd(w: TrainingWorker) -> Rewound:
            if w.live is None or not live_here:
                w.live = LiveSession.resume(path, branch=src)
            trainer = w.live.rewind(k, branch=src)
            return Rewound(w.live.branch, trainer.config, str(trainer.device))

        def done(rewound: Rewound, exc: BaseException | None) -> None:
            if exc is not None:
                app.fail(exc)
                return
            branch = rewound.branch
            app.poll()  # steps before the rewind that were still in flight
            if app.reader is not None:
                app.reader.checkout(branch.id)
            tl.cut(k, branch.id, branch.name, rewound.config)
            if branch.id != src:
                tl.history.add_event(Event(k, "fork", branch.name))
            tl.move(mode="live", live_branch_id=branch.id, device=rewound.device)
            tl.history_changed.emit()
            tl.run_changed.emit()
            if k:
                app.seek(k - 1, follow=True)
            if then is not None:
                then()

        app.command(cmd, done, busy=f"rewinding to step {k} (replay from a checkpoint)")

    def branches(self) -> list[Any]:
        reader = self.app.reader
        return [] if reader is None else reader.branches()

    def view_branch(self, branch: int | str, then: Callable[[], None] | None = None) -> None:
        """Show another branch (its history and last step); Play continues it. ``then()``
        runs on the owner's thread once it is shown."""
        reader = self.app.reader
        if reader is None:
            return
        self.app.worker.pause()
        b = reader.checkout(branch)
        self._load_history(b.id, b.name, TrainConfig.from_dict(dict(b.config)), then)

    def _load_history(
        self, bid: int, name: str, config: TrainConfig | None, then: Callable[[], None] | None = None
    ) -> None:
        app, tl = self.app, self.app.timeline
        reader = app.reader
        assert reader is not None

        def load() -> Loaded:
            summ = reader.summaries(branch=bid)
            events = reader.timeline(branch=bid)
            n = len(summ)
            cfg = reader.config_at(n, branch=bid) if n else config
            return Loaded(summ, events, cfg)

        def done(loaded: Loaded, exc: BaseException | None) -> None:
            if exc is not None:
                app.fail(exc)
                return
            tl.history.load(loaded.summaries, loaded.events)
            tl.set_run(bid, name, loaded.config or config)
            tl.history_changed.emit()
            tl.session_changed.emit()
            if tl.steps:
                app.seek(tl.steps - 1, follow=True)
            if then is not None:
                then()

        app.background(load, done, busy=f"reading branch {name}")

    # ================================================================ files
    def open(self, path: str | Path, *, follow: bool = False) -> None:
        """Replay a session file (read-only until you train on). The file is checked first:
        a file that is not a readable session is refused and the current run goes on.

        A run recorded from the user's own loop (rnnscope.attach) is followed (gui.model.follow):
        shown live while its script writes it, paused and stepped through the file. So is a file
        another process records into now (``main.py train --out``; sessions.ownership), or any
        file with ``follow``: training into it here would fight that process over its steps."""
        app, tl = self.app, self.app.timeline
        p = Path(path)

        def load() -> tuple[Session, bool, str | None]:
            reader = Session.open(p)
            try:
                return reader, reader.external, ownership.busy(reader)
            except BaseException:
                reader.close()
                raise

        def opened(result: tuple[Session, bool, str | None] | None, exc: BaseException | None) -> None:
            if exc is not None or result is None:
                app.events.error.emit(describe(exc) if exc else f"cannot open {p}")
                return
            reader, external, busy = result
            app.worker.pause()
            follows = follow or external or busy is not None
            if busy is not None and not external:
                app.events.message.emit(f"{p.name} {busy}: following it (read-only)")
            app.command(
                close_live, lambda _r, e: switch(reader, e) if not follows else start_following(reader, e)
            )

        def start_following(reader: Session, exc: BaseException | None) -> None:
            if exc is not None:
                app.fail(exc)
            self._adopt(reader, p)
            app.follower.start(reader, p)

        def close_live(w: TrainingWorker) -> None:
            if w.live is not None:
                w.live.close()
                w.live = None

        def switch(reader: Session, exc: BaseException | None) -> None:
            if exc is not None:
                app.fail(exc)
            self._adopt(reader, p)
            b = reader.branch
            tl.move(mode="replay", live_branch_id=None, path=p, device="")
            self._load_history(b.id, b.name, TrainConfig.from_dict(dict(b.config)))

        app.background(load, opened, busy=f"opening {p.name}")

    def _adopt(self, reader: Session, p: Path) -> None:
        """``reader`` (an opened file) becomes the window's: its breakpoints and demo with it."""
        app = self.app
        app.worker.take_records()  # steps of the closed run still in flight
        app.follower.stop()
        old, app.reader = app.reader, reader
        if old is not None:
            self._close_later(old)
        if not app.places.is_unsaved(p):
            app.places.add_recent(p)
        app.watch.adopt(reader)  # its breakpoints (the defaults for a run of your own loop)
        app.demos.adopt(reader)  # the demo it was made from

    def save_as(self, dest: str | Path, on_saved: Callable[[Path], None] | None = None) -> None:
        """Write the session to ``dest`` and go on recording there (an unsaved file is moved).

        Order: pause; the loader thread closes the reader (after any read in progress); the
        training thread commits and closes the file, moves or copies it, and resumes
        recording into ``dest``; a new reader is opened on ``dest``."""
        app, tl = self.app, self.app.timeline
        dest = Path(dest)
        src = tl.path
        if src is None:
            return
        if tl.mode == "follow":
            app.events.message.emit(
                f"{Path(src).name} is written by your training script: it is saved already (copy it "
                "once the loop has detached)"
            )
            return
        was_playing = app.worker.playing
        app.worker.pause()
        reader, app.reader = app.reader, None
        tl.wanted = None
        bid = tl.branch_id
        move = app.places.is_unsaved(src)
        live_before = tl.mode == "live"
        token = app.busy.begin(f"saving {dest.name}")

        def cmd(w: TrainingWorker) -> bool:
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

        def done(resumed: bool, exc: BaseException | None) -> None:
            app.busy.end(token)
            target = dest if exc is None else Path(src)
            try:
                app.reader = Session.open(target, branch=bid)
            except Exception as e:  # the file is gone or unreadable
                app.fail(e)
            if exc is not None:
                app.fail(exc, f"could not save to {dest}")
                replay = live_before and app.worker.live is None
                tl.move(path=target, **({"mode": "replay"} if replay else {}))
                return
            app.places.add_recent(dest)
            tl.move(path=target, **({"mode": "replay"} if not resumed and live_before else {}))
            app.events.message.emit(f"saved {dest}")
            if was_playing:
                app.play()
            if on_saved is not None:
                on_saved(dest)

        def reader_closed(_: Any, exc: BaseException | None) -> None:
            app.command(cmd, done)

        app.background(lambda: reader.close() if reader is not None else None, reader_closed)
