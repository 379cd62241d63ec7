"""Which process writes a session file: meta ``writer`` = ``{"pid", "host", "live"}``.

A recording process (``LiveSession``, and ``rnnscope.attach``'s recording) marks the file live
when it starts writing and not live when it closes. Another process reading the file can tell:

- ``writer_state(session)``: live, or ended (closed), or gone (marked live, but its process is
  not running on this machine any more: killed). A mark from another machine cannot be checked
  and counts as live only while the file says so;
- ``busy(session)``: a description when another live process on this machine writes it, so the
  window follows that run instead of training into the same file, and ``LiveSession.resume``
  refuses (two writers of one branch would fight over its steps).

Files recorded before this mark have none: their writer is unknown (``None``).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

KEY = "writer"
LEGACY_KEY = "external"  # where the first attached recordings kept the same mark


def mark(*, live: bool) -> dict[str, Any]:
    """This process's mark (meta ``writer``)."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "live": live}


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (a process of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists (another user's), or this OS cannot tell: assume alive
    return True


@dataclass(frozen=True)
class WriterState:
    live: bool  # it is recording now (as far as this machine can tell)
    gone: bool  # it said live, but its process is not running here any more (killed)
    pid: int | None
    here: bool  # it is this process


def writer_state(session: Any) -> WriterState | None:
    """The writer of ``session`` (a sessions.Session), read now; None when the file has no mark."""
    value = session.meta_value(KEY)
    if not isinstance(value, dict):
        value = session.meta_value(LEGACY_KEY)
    if not isinstance(value, dict) or "live" not in value:
        return None
    live, host = bool(value.get("live")), value.get("host")
    pid = int(value["pid"]) if isinstance(value.get("pid"), int) else None
    local = host == socket.gethostname() and pid is not None
    gone = live and local and pid is not None and not alive(pid)
    here = local and pid == os.getpid()
    return WriterState(live and not gone, gone, pid, here)


def busy(session: Any) -> str | None:
    """Why another process's recording holds ``session`` now (None when none does)."""
    state = writer_state(session)
    if state is None or not state.live or state.here:
        return None
    return f"is being recorded by another process (pid {state.pid})"
