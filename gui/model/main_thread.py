"""MainThread: runs callables posted from any thread on the thread that owns it (the GUI's).

The Qt half of the application model's ``post`` (gui.model.jobs.Post): ``post(fn)`` emits a
signal; Qt queues it to the owner's event loop, where ``fn()`` runs. Posting never blocks.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot


class MainThread(QObject):
    _call = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._call.connect(self._run)

    def post(self, fn: Callable[[], None]) -> None:  # any thread
        self._call.emit(fn)

    @Slot(object)
    def _run(self, fn: Callable[[], None]) -> None:
        fn()
