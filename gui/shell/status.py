"""Status bar: step, loss, steps/s, device, branch and file; a busy bar for long operations."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget

from rnnscope.engine import native


def _fmt_loss(x: float) -> str:
    """A loss as the status bar writes it: an overflowed one says so (inf, NaN), never a dash."""
    if math.isnan(x):
        return "NaN"
    return ("inf" if x > 0 else "−inf") if math.isinf(x) else f"{x:.4g}"


class StatusBar(QStatusBar):
    def __init__(self, controller: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.labels: dict[str, QLabel] = {}
        self.busy_label = QLabel("")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: regeneration and loading report no fraction
        self.busy.setMaximumWidth(140)
        self.busy.setMaximumHeight(14)
        self.addWidget(self.busy_label)
        self.addWidget(self.busy)
        self.busy.hide()
        for key, width in (
            ("step", 110),
            ("loss", 110),
            ("speed", 100),
            ("device", 80),
            ("branch", 130),
            ("file", 260),
        ):
            label = QLabel("")
            label.setMinimumWidth(width)
            self.labels[key] = label
            self.addPermanentWidget(label)
        self._last: tuple[Any, ...] = ()
        self._show_busy_timer = QTimer(self)
        self._show_busy_timer.setSingleShot(True)
        self._show_busy_timer.timeout.connect(self._reveal_busy)
        controller.busy_changed.connect(self._on_busy)

    def _on_busy(self, text: str) -> None:
        self.busy_label.setText(text + "…" if text else "")
        if text:
            if not self.busy.isVisible():
                self._show_busy_timer.start(150)  # quick reads do not flash a bar
        else:
            self._show_busy_timer.stop()
            self.busy.hide()

    def _reveal_busy(self) -> None:
        if self.controller.busy_text:
            self.busy.show()

    def _numerics_tip(self) -> str:
        """Which loops run and what decides the bits of a step in this process (the numerics
        fingerprint a recording stores; File > Properties compares it with the file's)."""
        from rnnscope.engine import numerics

        loops = native.planned_variant()
        lines = numerics.describe(numerics.fingerprint(kernels=loops, device=self.controller.device or "cpu"))
        return "\n".join([f"CPU recurrences: {native.status()}", "numerics of this process:", *lines])

    def update_fields(self) -> None:
        c = self.controller
        rec = c.record
        n = c.steps
        speed = c.steps_per_second()
        state = (
            rec.step if rec is not None else None,
            n,
            round(speed, 1),
            c.device,
            c.branch_name,
            str(c.path),
            c.playing,
            c.unsaved,
            c.mode,
            native.building(),
            c.follower.state() if c.mode == "follow" else "",
        )
        if state == self._last:
            return
        self._last = state
        h = c.history
        if rec is not None:
            self.labels["step"].setText(f"step {rec.step} / {max(n - 1, 0)}")
            self.labels["loss"].setText(f"loss {_fmt_loss(rec.loss)}")
        elif n:
            self.labels["step"].setText(f"steps {n}")
            self.labels["loss"].setText(f"loss {_fmt_loss(float(h.series('loss')[-1]))}")
        else:
            self.labels["step"].setText("step —")
            self.labels["loss"].setText("loss —")
        if c.mode == "follow":  # the user's own loop, in another process
            state = c.follower.state()
            self.labels["speed"].setText(f"{speed:.1f} steps/s" if c.playing and speed else "following")
            self.labels["speed"].setToolTip(state)
            self.labels["device"].setText(state)
        elif c.playing:
            self.labels["speed"].setText(f"{speed:.1f} steps/s")
        else:
            self.labels["speed"].setText("paused" if c.mode == "live" else c.mode)
        building = " · building CPU kernels (first run only)…" if native.building() else ""
        if c.mode != "follow":
            self.labels["device"].setText(f"device {c.device or '—'}{building}")
        self.labels["device"].setToolTip(self._numerics_tip())
        self.labels["branch"].setText(f"branch {c.branch_name or '—'}")
        name = Path(c.path).name if c.path is not None else "—"
        self.labels["file"].setText(f"{name} (unsaved)" if c.unsaved else name)
        self.labels["file"].setToolTip(str(c.path or ""))
