"""Loader: one background thread for slow reads (opening a session, regenerating a frame).

``submit(fn, on_done, busy)`` runs ``fn()`` on the thread and ``on_done(result, exc)`` on the
main thread (through a queued signal), so widgets are only ever touched from the main thread.
``busy_changed`` says what is running ("" when nothing), for a progress bar.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

Done = Callable[[Any, BaseException | None], None]


class Loader(QObject):
    busy_changed = Signal(str)
    _finished = Signal(object)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"rnnscope-{name}")
        self._finished.connect(self._on_finished)
        self._busy: dict[int, str] = {}
        self._ids = 0
        self.closed = False

    @property
    def busy_text(self) -> str:
        return next(reversed(self._busy.values()), "")

    def submit(self, fn: Callable[[], Any], on_done: Done, busy: str = "") -> None:
        if self.closed:
            return
        self._ids += 1
        token = self._ids
        if busy:
            self._busy[token] = busy
            self.busy_changed.emit(busy)

        def run() -> None:
            try:
                result, exc = fn(), None
            except Exception as e:  # reported on the main thread
                result, exc = None, e
            self._finished.emit((token, on_done, result, exc))

        self._pool.submit(run)

    @Slot(object)
    def _on_finished(self, item: tuple[int, Done, Any, BaseException | None]) -> None:
        token, on_done, result, exc = item
        if self._busy.pop(token, None) is not None:
            self.busy_changed.emit(self.busy_text)
        if not self.closed:
            on_done(result, exc)

    def close(self, last: Callable[[], Any] | None = None) -> None:
        """Drop queued work, wait for the running one, then run ``last`` (closing files)."""
        if self.closed:
            return
        self.closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        if last is not None:
            last()
