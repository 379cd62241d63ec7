"""Typed events for the Qt-free application model (napari's EventedModel in miniature).

    changed: Event[[]] = Event()
    hit: Event[[list[Hit]]] = Event()
    model.hit.connect(show)          # show(hits: list[Hit])
    model.hit.emit(hits)

An event calls its callbacks in the order they connected, on the thread that emits (the
model's owner: the GUI thread). The QObject adapter (gui.model.controller) re-emits them as
Qt signals for the views; a test listens to them without any Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")


class Event(Generic[P]):
    def __init__(self) -> None:
        self._callbacks: list[Callable[P, object]] = []

    def connect(self, callback: Callable[P, object]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[P, object]) -> None:
        self._callbacks.remove(callback)

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for callback in list(self._callbacks):
            callback(*args, **kwargs)
