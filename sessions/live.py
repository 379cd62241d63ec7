"""LiveSession: record a trainer into a session file, edit it live, rewind and branch.

    live = LiveSession.create("run.rnnscope", trainer)   # or LiveSession.resume(path)
    rec = live.step()                 # one optimizer step, recorded (returns the StepRecord)
    live.set_param("lr", 3e-4)        # a live edit, on the timeline, replayed with the run
    tr = live.rewind(120)             # trainer at step 120; a new branch continues from there
    live.new_run(config, "LSTM")      # another run (step 0) in the same file, a new root branch
    live.add_event("breakpoint", name, payload)   # a note on the timeline (replay ignores it)
    live.close()                      # commits and leaves one self-contained file

Checkpoints are written every ``settings.checkpoint_every`` steps and full frames every
``settings.frame_every`` steps (the trainer is asked for a frame on those steps); the
rest is regenerated on demand by ``live.session.record(k)``. Writing happens on the
recorder's thread. When it fails (disk full, read-only), the next ``step`` raises
RecordingError before training further (a step either happens and is recorded or kept for
retry, or does not happen): fix the cause, then ``live.retry()``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from rnnscope.engine import numerics
from rnnscope.engine.datasets import store
from rnnscope.engine.record import StepRecord
from rnnscope.sessions import datasets, ownership, provenance, schema
from rnnscope.sessions.errors import SessionError
from rnnscope.sessions.replay import TrainerFactory, default_factory, pin_numerics
from rnnscope.sessions.session import Session
from rnnscope.sessions.start import start_file
from rnnscope.sessions.timeline import Branch, owner
from rnnscope.sessions.writer import Recorder, RecordSettings


class LiveSession:
    """A session being recorded. Build with ``create`` or ``resume``."""

    def __init__(
        self, path: Path, trainer: Any, recorder: Recorder, session: Session, settings: RecordSettings
    ) -> None:
        self.path = path
        self.trainer = trainer
        self.recorder = recorder
        self.session = session  # a reader over the same file (sees committed data)
        self.settings = settings
        self._bid = session.branch.id  # the branch being recorded (kept here: step() must be cheap)
        self.submit_seconds = 0.0  # time step() spent handing records to the writer (benchmarks)

    # ---------------------------------------------------------------- building
    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        trainer: Any,
        *,
        settings: RecordSettings | None = None,
        overwrite: bool = False,
        branch_name: str = "main",
        trainer_factory: TrainerFactory = default_factory,
    ) -> LiveSession:
        """Start recording ``trainer`` (from its current step) into a new file."""
        settings = settings or RecordSettings()
        p = Path(path)
        kernels = trainer.loops() if hasattr(trainer, "loops") else "torch"
        revision = getattr(trainer, "numerics", numerics.REVISION)
        pin_numerics(trainer, kernels, revision)  # a later resume or replay runs these same numerics
        start = int(trainer.step_count)
        fp = (
            trainer.fingerprint() if hasattr(trainer, "fingerprint") else numerics.legacy_fingerprint(kernels)
        )
        config = trainer.config.to_dict()
        data = datasets.data_of(config)
        facts = datasets.facts_of(trainer)
        conn = start_file(
            p,
            config=config,
            settings=settings,
            kernels=kernels,
            fingerprint=fp,
            overwrite=overwrite,
            branch_name=branch_name,
            fork_step=start,
            meta={
                ownership.KEY: ownership.mark(live=True),
                **({datasets.FACTS_KEY: {"0": facts}} if facts else {}),
            },
            also=(lambda c: datasets.write(c, store.get(data))) if data else None,
        )
        recorder = Recorder(conn, p, settings)
        recorder.submit_checkpoint(0, start, trainer.state_dict())
        recorder.flush()
        session = Session.open(p, trainer_factory=trainer_factory)
        return cls(p, trainer, recorder, session, settings)

    @classmethod
    def resume(
        cls,
        path: str | os.PathLike[str],
        *,
        branch: int | str | None = None,
        settings: RecordSettings | None = None,
        trainer_factory: TrainerFactory = default_factory,
    ) -> LiveSession:
        """Continue recording an existing file at the end of ``branch`` (default: the last one used)."""
        p = Path(path)
        session = Session.open(p, branch=branch, trainer_factory=trainer_factory)
        try:
            held = ownership.busy(session)
            if held is not None:  # two writers of one branch would fight over its steps
                raise SessionError(p, f"{held}: open it to follow that run, or train on once it has ended")
            stored = json.loads(session.meta.get("settings", "{}"))
            settings = settings or RecordSettings.from_dict(stored)
            k = len(session)
            trainer = session.trainer_at(k)
            for ev in session.timeline():  # edits made after the last recorded step
                if ev.kind == "edit" and ev.step == k:
                    trainer.set_param(ev.name, ev.new)
            conn = schema.open_for_append(p)
        except BaseException:
            session.close()
            raise
        recorder = Recorder(conn, p, settings)
        live = cls(p, trainer, recorder, session, settings)
        recorder.submit_meta(ownership.KEY, ownership.mark(live=True))
        recorder.submit_meta("head", session.branch.id)
        recorder.submit_meta("settings", settings.to_dict())
        live._note_fingerprint(session.branch.id, k)
        return live

    def _note_fingerprint(self, branch: int, step: int, trainer: Any = None) -> None:
        """Record that this process records ``branch`` from ``step`` on (meta ``numerics``), when
        its fingerprint is not the one that recorded the steps before."""
        trainer = self.trainer if trainer is None else trainer
        if not hasattr(trainer, "fingerprint"):
            return
        here = trainer.fingerprint()
        entries = self.session.numerics
        if provenance.recorded_under(entries, branch, step) == here:
            return
        entries = [*entries, provenance.Entry(branch, step, here)]
        self.session.numerics = entries
        self.recorder.submit_meta("numerics", provenance.encode_entries(entries))

    # ---------------------------------------------------------------- recording
    @property
    def branch(self) -> Branch:
        """The branch being recorded (``self.session`` may be looking at another one)."""
        return next(b for b in self.session.branches() if b.id == self._bid)

    @property
    def healthy(self) -> bool:
        return self.recorder.healthy

    @property
    def error(self) -> SessionError | None:
        return self.recorder.error

    def step(self, probe: bool | None = None) -> StepRecord:
        """One optimizer step, recorded. ``probe`` as in ``Trainer.step`` (scheduled frames are forced)."""
        if self.recorder.error is not None:
            raise self.recorder.error
        tr = self.trainer
        k = int(tr.step_count)
        every = self.settings.frame_every
        store = every > 0 and k % every == 0
        if store:
            rec = tr.step(probe=True)
        elif probe is None:
            rec = tr.step()
        else:
            rec = tr.step(probe=probe)
        # The step has happened: its record (and checkpoint) are queued even if writing fails
        # meanwhile (kept for retry()); the *next* step() raises, so training pauses there.
        t0 = time.perf_counter()
        self.recorder.submit_step(self._bid, rec, store_frame=store, hold=True)
        if int(tr.step_count) % self.settings.checkpoint_every == 0:
            self.recorder.submit_checkpoint(self._bid, int(tr.step_count), tr.state_dict(), hold=True)
        self.submit_seconds += time.perf_counter() - t0
        return rec

    def run(self, steps: int) -> StepRecord | None:
        """``steps`` recorded steps; returns the last record."""
        rec = None
        for _ in range(steps):
            rec = self.step()
        return rec

    def checkpoint(self) -> None:
        """Store the trainer's state now (it is also done every ``checkpoint_every`` steps)."""
        self.recorder.submit_checkpoint(self._bid, int(self.trainer.step_count), self.trainer.state_dict())

    def set_param(self, name: str, value: Any) -> Any:
        """A live edit (``Trainer.set_param``), recorded on the timeline; returns the trainer's Edit.
        A refused value raises ValueError and records nothing."""
        if self.recorder.error is not None:
            raise self.recorder.error
        k = int(self.trainer.step_count)
        old = getattr(self.trainer.config, name, None)
        edit = self.trainer.set_param(name, value)
        new = getattr(self.trainer.config, name, value)
        self.recorder.submit_event(self._bid, k, "edit", name, old, new)
        return edit

    def add_event(self, kind: str, name: str, value: Any, *, step: int | None = None) -> int:
        """A note on the recorded branch's timeline at ``step`` (default: the current step),
        e.g. a breakpoint hit; ``value`` is stored as JSON. Replay ignores such events; the
        kinds with a meaning for replay (edit, branch, fork) are refused. Returns its id."""
        if kind in ("edit", "branch", "fork") or not kind:
            raise ValueError(f"event kind {kind!r} is reserved (use set_param / rewind / new_run)")
        if self.recorder.error is not None:
            raise self.recorder.error
        k = int(self.trainer.step_count) if step is None else int(step)
        return self.recorder.submit_event(self._bid, k, kind, name, None, value)

    def set_meta(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON) under ``key`` in the file's meta table (one value per file)."""
        if key in ("app", "format", "created", "settings", "head"):
            raise ValueError(f"meta key {key!r} is reserved")
        self.recorder.submit_meta(key, value)

    def flush(self) -> None:
        """Wait until everything recorded so far is in the file."""
        self.recorder.flush()

    def retry(self) -> None:
        """After a recording error: write what was held back, then recording may go on."""
        self.recorder.retry()

    def close(self) -> None:
        """Commit everything and close; the file is left self-contained (no -wal beside it)."""
        self.session.close()  # first: an open reader would keep the file in WAL mode
        if self.recorder.healthy:
            self.recorder.submit_meta(ownership.KEY, ownership.mark(live=False))
        self.recorder.close()

    def __enter__(self) -> LiveSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- reading
    def record(self, k: int, *, branch: int | str | None = None) -> StepRecord:
        """Step k with its frame (flushes first when k is not committed yet)."""
        bid = self._bid if branch is None else self.session._resolve(branch)
        if k > self.recorder.committed_step(bid):
            self.flush()
        return self.session.record(k, branch=bid)

    def __len__(self) -> int:
        return int(self.trainer.step_count)

    # ---------------------------------------------------------------- time travel
    def rewind(self, k: int, branch: int | str | None = None, *, name: str | None = None) -> Any:
        """Restore the trainer to the start of step k of ``branch`` (default: the current one) and
        continue on a new branch from there; the old branch keeps its later steps. Returns the
        new trainer (also ``self.trainer``). Rewinding to the current step is a no-op."""
        self.flush()
        s = self.session
        src = s._resolve(branch)
        n = s.length(src)
        if not 0 <= k <= n:
            raise IndexError(f"cannot rewind to step {k}: branch {src} has steps 0..{n - 1}")
        if src == self._bid and k == n == int(self.trainer.step_count):
            return self.trainer
        branches = {b.id: b for b in s.branches()}
        trainer = s.trainer_at(k, branch=src)
        parent = owner(branches, src, k - 1) if k > 0 else owner(branches, src, 0)
        if parent is None:
            parent = src
        new_id = max(branches) + 1
        names = {b.name for b in branches.values()}
        if name is None:
            name = f"branch-{new_id}"
        if name in names:
            raise ValueError(f"a branch named {name!r} exists already")
        child = Branch(new_id, name, parent, k, time.time(), trainer.config.to_dict())
        rec = self.recorder
        rec.submit_branch(child)
        rec.submit_event(parent, k, "branch", name, None, new_id)
        rec.submit_event(new_id, k, "fork", branches[parent].name, None, parent)
        rec.submit_meta("head", new_id)
        rec.submit_checkpoint(new_id, k, trainer.state_dict())
        rec.flush()
        s.checkout(new_id)
        self._bid = new_id
        self.trainer = trainer
        self._note_fingerprint(new_id, k)
        return trainer

    def new_run(self, run: Any, name: str | None = None, *, switch: bool = True) -> Branch:
        """Start another run in this file: a new root branch at step 0 for ``run`` (a Trainer,
        or a TrainConfig to build one), named ``name`` (default ``run-<id>``; ValueError when
        taken). With ``switch`` (default) it becomes the recorded branch and ``self.trainer``;
        otherwise it waits at step 0 (its checkpoint is stored) for ``rewind(0, branch=...)``
        or ``LiveSession.resume(path, branch=...)``. Used for structural changes (another cell,
        size, task) and for a demo's further runs."""
        if self.recorder.error is not None:
            raise self.recorder.error
        trainer = run
        if not hasattr(run, "state_dict"):
            from rnnscope.engine.trainer import Trainer

            trainer = Trainer(run)
        if int(trainer.step_count) != 0:
            raise ValueError(f"a new run starts at step 0; this trainer is at step {trainer.step_count}")
        pin_numerics(trainer, self.session.kernels, self.session.revision)
        self.flush()
        branches = {b.id: b for b in self.session.branches()}
        new_id = max(branches) + 1
        if name is None:
            name = f"run-{new_id}"
        if name in {b.name for b in branches.values()}:
            raise ValueError(f"a branch named {name!r} exists already")
        root = Branch(new_id, name, None, 0, time.time(), trainer.config.to_dict())
        rec = self.recorder
        data = datasets.data_of(root.config)
        if data:
            rec.submit_dataset(store.get(data))
        facts = datasets.facts_of(trainer)
        if facts:
            known = self.session.meta_value(datasets.FACTS_KEY) or {}
            rec.submit_meta(datasets.FACTS_KEY, {**known, str(new_id): facts})
        rec.submit_branch(root)
        rec.submit_checkpoint(new_id, 0, trainer.state_dict())
        if switch:
            rec.submit_meta("head", new_id)
        rec.flush()
        if switch:
            self.session.checkout(new_id)
            self._bid = new_id
            self.trainer = trainer
        self._note_fingerprint(new_id, 0, trainer)
        return root
