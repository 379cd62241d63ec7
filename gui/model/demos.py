"""Demos: a teaching demo's runs in one session (Qt-free; event ``changed``).

Design for multi-run demos (vanishing: RNN vs LSTM; seq2seq: three teacher-forcing rates):
every run of the demo is a *root branch of the same session file*, named after the run's
label. Choosing a demo creates a fresh file; its first run is live in the window, the other
runs wait at step 0 (their checkpoints are stored). The user switches between them with the
branch selector or the Explanation dock's run buttons (Play trains the run shown), or lets
``train_runs(n)`` train each run in turn to step n while the window follows the run
being trained, so the class watches each one learn. Because they are branches of one file,
the compare view can put any two side by side; ``runs()`` tells it which branches
belong to the demo. The demo and its runs are stored in the file (meta ``demo``), so a
saved demo session opens as one.

Suggestions ("now change one knob"): a live field is a live edit on the run it names (after
switching to it, and after rewinding to ``rewind_to`` when given: a new branch from there);
a structural field starts a new run in the same session, after the window's confirmation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rnnscope.engine.demos import DEMOS, Demo, Suggestion
from rnnscope.gui.model.events import Event

if TYPE_CHECKING:
    from rnnscope.gui.model.app import AppModel
    from rnnscope.gui.model.worker import TrainingWorker
    from rnnscope.sessions.session import Session

META_KEY = "demo"


class Demos:
    """The demo of ``app``'s session, if it is one. Event: ``changed()`` (another demo, or
    its runs changed)."""

    def __init__(self, app: AppModel) -> None:
        self.app = app
        self.changed: Event[[]] = Event()
        self.demo: Demo | None = None
        self.branches: dict[str, int] = {}  # run label -> branch id
        self._queue: list[int] = []
        self._target: tuple[int, int] | None = None  # (branch id, steps) being trained to

    # ------------------------------------------------------------ starting
    def start(self, demo: Demo) -> None:
        """A fresh session with every run of ``demo`` (the first one live) and its breakpoints."""
        first, *rest = list(demo.runs)
        self.app.watch.set(demo.breakpoint_set())

        def started(runs: dict[str, int]) -> None:
            self.demo = demo
            self.branches = {label: runs[label] for label in demo.runs if label in runs}
            self._save()
            self.changed.emit()
            self.app.events.message.emit(f"demo: {demo.title}")

        self.app.files.new_run(
            demo.runs[first], name=first, others={r: demo.runs[r] for r in rest}, on_started=started
        )

    def runs(self) -> dict[str, int]:
        """For the compare view: run label -> branch id (in this session file) of the current
        demo's runs, in the demo's order, plus the runs its suggestions started; {} when the
        session is not a demo. Each is a root branch: ``Session.record(k, branch=id)`` and
        ``Session.summaries(branch=id)`` read it; ``files.view_branch(id)`` shows it in the window."""
        return dict(self.branches)

    def run_of(self, branch_id: int) -> str | None:
        """The demo run label of ``branch_id`` (None when it is not one of the demo's runs)."""
        return next((label for label, b in self.branches.items() if b == branch_id), None)

    @property
    def training(self) -> bool:
        """``train_runs`` is training a run to its target."""
        return self._target is not None

    def forget(self) -> None:
        """The session is no demo (any more)."""
        self._set(None)

    def _set(self, demo: Demo | None, runs: dict[str, int] | None = None) -> None:
        changed = demo is not self.demo or (runs or {}) != self.branches
        self.demo, self.branches = demo, dict(runs or {})
        self._queue, self._target = [], None
        if changed:
            self.changed.emit()

    def _save(self) -> None:
        if self.demo is None:
            return
        value = {"name": self.demo.name, "runs": dict(self.branches)}

        def cmd(w: TrainingWorker) -> None:
            if w.live is not None:
                w.live.set_meta(META_KEY, value)

        self.app.command(cmd)

    def adopt(self, reader: Session) -> None:
        """An opened file: the demo it was made from (if it names one this version knows)."""
        try:
            value = reader.meta_value(META_KEY)
        except Exception:
            value = None
        demo, runs = None, {}
        if isinstance(value, dict) and value.get("name") in DEMOS and isinstance(value.get("runs"), dict):
            ids = {b.id for b in reader.branches()}
            runs = {str(k): int(v) for k, v in value["runs"].items() if isinstance(v, int) and v in ids}
            demo = DEMOS[value["name"]]
        self._set(demo, runs)

    # ------------------------------------------------------------ the runs
    def show_run(self, label: str, then: Callable[[], None] | None = None) -> None:
        """Show the demo run ``label`` (Play trains it)."""
        bid = self.branches.get(label)
        if bid is None:
            return
        if bid == self.app.timeline.branch_id:
            if then is not None:
                then()
            return
        self.app.files.view_branch(bid, then)

    def train_runs(self, steps: int) -> None:
        """Train every demo run, one after the other, to ``steps`` steps, the window following
        the run being trained; stops when the user pauses or a breakpoint hits."""
        reader = self.app.reader
        if reader is None or not self.branches:
            return
        shown = self.app.timeline.branch_id
        order = sorted(self.branches.values(), key=lambda b: b != shown)
        self._queue = [b for b in order if reader.length(b) < steps]
        self._next(steps)

    def _next(self, steps: int) -> None:
        self._target = None
        if not self._queue:
            self.app.events.message.emit(f"every demo run has {steps} steps")
            return
        bid = self._queue.pop(0)

        def arm() -> None:
            self._target = (bid, steps)
            self.app.worker.run_until(steps)

        def go() -> None:
            self.app.ensure_live(arm)

        if bid == self.app.timeline.branch_id:
            go()
        else:
            self.app.files.view_branch(bid, go)

    def play_stopped(self) -> None:
        """The worker stopped playing: go on with the next demo run, or give up when the
        user paused or a breakpoint hit before the target."""
        target, app = self._target, self.app
        if target is None or app.worker.playing or app.timeline.live_branch_id != target[0]:
            return
        app.poll()
        if app.timeline.steps >= target[1]:
            self._next(target[1])
        else:
            self._queue, self._target = [], None

    # ------------------------------------------------------------ suggestions
    def apply_suggestion(self, s: Suggestion, confirm: Callable[[str], bool]) -> str | None:
        """Do what suggestion ``s`` says. Returns why not (refused value, cancelled), else None."""
        if s.live:
            return self._apply_live(s)
        tl = self.app.timeline
        base = self.demo.runs[s.run] if (self.demo is not None and s.run) else tl.config
        if base is None:
            return "no run"
        try:
            cfg = base.with_changes(**{s.field: s.value})
        except (ValueError, TypeError) as exc:
            return str(exc)
        label = f"{s.run or tl.branch_name}, {s.field} {s.value}"
        if not confirm(
            f"Start a new run (step 0, fresh weights) “{label}”: {s.field} "
            f"{getattr(base, s.field)!r} → {s.value!r}?\nThe current runs stay in the session."
        ):
            return "cancelled"

        def started(runs: dict[str, int]) -> None:
            if self.demo is not None:
                self.branches.update(runs)
                self._save()
                self.changed.emit()

        self.app.files.new_run(cfg, in_session=True, name=label, on_started=started)
        return None

    def _apply_live(self, s: Suggestion) -> str | None:
        app = self.app
        if app.timeline.config is None:
            return "no run"
        reason = app.validate(s.field, s.value)
        if reason is not None:
            return reason

        def edit() -> None:
            why = app.edit(s.field, s.value)
            if why is not None:
                app.events.edit_refused.emit(s.field, why)

        def at_run() -> None:
            if s.rewind_to is not None and app.timeline.steps > s.rewind_to:
                app.files.continue_from(s.rewind_to - 1, then=edit)
            else:
                edit()

        target = self.branches.get(s.run) if s.run else None
        if target is not None and target != app.timeline.branch_id:
            app.files.view_branch(target, at_run)
        else:
            at_run()
        return None
