"""``rnnscope.attach(model, "run.rnnscope")``: record the user's own training loop.

    scope = rnnscope.attach(model, "run.rnnscope", optimizer=opt, probe_every=10)
    for x, y in loader:                      # the user's loop, unchanged
        loss = loss_fn(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
        scope.step(loss)                     # optional: the step's loss; a paused window holds here
    scope.detach()                           # the original modules back, the file closed

The file is a session like rnnscope's own runs (the same steps, frames and checkpoints tables,
written by sessions.writer's Recorder on its own thread) whose branch config is
``{"external": ...}``: the attached modules, the model's and optimizer's class names. Its steps
come from the user's loop, so nothing in it can be re-run: a frame exists only for the steps
that were probed (every ``probe_every``-th), and there is no rewind or branch
(sessions.session.Session.external). The weights of the attached layers are stored every
``checkpoint_every`` steps (and at step 0), as state_dict entries of the user's model.

Recording never breaks training: when the disk fills or the file becomes read-only, one
RecordingWarning says so and recording pauses (``recording.retry()`` tries again); training goes
on. A window that follows the file can pause the loop (sessions.control).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from rnnscope.engine import native, numerics
from rnnscope.engine.attach import Scope
from rnnscope.engine.attach import attach as attach_layers
from rnnscope.engine.record import StepRecord
from rnnscope.sessions import control, ownership
from rnnscope.sessions.errors import RecordingError
from rnnscope.sessions.start import start_file
from rnnscope.sessions.writer import Recorder, RecordSettings

EXTERNAL = "external"  # the meta key (and branch config key) of a run recorded from the user's loop


class RecordingWarning(UserWarning):
    """Recording stopped (disk full, read-only file ...); the user's training goes on."""


def describe(scope: Scope, model: nn.Module, optimizer: Any, probe_every: int) -> dict[str, Any]:
    """What the file says about the attached run (its branch config)."""
    return {
        EXTERNAL: {
            "model": type(model).__name__,
            "optimizer": None if optimizer is None else type(optimizer).__name__,
            "probe_every": probe_every,
            "modules": [
                {
                    "path": path,
                    "cell": m.cell,
                    "nonlinearity": m.nonlinearity,
                    "input_size": m.input_size,
                    "hidden_size": m.hidden_size,
                    "num_layers": m.num_layers,
                    "bidirectional": m.bidirectional,
                    "batch_first": m.batch_first,
                    "dropout": m.dropout,
                    "bias": m.bias,
                }
                for path, m in scope.modules.items()
            ],
            "skipped": dict(scope.skipped),
        }
    }


class Recording:
    """A scope's listener that writes its steps into a session file."""

    def __init__(
        self,
        path: Path,
        scope: Scope,
        config: dict[str, Any],
        settings: RecordSettings,
        *,
        overwrite: bool,
        follow_requests: bool = True,
    ) -> None:
        self.path = path
        self.settings = settings
        self.probe_every = int(config[EXTERNAL]["probe_every"])
        kernels = native.variant()
        fp = numerics.fingerprint(kernels=kernels, device=_device_of(scope), rev=numerics.REVISION)
        conn = start_file(
            path,
            config=config,
            settings=settings,
            kernels=kernels,
            fingerprint=fp,
            overwrite=overwrite,
            meta={ownership.KEY: ownership.mark(live=True)},
        )
        self.recorder = Recorder(conn, path, settings)
        self.control = control.Listener(path, report=self._report_held) if follow_requests else None
        self.paused_by: str | None = None  # why recording stopped (None: recording)
        self.waited = 0.0  # seconds the loop was held by a window's pause
        self._closed = False

    # --------------------------------------------------------------- listener
    def probed(self, step: int) -> bool:
        """A step whose frame is stored (every probe_every-th)."""
        return self.probe_every > 0 and step % self.probe_every == 0

    def wants_frame(self, step: int) -> bool:
        """Stored steps, and every step while a window's breakpoint needs a frame to be checked."""
        watched = self.control is not None and self.control.needs_frame
        return self.paused_by is None and (self.probed(step) or watched)

    def wants_weights(self, step: int) -> bool:
        return self.paused_by is None and step % self.settings.checkpoint_every == 0

    def took(self, rec: StepRecord, weights: dict[str, Tensor] | None) -> None:
        hits = self.control.check(rec) if self.control is not None else []  # a hit holds the loop next
        if self.paused_by is not None or self._closed:
            return
        try:  # the frame of a probed step, and of a step a breakpoint hit (the window shows it)
            self.recorder.submit_step(
                0, rec, store_frame=rec.has_frame and (self.probed(rec.step) or bool(hits))
            )
            if weights is not None:
                self.recorder.submit_checkpoint(0, rec.step, {"weights": weights})
        except RecordingError as exc:
            self.paused_by = str(exc)
            warnings.warn(f"rnnscope: {exc}; training goes on, not recorded", RecordingWarning, stacklevel=2)

    def between_steps(self, step: int) -> None:
        if self.control is not None:
            self.waited += self.control.wait(step)

    def _report_held(self, held: control.Held | None) -> None:
        """Tell a window where the loop waits (sessions.control.HELD); never an error for training."""
        if self.paused_by is None:
            value = held.to_dict() if held is not None else {"at": None, "since": time.time()}
            with contextlib.suppress(RecordingError):  # the next step's write reports it
                self.recorder.submit_meta(control.HELD, value)

    # ------------------------------------------------------------------ user
    def retry(self) -> bool:
        """Write what an error held back (once space is freed ...) and record again."""
        try:
            self.recorder.retry()
        except RecordingError as exc:
            self.paused_by = str(exc)
            return False
        self.paused_by = None
        return True

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.control is not None:
            self.control.close()
        try:
            if self.recorder.healthy:
                self.recorder.submit_meta(ownership.KEY, ownership.mark(live=False))
            self.recorder.close()
        except RecordingError as exc:
            warnings.warn(f"rnnscope: {exc}", RecordingWarning, stacklevel=2)


def _device_of(scope: Scope) -> str:
    for m in scope.modules.values():
        for p in m.parameters():
            return str(p.device)
    return "cpu"


class RecordedScope:
    """What ``rnnscope.attach`` returns: the scope (``step``, ``gradient_norms``), its recording."""

    def __init__(self, scope: Scope, recording: Recording | None) -> None:
        self.scope = scope
        self.recording = recording
        self.window: subprocess.Popen[bytes] | None = None  # the window attach(window=True) started

    @property
    def modules(self) -> dict[str, Any]:
        return self.scope.modules

    @property
    def path(self) -> Path | None:
        return None if self.recording is None else self.recording.path

    def step(self, loss: Tensor | float | None = None) -> StepRecord | None:
        return self.scope.step(loss)

    def gradient_norms(self, cell: bool = False) -> dict[str, Any]:
        return self.scope.gradient_norms(cell)

    def detach(self) -> None:
        """The original modules back; the last step written and the file closed."""
        self.scope.detach()
        if self.recording is not None:
            self.recording.close()

    def __enter__(self) -> RecordedScope:
        return self

    def __exit__(self, *exc: object) -> None:
        self.detach()


def attach(
    model: nn.Module,
    path: str | os.PathLike[str] | None = None,
    *,
    optimizer: Any = None,
    probe_every: int = 10,
    checkpoint_every: int = 100,
    strict: bool = True,
    overwrite: bool = False,
    window: bool = False,
) -> RecordedScope:
    """Attach rnnscope to ``model`` (every nn.RNN/LSTM/GRU in it) and, with ``path``, record
    each training step into that session file. ``optimizer``: where the learning rate is read.
    ``probe_every``: a frame (every gate and state of sample 0) every N steps (0: none).
    ``window``: also start the debugger window on the file (another process, which follows the
    run and can pause it; it stays open after the script ends)."""
    if int(probe_every) < 0:
        raise ValueError(f"probe_every must be >= 0 (0 = no frames); got {probe_every!r}")
    if window and path is None:
        raise ValueError(
            "window=True needs a path: the window follows the session file the run is recorded in"
        )
    settings = RecordSettings(checkpoint_every=int(checkpoint_every), frame_every=int(probe_every))
    scope = attach_layers(model, strict=strict, optimizer=optimizer)
    if path is None:
        return RecordedScope(scope, None)
    try:
        recording = Recording(
            Path(path),
            scope,
            describe(scope, model, optimizer, int(probe_every)),
            settings,
            overwrite=overwrite,
        )
    except BaseException:
        scope.detach()
        raise
    scope.listeners.append(recording)
    recorded = RecordedScope(scope, recording)
    if window:
        try:
            recorded.window = open_window(Path(path))
        except OSError as exc:  # no window, and training goes on
            warnings.warn(f"rnnscope: cannot start the window: {exc}", RecordingWarning, stacklevel=2)
    return recorded


def window_command(path: Path) -> list[str]:
    """The command that opens the window on ``path`` and follows it (``python -m rnnscope open``)."""
    return [sys.executable, "-m", "rnnscope", "open", str(path), "--follow"]


def open_window(path: Path) -> subprocess.Popen[bytes]:
    """Start the window on ``path`` in a session of its own (a Ctrl+C in the script leaves it open)."""
    return subprocess.Popen(window_command(path), stdin=subprocess.DEVNULL, start_new_session=True)
