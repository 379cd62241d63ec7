"""The one exception type of the sessions package: a problem with a session file.

Every message names the file and says what is wrong with it, in words a user can act on
(``run.rnnscope: not an rnnscope session (it is a PNG image)``). The CLI prints the
message and exits with status 2; the GUI shows it in a dialog. No traceback is needed
to understand one.
"""

from __future__ import annotations

import os


class SessionError(Exception):
    """A session file cannot be opened, read or written. ``str(err)`` names file and problem."""

    def __init__(self, path: str | os.PathLike[str] | None, problem: str) -> None:
        self.path = None if path is None else os.fspath(path)
        self.problem = problem
        super().__init__(problem if self.path is None else f"{self.path}: {problem}")


class RecordingError(SessionError):
    """Recording stopped (disk full, read-only file ...). What was committed before is kept."""


class BlobError(ValueError):
    """A stored array or tree is malformed. Callers wrap it into a SessionError with the path."""
