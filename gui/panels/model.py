"""What a step view needs of its model, and no more: the Protocol panels are built on.

The main window gives them its RunController, the compare window one side's SourceModel, a
test a small fake (tests/gui/panels/fake_model.py): a panel can be built and drawn alone,
without a window or a training thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance

    from rnnscope.engine import StepRecord, TrainConfig
    from rnnscope.engine.tasks import Task
    from rnnscope.gui.model.history import History
    from rnnscope.gui.model.shape import RunShape


class PanelModel(Protocol):
    """Signals: ``run_changed`` (another run or branch: rebuild), ``history_changed`` (steps
    were added or removed: redraw the over-steps plots), ``record_changed(record)`` (the shown
    step changed). Attributes are read when a signal says so."""

    run_changed: SignalInstance
    history_changed: SignalInstance
    record_changed: SignalInstance

    @property
    def record(self) -> StepRecord | None: ...  # the shown step

    @property
    def config(self) -> TrainConfig | None: ...  # the shown run's (None: a run of the user's own loop)

    @property
    def shape(self) -> RunShape | None: ...  # the parts shown, their cells and layers

    @property
    def history(self) -> History: ...  # every step's summary of the shown branch

    @property
    def task(self) -> Task | None: ...  # to name tokens (Sample panel)

    @property
    def branch_id(self) -> int | None: ...

    @property
    def follow_live(self) -> bool: ...  # the views follow the newest step

    def seek(self, step: int) -> Any: ...  # show another step (a click on an over-steps plot)


def own_loop(model: PanelModel) -> bool:
    """The shown run is one of the user's own training loop (rnnscope.attach): its parts are
    known but it has no rnnscope config, task or inputs."""
    return model.config is None and model.shape is not None
