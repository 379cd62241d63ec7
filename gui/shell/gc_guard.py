"""Python's garbage collector runs on the GUI thread only, never on a worker thread.

Found as a deadlock in the tests (py-spy, native stacks): a compare loader thread allocated,
Python's automatic collection ran right there, on that thread, and destroyed Qt objects of a
closed window (pyqtgraph items live in reference cycles, so only the collector frees them).
Their QObject destructor took a Qt mutex and then waited for the GIL, while the GUI thread,
holding the GIL, deleted widgets and waited for that mutex. The same collection on a worker
thread also explains rare segfaults during garbage collection and a wrapper of the wrong type
(a pyqtgraph "QTreeWidgetItem has no attribute children").

pyqtgraph ships the remedy: ``GarbageCollector`` turns automatic collection off and collects
on a QTimer, i.e. on the GUI thread, as often as the thresholds ask.
"""

from __future__ import annotations

from pyqtgraph.util.garbage_collector import GarbageCollector

INTERVAL_S = 0.5  # how often the GUI thread looks at the collector's thresholds

_collector: GarbageCollector | None = None


def install() -> None:
    """Collect on the GUI thread from now on (idempotent; needs the QApplication)."""
    global _collector
    if _collector is None:
        _collector = GarbageCollector(interval=INTERVAL_S)


def installed() -> bool:
    return _collector is not None


def collect_if_due() -> None:
    """Collect now, on the calling (GUI) thread, the generations whose thresholds are passed:
    what the timer does, for callers that run no event loop (tests between two tests)."""
    if _collector is not None:
        _collector.check()
