"""RunController: the one QObject over the Qt-free application model (gui.model.app.AppModel).

It gives the model a main-thread ``post`` (gui.model.main_thread) and re-emits the model's
typed events as Qt signals, so a view's connection ends with the view (a destroyed widget is
never called). Every signal is emitted on the main thread. Everything else, the state and
the commands, is AppModel's: ``controller.files`` (runs, branches, files), ``.demos``,
``.watch`` (breakpoints), ``.timeline``, ``.busy``; the transport and edits on the model itself.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from rnnscope.gui.model.app import GUI_RECORDING, AppModel
from rnnscope.gui.model.main_thread import MainThread
from rnnscope.gui.shell import settings
from rnnscope.sessions.writer import RecordSettings


class RunController(AppModel, QObject):
    session_changed = Signal()  # mode (live/replay), file, branch or device (Timeline)
    config_changed = Signal()  # the viewed run's settings (a live edit, or one undone)
    playing_changed = Signal(bool)
    run_changed = Signal()  # another run/timeline: views rebuild for ``config``
    history_changed = Signal()  # steps or events added or removed
    record_changed = Signal(object)  # the StepRecord the views show (None: nothing yet)
    edit_refused = Signal(str, str)  # name, reason
    busy_changed = Signal(str)  # what is running in the background ("" when nothing)
    error = Signal(str)
    message = Signal(str)
    breakpoints_changed = Signal()  # the watched set changed (WatchList)
    breakpoint_hit = Signal(object)  # list[engine.breakpoints.Hit]: training paused on them
    demo_changed = Signal()  # another demo, or its runs changed (Demos)

    def __init__(self, parent: QObject | None = None, recording: RecordSettings = GUI_RECORDING) -> None:
        QObject.__init__(self, parent)
        self._main = MainThread(self)
        AppModel.__init__(self, self._main.post, settings, recording)
        tl, ev = self.timeline, self.events
        for event, signal in (
            (tl.session_changed, self.session_changed),
            (tl.config_changed, self.config_changed),
            (tl.run_changed, self.run_changed),
            (tl.history_changed, self.history_changed),
            (tl.record_changed, self.record_changed),
            (ev.playing_changed, self.playing_changed),
            (ev.edit_refused, self.edit_refused),
            (ev.error, self.error),
            (ev.message, self.message),
            (self.busy.changed, self.busy_changed),
            (self.watch.changed, self.breakpoints_changed),
            (self.watch.hit, self.breakpoint_hit),
            (self.watch.error, self.error),
            (self.demos.changed, self.demo_changed),
        ):
            event.connect(signal.emit)
