"""Following a run while the main window trains it: new steps, appended, read cheaply.

A compare side whose run is the branch the main window is training grows while the
compare window is open. Each follow tick (``SourceModel.follow``, about once a second)
takes only the steps it has not seen:

- from the main window's History when that window shows the branch (it is ahead of the
  file by up to one commit of the writer, and costs no I/O): ``GrowingHistory.extend_from``;
- otherwise from the session file, with the main window's reader on its loader thread
  (``AppModel.background``), reading steps ``start..`` only (``read_new_steps``): the
  incremental read the Runs dock does (``gui.runs_model.scan``).

Steps are appended, never reloaded: History's buffers grow by doubling and the binned
heatmap columns already computed stay cached.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rnnscope.gui.model.history import Buffer, History

FOLLOW_MS = 1000  # how often a compare window looks for new steps of a run being trained


class GrowingHistory(History):
    """A History that can take the next steps of its timeline from another one."""

    def extend_from(self, other: History, first: int, events: list[Any] | None = None) -> int:
        """Append ``other``'s steps from index ``first`` on (they must continue this timeline:
        ``other.steps[first] == len(self)``); ``events`` replace the timeline's events.
        Returns how many steps were added."""
        rows = len(other) - first
        if rows <= 0:
            return 0
        start = len(self)
        self._x.extend(other.steps[first:])
        for name in self.SCALARS:
            self.scalars[name].extend(other.series(name)[first:])
        self.metric_name = other.metric_name or self.metric_name
        if not self.parts:
            self.parts = list(other.parts)
        for name in other.parts:
            theirs = other.log_h.get(name)
            if theirs is not None:
                self.log_h.setdefault(name, Buffer((1, 1), np.float32)).extend(theirs.view[first:])
        self.nonfinite.update({k: v for k, v in other.nonfinite.items() if k >= start})
        if events is not None:
            self.events = list(events)
        self.revision += 1
        return rows


def read_new_steps(reader: Any, branch: int, start: int) -> History | None:
    """Steps ``start..`` of ``branch`` as a History (with the branch's timeline events), or
    None when there are none. ``reader``: a sessions.Session; call it off the GUI thread."""
    if reader.length(branch) <= start:
        return None
    fresh = History()
    fresh.load(reader.summaries(start, branch=branch), reader.timeline(branch=branch))
    return fresh


def same_file(a: Any, b: Any) -> bool:
    """Whether two paths name one file (either may be None)."""
    if a is None or b is None:
        return False
    if str(a) == str(b):
        return True
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False
