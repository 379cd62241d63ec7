"""TeachingExport: the window's exports for slides and handouts (File > Export).

- a panel or the whole window as PNG at a chosen size (``png_dialog``);
- a step-through of a panel over a range of steps, as an animated GIF or a PNG sequence
  (``step_through``; frames are regenerated on the loader thread where not stored, and a
  progress dialog with Cancel shows meanwhile);
- the gradient-flow matrix ||dL/dh_t|| (steps x timesteps x layers) of the viewed branch as
  NPZ or CSV (``export_gradient_flow``, read from the session file on the loader thread).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFileDialog, QMenu, QProgressDialog, QWidget

from rnnscope.gui.export.dialogs import AnimationDialog, SizeDialog
from rnnscope.gui.export.step_through import StepThrough, StepThroughOptions
from rnnscope.sessions.export import write_gradient_flow
from rnnscope.sessions.session import Session


class TeachingExport(QObject):
    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.jobs: list[StepThrough] = []

    @property
    def controller(self) -> Any:
        return self.window.controller

    def targets(self) -> dict[str, tuple[str, QWidget]]:
        w = self.window
        out = {"window": ("Whole window", w)}
        for name, dock in w.docks.items():
            out[name] = (dock.windowTitle(), w.panels[name])
        return out

    def add_to_menu(self, menu: QMenu) -> None:
        anim = menu.addMenu("Step-through (GIF / PNG sequence)")
        for _name, (title, widget) in self.targets().items():
            act = anim.addAction(title + "…")
            act.triggered.connect(lambda _=False, wd=widget: self.step_through_dialog(wd))
        flow = menu.addMenu("Gradient-flow matrix")
        for fmt in ("npz", "csv"):
            act = flow.addAction(f"as {fmt.upper()}…")
            act.triggered.connect(lambda _=False, f=fmt: self.gradient_flow_dialog(f))

    def _save_name(self, title: str, default: str, filt: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self.window, title, str(Path.home() / default), filt)
        return path

    # ------------------------------------------------------------ PNG
    def png_dialog(self, widget: QWidget) -> None:
        dialog = SizeDialog(widget, self.window)
        if not dialog.exec():
            return
        path = self._save_name("Export PNG", "rnnscope.png", "PNG image (*.png)")
        if path:
            self.window.export_png(widget, path, dialog.fields.size)

    # ------------------------------------------------------------ step-through
    def step_through_dialog(self, widget: QWidget) -> None:
        c = self.controller
        if not c.steps:
            self.window.show_error("no steps to animate yet")
            return
        dialog = AnimationDialog(widget, c.steps, c.shown_step, self.window)
        if not dialog.exec():
            return
        ch = dialog.choice()
        ext, filt = ("gif", "GIF (*.gif)") if ch.fmt == "gif" else ("png", "PNG sequence (*.png)")
        path = self._save_name("Export step-through", f"rnnscope.{ext}", filt)
        if path:
            self.step_through(widget, path, ch.steps, fmt=ch.fmt, size=ch.size, fps=ch.fps)

    def step_through(
        self,
        widget: QWidget,
        path: str | Path,
        steps: list[int],
        *,
        fmt: str = "gif",
        size: tuple[int, int] | None = None,
        fps: float = 4.0,
        on_done: Callable[[Any], None] | None = None,
    ) -> StepThrough | None:
        """Render ``widget`` at each of ``steps`` into ``path`` (GIF, or ``stem_0000.png``...).
        The view returns to what it showed before when done."""
        c = self.controller
        options = StepThroughOptions(list(steps), Path(path), fmt, size, fps)
        try:
            job = StepThrough(
                widget,
                lambda k: c.seek(k),
                lambda: c.shown_step,
                options,
                lambda fn, done: c.background(fn, done, busy=f"writing {Path(path).name}"),
                self,
            )
        except ValueError as exc:
            self.window.show_error(str(exc))
            return None
        was_live, was_step = c.follow_live, c.shown_step
        progress = self._progress(job) if self.window.interactive else None

        def restore() -> None:
            if job in self.jobs:
                self.jobs.remove(job)
            if progress is not None:
                progress.close()
            if was_live:
                c.go_live()
            elif was_step is not None:
                c.seek(was_step)

        def finished(result: Any) -> None:
            restore()
            n = len(result) if isinstance(result, list) else job.total
            self.window.status.showMessage(f"wrote {n} frames to {path}", 8000)
            if on_done is not None:
                on_done(result)

        def failed(text: str) -> None:
            restore()
            if text != "cancelled":
                self.window.show_error(f"step-through: {text}")

        job.finished.connect(finished)
        job.failed.connect(failed)
        job.progress.connect(
            lambda i, n: self.window.status.showMessage(f"step-through: frame {i} of {n}", 2000)
        )
        self.jobs.append(job)
        job.start()
        return job

    def _progress(self, job: StepThrough) -> QProgressDialog:
        dialog = QProgressDialog("Rendering frames…", "Cancel", 0, job.total, self.window)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)
        dialog.canceled.connect(job.cancel)
        job.progress.connect(lambda i, _n: dialog.setValue(i))
        return dialog

    def cancel_all(self) -> None:
        for job in list(self.jobs):
            job.cancel()

    # ------------------------------------------------------------ gradient-flow matrix
    def gradient_flow_dialog(self, fmt: str) -> None:
        path = self._save_name(
            f"Export gradient flow as {fmt.upper()}", f"gradient_flow.{fmt}", f"{fmt.upper()} (*.{fmt})"
        )
        if path:
            self.export_gradient_flow(fmt, path)

    def export_gradient_flow(
        self, fmt: str, path: str | Path, on_done: Callable[[Path], None] | None = None
    ) -> None:
        """||dL/dh_t|| of every step of the viewed branch (steps x timesteps x layers), from the file."""
        c = self.controller
        if c.path is None or not c.steps:
            self.window.show_error("no steps to export yet")
            return
        source, branch, target = Path(c.path), c.branch_id, Path(path)
        live = c.worker.live

        def work() -> None:
            if live is not None:
                with contextlib.suppress(Exception):  # a recording error: export what the file has
                    live.flush()  # the newest steps are in the file
            with Session.open(source) as s:
                write_gradient_flow(s.summaries(branch=branch), target, fmt)

        def done(_: Any, exc: BaseException | None) -> None:
            if exc is not None:
                self.window.show_error(f"export failed: {exc}")
                return
            self.window.status.showMessage(f"wrote the gradient-flow matrix to {target}", 5000)
            if on_done is not None:
                on_done(target)

        c.background(work, done, busy=f"exporting the gradient flow as {fmt.upper()}")
