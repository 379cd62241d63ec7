"""Background work for the application model, finished on the owner's (GUI) thread.

``Busy`` says what is in progress (the status bar's progress text); ``Jobs`` runs slow reads
(opening a file, regenerating a frame, exporting) on one thread of its own and hands each
result to ``post``, a function that runs a callable on the owner's thread (the Qt adapter
posts through a queued signal, gui.model.main_thread; a headless test drains a queue). The
window's model and each side of the compare window use one ``Jobs`` each.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rnnscope.gui.model.events import Event

Post = Callable[[Callable[[], None]], None]  # run a callable on the owner's thread (from any thread)
Done = Callable[[Any, BaseException | None], None]  # on_done(result, exc), on the owner's thread


class Busy:
    """What is in progress, newest last. Event: ``changed(text)`` ("" when nothing)."""

    def __init__(self) -> None:
        self.changed: Event[[str]] = Event()
        self._texts: dict[int, str] = {}
        self._ids = 0

    @property
    def text(self) -> str:
        return next(reversed(self._texts.values()), "")

    def begin(self, text: str) -> int:
        """Show ``text`` until ``end(token)``; returns the token."""
        self._ids += 1
        self._texts[self._ids] = text
        self.changed.emit(text)
        return self._ids

    def end(self, token: int) -> None:
        if self._texts.pop(token, None) is not None:
            self.changed.emit(self.text)


class Jobs:
    """One background thread; ``submit(fn, on_done, busy)`` runs ``fn()`` there and
    ``on_done(result, exc)`` on the owner's thread (not at all once closed)."""

    def __init__(self, name: str, post: Post, busy: Busy | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"rnnscope-{name}")
        self._post = post
        self.busy = busy if busy is not None else Busy()
        self.closed = False

    def submit(self, fn: Callable[[], Any], on_done: Done | None = None, busy: str = "") -> None:
        if self.closed:
            return
        token = self.busy.begin(busy) if busy else None

        def finish(result: Any, exc: BaseException | None) -> None:
            if token is not None:
                self.busy.end(token)
            if not self.closed and on_done is not None:
                on_done(result, exc)

        def run() -> None:
            try:
                result, exc = fn(), None
            except Exception as e:  # reported on the owner's thread
                result, exc = None, e
            self._post(lambda: finish(result, exc))

        self._pool.submit(run)

    def close(self, last: Callable[[], Any] | None = None) -> None:
        """Drop queued work, wait for the running one, then run ``last`` (closing files)."""
        if self.closed:
            return
        self.closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        if last is not None:
            last()
