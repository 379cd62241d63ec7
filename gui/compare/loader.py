"""Loader: a compare side's background thread (gui.model.jobs.Jobs) with a Qt signal.

``submit(fn, on_done, busy)`` runs ``fn()`` on the thread and ``on_done(result, exc)`` on the
main thread, so widgets are only ever touched from the main thread; ``busy_changed`` says what
is running ("" when nothing), for the compare window's status bar. The same Jobs class runs
the main window's reads (gui.model.app.AppModel.background).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from rnnscope.gui.model.jobs import Done, Jobs
from rnnscope.gui.model.main_thread import MainThread


class Loader(QObject):
    busy_changed = Signal(str)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs = Jobs(name, MainThread(self).post)
        self._jobs.busy.changed.connect(self.busy_changed.emit)

    @property
    def busy_text(self) -> str:
        return self._jobs.busy.text

    @property
    def closed(self) -> bool:
        return self._jobs.closed

    def submit(self, fn: Callable[[], Any], on_done: Done, busy: str = "") -> None:
        self._jobs.submit(fn, on_done, busy)

    def close(self, last: Callable[[], Any] | None = None) -> None:
        """Drop queued work, wait for the running one, then run ``last`` (closing files)."""
        self._jobs.close(last)
