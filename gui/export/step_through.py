"""StepThrough: a panel (or the window) rendered at every step of a range, as a GIF or PNGs.

It drives a view the way a user would: ``seek(k)``, wait until ``shown()`` says step k is on
screen (it may be regenerated on the loader thread first: the event loop keeps running),
render the widget (``gui.snapshot``) and write frame k; then the next step. Frames are
PNG files ``<stem>_0000.png``...; a GIF is assembled from them with Pillow on a background
thread (``background(fn, on_done)``, e.g. ``AppModel.background``). Without Pillow
only the PNG sequence is offered.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from rnnscope.gui.export import snapshot

FRAME_TIMEOUT = 120.0  # s to wait for one step (a long regeneration)
Background = Callable[[Callable[[], Any], Callable[[Any, BaseException | None], None]], None]


def gif_available() -> bool:
    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        return False
    return True


def frame_path(path: str | os.PathLike[str], i: int) -> Path:
    """``run.png`` -> ``run_0003.png`` (the PNG sequence's i-th frame)."""
    p = Path(path)
    return p.with_name(f"{p.stem}_{i:04d}.png")


def write_gif(frames: list[Path], path: str | os.PathLike[str], fps: float) -> Path:
    """Assemble PNG frames into a looping GIF (Pillow; adaptive palette per frame)."""
    from PIL import Image

    images = [Image.open(f).convert("RGB").quantize(colors=256) for f in frames]
    if not images:
        raise ValueError("no frames to write")
    images[0].save(
        str(path),
        save_all=True,
        append_images=images[1:],
        duration=max(20, round(1000 / fps)),
        loop=0,
        optimize=False,
    )
    return Path(path)


@dataclass
class StepThroughOptions:
    steps: list[int]
    path: Path  # the .gif, or the name pattern of the PNG sequence (``run.png`` -> run_0000.png ...)
    fmt: str = "gif"  # gif | png
    size: tuple[int, int] | None = None  # (width, height) of every frame; None: the widget's size
    fps: float = 4.0


class StepThrough(QObject):
    progress = Signal(int, int)  # frames done, frames in all
    finished = Signal(object)  # the GIF's path, or the list of PNG paths
    failed = Signal(str)

    def __init__(
        self,
        widget: QWidget,
        seek: Callable[[int], None],
        shown: Callable[[], int | None],
        options: StepThroughOptions,
        background: Background | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        if not options.steps:
            raise ValueError("no steps to export")
        if options.fmt not in ("gif", "png"):
            raise ValueError(f"unknown animation format {options.fmt!r} (gif or png)")
        if options.fmt == "gif" and not gif_available():
            raise ValueError("GIF needs Pillow (pip install pillow); a PNG sequence works without it")
        self.widget, self.seek, self.shown, self.options = widget, seek, shown, options
        self.background = background
        self.frames: list[Path] = []
        self.cancelled = False
        self.done = False
        self._i = 0
        self._asked = 0.0
        self._tmp: Path | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(15)
        self._timer.timeout.connect(self._poll)

    @property
    def total(self) -> int:
        return len(self.options.steps)

    def start(self) -> None:
        if self.options.fmt == "gif":
            self._tmp = Path(tempfile.mkdtemp(prefix="rnnscope-gif-"))
        self._ask()
        self._timer.start()

    def cancel(self) -> None:
        self.cancelled = True

    # ------------------------------------------------------------ the loop
    def _ask(self) -> None:
        self._asked = time.monotonic()
        self.seek(self.options.steps[self._i])

    def _poll(self) -> None:
        if self.cancelled:
            self._fail("cancelled")
            return
        k = self.options.steps[self._i]
        if self.shown() != k:
            if time.monotonic() - self._asked > FRAME_TIMEOUT:
                self._fail(f"step {k} did not appear within {FRAME_TIMEOUT:.0f} s")
            return
        target = frame_path(self._tmp / "frame.png" if self._tmp else self.options.path, self._i)
        if not snapshot.save_png(self.widget, target, self.options.size):
            self._fail(f"could not write {target}")
            return
        self.frames.append(target)
        self._i += 1
        self.progress.emit(self._i, self.total)
        if self._i < self.total:
            self._ask()
            return
        self._timer.stop()
        if self.options.fmt == "png":
            self._finish(list(self.frames))
            return
        frames, path, fps = list(self.frames), self.options.path, self.options.fps
        self._run(lambda: write_gif(frames, path, fps))

    def _run(self, fn: Callable[[], Any]) -> None:
        def done(result: Any, exc: BaseException | None) -> None:
            if exc is not None:
                self._fail(f"could not write {self.options.path}: {exc}")
            else:
                self._finish(result)

        if self.background is None:
            try:
                result, exc = fn(), None
            except Exception as e:
                result, exc = None, e
            done(result, exc)
        else:
            self.background(fn, done)

    def _cleanup(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _finish(self, result: Any) -> None:
        self.done = True
        self._cleanup()
        self.finished.emit(result)

    def _fail(self, text: str) -> None:
        self._timer.stop()
        self.done = True
        self._cleanup()
        self.failed.emit(text)
