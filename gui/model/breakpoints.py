"""The session's watch conditions and their hits: a Qt-free part of the application model.

The model owns the authoritative ``BreakpointSet``; every change builds a new set (validated
by engine.breakpoints, so a refused value changes nothing), hands a copy to ``apply`` (the
training worker, which checks it on every step, pauses on a hit and stores the hit on the
session's timeline) and emits ``changed``. Definitions are stored in the session file and read
back when a file is opened; hits come back with the timeline (``History.events`` of kind
``breakpoint``). "non-finite loss or gradient" is always present and on by default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rnnscope.engine.breakpoints import Breakpoint, BreakpointSet, Hit, default_breakpoints
from rnnscope.gui.model.events import Event
from rnnscope.sessions.breakpoints import HIT_EVENT, hit_from_event, load_breakpoints

if TYPE_CHECKING:
    from rnnscope.gui.model.history import History
    from rnnscope.sessions.session import Session

NONFINITE_ID = "nonfinite"


def with_nonfinite(bset: BreakpointSet) -> BreakpointSet:
    """``bset`` with the non-finite breakpoint added first (enabled) when it has none."""
    if any(b.kind == "nonfinite" for b in bset):
        return bset
    nf = Breakpoint("nonfinite", id=NONFINITE_ID) if NONFINITE_ID not in bset else Breakpoint("nonfinite")
    return BreakpointSet([nf, *(b.copy() for b in bset)])


class WatchList:
    """Events: ``changed()`` (the watched set changed), ``hit(hits)`` (training paused on
    them), ``error(text)`` (stored breakpoints could not be read; the defaults are watched)."""

    def __init__(self, apply: Callable[[BreakpointSet], Any]) -> None:
        self._apply = apply
        self.changed: Event[[]] = Event()
        self.hit: Event[[list[Hit]]] = Event()
        self.error: Event[[str]] = Event()
        self.breakpoints: BreakpointSet = default_breakpoints()
        self.last_hits: list[Hit] = []
        apply(self.breakpoints.copy())

    # ------------------------------------------------------------ editing
    def set(self, bset: BreakpointSet) -> None:
        """Watch ``bset`` (with the non-finite one ensured) from the next step on."""
        self.breakpoints = with_nonfinite(bset)
        self._apply(self.breakpoints.copy())
        self.changed.emit()

    def add(self, kind: str, threshold: float | None = None, expression: str | None = None) -> str | None:
        """Add a breakpoint; the reason (engine.breakpoints' message) when refused, nothing added."""
        try:
            bp = Breakpoint(kind, threshold=threshold, expression=expression)
        except (ValueError, TypeError) as exc:
            return str(exc)
        new = self.breakpoints.copy()
        new.add(bp)
        self.set(new)
        return None

    def change(self, bp_id: str, **changes: Any) -> str | None:
        """``bp_id`` with ``changes`` (enabled, threshold ...); the reason when refused."""
        new = BreakpointSet()
        try:
            for b in self.breakpoints:
                d = b.to_dict()
                if b.id == bp_id:
                    d.update(changes)
                    new.add(Breakpoint(**d))
                else:
                    new.add(b.copy())
        except (ValueError, TypeError) as exc:
            return str(exc)
        self.set(new)
        return None

    def remove(self, bp_id: str) -> str | None:
        if bp_id not in self.breakpoints:
            return f"no breakpoint {bp_id!r}"
        if self.breakpoints.get(bp_id).kind == "nonfinite":
            return "the non-finite breakpoint stays: switch it off instead"
        new = self.breakpoints.copy()
        new.remove(bp_id)
        self.set(new)
        return None

    # ------------------------------------------------------------ hits
    @staticmethod
    def hits_in(history: History) -> list[Hit]:
        """The hits on a timeline, by step (live ones and those stored in the file)."""
        out = [hit_from_event(e) for e in history.events if e.kind == HIT_EVENT]
        return sorted((h for h in out if h is not None), key=lambda h: h.step)

    def note_hits(self, hits: list[Hit]) -> None:
        self.last_hits = list(hits)
        self.hit.emit(list(hits))

    def adopt(self, reader: Session) -> None:
        """Watch what an opened file stored (the defaults when it stored none)."""
        try:
            stored = load_breakpoints(reader)
        except Exception as exc:  # reported; the file still opens with the defaults
            self.error.emit(str(exc))
            stored = None
        self.last_hits = []
        self.set(stored if stored is not None else default_breakpoints())
