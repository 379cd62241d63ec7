"""rnnscope sessions: one SQLite file per debugging session (records, checkpoints, timeline).

    from sessions import Session, LiveSession
    live = LiveSession.create("run.rnnscope", trainer)   # record (writer thread, batched)
    s = Session.open("run.rnnscope")                      # replay, read-only
    s.record(k); s.branches(); s.timeline(); live.rewind(k)

Qt-free: nothing here imports Qt, pyqtgraph or gui. Nothing is ever unpickled.
"""

from sessions.errors import RecordingError, SessionError
from sessions.live import LiveSession
from sessions.schema import FORMAT
from sessions.session import RegenerationMismatch, Session
from sessions.summaries import PartSummaries, Summaries
from sessions.timeline import Branch, TimelineEvent
from sessions.writer import Recorder, RecordSettings

__all__ = [
    "FORMAT",
    "Branch",
    "LiveSession",
    "PartSummaries",
    "RecordSettings",
    "Recorder",
    "RecordingError",
    "RegenerationMismatch",
    "Session",
    "SessionError",
    "Summaries",
    "TimelineEvent",
]
