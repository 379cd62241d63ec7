"""BreakpointControl: the session's watch conditions and their hits (a RunController mixin).

The controller owns the authoritative ``BreakpointSet``; every change builds a new set
(validated by engine.breakpoints, so a refused value changes nothing) and hands a copy to
the training worker, which checks it on every step, pauses on a hit and stores the hit on
the session's timeline (see gui.worker). Definitions are stored in the session file and
read back when a file is opened; hits come back with the timeline (``History.events`` of
kind ``breakpoint``). "non-finite loss or gradient" is always present and on by default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rnnscope.engine.breakpoints import Breakpoint, BreakpointSet, Hit, default_breakpoints
from rnnscope.gui.history import Event
from rnnscope.sessions.breakpoints import HIT_EVENT, hit_from_event, load_breakpoints

if TYPE_CHECKING:
    from rnnscope.sessions.session import Session

NONFINITE_ID = "nonfinite"


def with_nonfinite(bset: BreakpointSet) -> BreakpointSet:
    """``bset`` with the non-finite breakpoint added first (enabled) when it has none."""
    if any(b.kind == "nonfinite" for b in bset):
        return bset
    nf = Breakpoint("nonfinite", id=NONFINITE_ID) if NONFINITE_ID not in bset else Breakpoint("nonfinite")
    return BreakpointSet([nf, *(b.copy() for b in bset)])


class BreakpointControl:
    """Mixed into RunController (signals ``breakpoints_changed`` and ``breakpoint_hit(list)``)."""

    breakpoints: BreakpointSet
    last_hits: list[Hit]

    def _init_breakpoints(self) -> None:
        self.breakpoints = default_breakpoints()
        self.last_hits = []

    # ------------------------------------------------------------ editing
    def set_breakpoints(self, bset: BreakpointSet) -> None:
        """Watch ``bset`` (with the non-finite one ensured) from the next step on."""
        self.breakpoints = with_nonfinite(bset)
        self.worker.set_breakpoints(self.breakpoints.copy())
        self.breakpoints_changed.emit()

    def add_breakpoint(
        self, kind: str, threshold: float | None = None, expression: str | None = None
    ) -> str | None:
        """Add a breakpoint; the reason (engine.breakpoints' message) when refused, nothing added."""
        try:
            bp = Breakpoint(kind, threshold=threshold, expression=expression)
        except (ValueError, TypeError) as exc:
            return str(exc)
        new = self.breakpoints.copy()
        new.add(bp)
        self.set_breakpoints(new)
        return None

    def _change(self, bp_id: str, **changes: Any) -> str | None:
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
        self.set_breakpoints(new)
        return None

    def enable_breakpoint(self, bp_id: str, on: bool) -> str | None:
        return self._change(bp_id, enabled=bool(on))

    def set_threshold(self, bp_id: str, value: float) -> str | None:
        """A new threshold; the reason when refused (the breakpoint keeps its old one)."""
        return self._change(bp_id, threshold=value)

    def remove_breakpoint(self, bp_id: str) -> str | None:
        if bp_id not in self.breakpoints:
            return f"no breakpoint {bp_id!r}"
        if self.breakpoints.get(bp_id).kind == "nonfinite":
            return "the non-finite breakpoint stays: switch it off instead"
        new = self.breakpoints.copy()
        new.remove(bp_id)
        self.set_breakpoints(new)
        return None

    # ------------------------------------------------------------ hits
    @property
    def hits(self) -> list[Hit]:
        """The hits on the viewed timeline, by step (live ones and those stored in the file)."""
        out = [hit_from_event(e) for e in self.history.events if e.kind == HIT_EVENT]
        return sorted((h for h in out if h is not None), key=lambda h: h.step)

    def _on_hits(self, payload: tuple[Any, list[Hit]]) -> None:
        """The worker paused on ``hits`` of record ``rec``: show them and seek to that step."""
        rec, hits = payload
        if rec.has_frame:
            self._remember(rec)
        self.poll()
        if self.live_branch_id == self.branch_id:
            for h in hits:
                self.history.add_event(Event(h.step, HIT_EVENT, h.name, None, h.to_dict()))
            self.history_changed.emit()
            self.seek(hits[0].step)
        self.last_hits = list(hits)
        self.breakpoint_hit.emit(list(hits))

    def _adopt_breakpoints(self, reader: Session) -> None:
        """Watch what an opened file stored (the defaults when it stored none)."""
        try:
            stored = load_breakpoints(reader)
        except Exception as exc:  # shown; the file still opens with the defaults
            self.error.emit(str(exc))
            stored = None
        self.last_hits = []
        self.set_breakpoints(stored if stored is not None else default_breakpoints())
