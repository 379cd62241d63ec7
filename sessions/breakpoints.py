"""Breakpoints in a session file: the watch conditions (definitions) and where they fired (hits).

    save_breakpoints(live, bset)      # meta "breakpoints": BreakpointSet.to_dict() as JSON
    load_breakpoints(session)         # -> BreakpointSet, or None when the file has none
    record_hit(live, hit)             # an event of kind "breakpoint" at the hit's step
    hits(session, branch=None)        # -> [Hit] on a branch's timeline, by step

The definitions belong to the file (one set for all its runs, like a debugger's breakpoint
list for a program); hits belong to the branch whose step fired them, so a rewound branch
keeps the hits before its fork and not the abandoned future. Both are plain JSON in format 1
tables (meta, events): older readers see an unknown event kind and skip it, replay ignores
it (only ``edit`` events change a trainer). Qt-free, nothing pickled.
"""

from __future__ import annotations

from typing import Any

from rnnscope.engine.breakpoints import BreakpointSet, Hit
from rnnscope.sessions.errors import SessionError

META_KEY = "breakpoints"
HIT_EVENT = "breakpoint"


def save_breakpoints(live: Any, bset: BreakpointSet) -> None:
    """Store ``bset`` (replacing the stored set) through ``live`` (a LiveSession)."""
    live.set_meta(META_KEY, bset.to_dict())


def load_breakpoints(session: Any) -> BreakpointSet | None:
    """The stored set of ``session`` (a Session), None when the file has none. A stored set
    that cannot be read is a SessionError naming the file (nothing is guessed)."""
    data = session.meta_value(META_KEY)
    if data is None:
        return None
    try:
        return BreakpointSet.from_dict(data)
    except (ValueError, TypeError, AttributeError) as exc:
        raise SessionError(session.path, f"unreadable breakpoints: {exc}") from None


def record_hit(live: Any, hit: Hit) -> int:
    """Put ``hit`` on the recorded branch's timeline at its step; returns the event id."""
    return int(live.add_event(HIT_EVENT, hit.name, hit.to_dict(), step=hit.step))


def hit_from_event(event: Any) -> Hit | None:
    """The Hit stored in a timeline event (None for other kinds or an unreadable payload)."""
    if getattr(event, "kind", None) != HIT_EVENT or not isinstance(event.new, dict):
        return None
    try:
        return Hit.from_dict(event.new)
    except (TypeError, ValueError):
        return None


def hits(session: Any, branch: int | str | None = None) -> list[Hit]:
    """Every breakpoint hit on ``branch``'s timeline (default: the current branch), by step."""
    out = []
    for ev in session.timeline(branch=branch):
        h = hit_from_event(ev)
        if h is not None:
            out.append(h)
    return out
