"""rnnscope sessions: one SQLite file per debugging session (records, checkpoints, timeline).

    from rnnscope.sessions import Session, LiveSession
    live = LiveSession.create("run.rnnscope", trainer)   # record (writer thread, batched)
    s = Session.open("run.rnnscope")                      # replay, read-only
    s.record(k); s.branches(); s.timeline(); live.rewind(k)

Qt-free: nothing here imports Qt, pyqtgraph or gui. Nothing is ever unpickled.
"""

from rnnscope.sessions.errors import RecordingError, SessionError
from rnnscope.sessions.live import LiveSession
from rnnscope.sessions.schema import FORMAT
from rnnscope.sessions.session import RegenerationMismatch, Session
from rnnscope.sessions.summaries import PartSummaries, Summaries
from rnnscope.sessions.timeline import Branch, TimelineEvent
from rnnscope.sessions.writer import Recorder, RecordSettings

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
