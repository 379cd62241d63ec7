"""TimeCursor: the timestep t that every panel marks (clicking a per-timestep view moves it)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class TimeCursor(QObject):
    changed = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.t = 0

    def set(self, t: int) -> None:
        t = max(0, int(t))
        if t != self.t:
            self.t = t
            self.changed.emit(t)

    def move(self, dt: int) -> None:
        self.set(self.t + dt)
