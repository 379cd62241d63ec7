"""DemoControl: a teaching demo's runs in one session (a RunController mixin).

Design for multi-run demos (vanishing: RNN vs LSTM; seq2seq: three teacher-forcing rates):
every run of the demo is a *root branch of the same session file*, named after the run's
label. Choosing a demo creates a fresh file; its first run is live in the window, the other
runs wait at step 0 (their checkpoints are stored). The user switches between them with the
branch selector or the Explanation dock's run buttons (Play trains the run shown), or lets
``train_demo_runs(n)`` train each run in turn to step n while the window follows the run
being trained, so the class watches each one learn. Because they are branches of one file,
the compare view can put any two side by side; ``demo_runs()`` tells it which branches
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

if TYPE_CHECKING:
    from rnnscope.gui.model.worker import TrainingWorker
    from rnnscope.sessions.session import Session

META_KEY = "demo"


class DemoControl:
    """Mixed into RunController (signal ``demo_changed``)."""

    demo: Demo | None
    demo_branches: dict[str, int]

    def _init_demo(self) -> None:
        self.demo = None
        self.demo_branches = {}
        self._demo_queue: list[int] = []
        self._demo_target: tuple[int, int] | None = None  # (branch id, steps) being trained to

    # ------------------------------------------------------------ starting
    def start_demo(self, demo: Demo) -> None:
        """A fresh session with every run of ``demo`` (the first one live) and its breakpoints."""
        first, *rest = list(demo.runs)
        self.set_breakpoints(demo.breakpoint_set())

        def started(runs: dict[str, int]) -> None:
            self.demo = demo
            self.demo_branches = {label: runs[label] for label in demo.runs if label in runs}
            self._save_demo()
            self.demo_changed.emit()
            self.message.emit(f"demo: {demo.title}")

        self.new_run(demo.runs[first], name=first, others={r: demo.runs[r] for r in rest}, on_started=started)

    def demo_runs(self) -> dict[str, int]:
        """For the compare view: run label -> branch id (in this session file) of the current
        demo's runs, in the demo's order, plus the runs its suggestions started; {} when the
        session is not a demo. Each is a root branch: ``Session.record(k, branch=id)`` and
        ``Session.summaries(branch=id)`` read it; ``view_branch(id)`` shows it in the window."""
        return dict(self.demo_branches)

    def demo_run_of(self, branch_id: int) -> str | None:
        """The demo run label of ``branch_id`` (None when it is not one of the demo's runs)."""
        return next((label for label, b in self.demo_branches.items() if b == branch_id), None)

    def _set_demo(self, demo: Demo | None, runs: dict[str, int] | None = None) -> None:
        changed = demo is not self.demo or (runs or {}) != self.demo_branches
        self.demo, self.demo_branches = demo, dict(runs or {})
        self._demo_queue, self._demo_target = [], None
        if changed:
            self.demo_changed.emit()

    def _save_demo(self) -> None:
        if self.demo is None:
            return
        value = {"name": self.demo.name, "runs": dict(self.demo_branches)}

        def cmd(w: TrainingWorker) -> None:
            if w.live is not None:
                w.live.set_meta(META_KEY, value)

        self.command(cmd)

    def _adopt_demo(self, reader: Session) -> None:
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
        self._set_demo(demo, runs)

    # ------------------------------------------------------------ the runs
    def show_demo_run(self, label: str, then: Callable[[], None] | None = None) -> None:
        """Show the demo run ``label`` (Play trains it)."""
        bid = self.demo_branches.get(label)
        if bid is None:
            return
        if bid == self.branch_id:
            if then is not None:
                then()
            return
        self.view_branch(bid, then)

    def train_demo_runs(self, steps: int) -> None:
        """Train every demo run, one after the other, to ``steps`` steps, the window following
        the run being trained; stops when the user pauses or a breakpoint hits."""
        reader = self._reader
        if reader is None or not self.demo_branches:
            return
        order = sorted(self.demo_branches.values(), key=lambda b: b != self.branch_id)
        self._demo_queue = [b for b in order if reader.length(b) < steps]
        self._next_demo_run(steps)

    def _next_demo_run(self, steps: int) -> None:
        self._demo_target = None
        if not self._demo_queue:
            self.message.emit(f"every demo run has {steps} steps")
            return
        bid = self._demo_queue.pop(0)

        def arm() -> None:
            self._demo_target = (bid, steps)
            self.worker.run_until(steps)

        def go() -> None:
            self._ensure_live(arm)

        if bid == self.branch_id:
            go()
        else:
            self.view_branch(bid, go)

    def _on_play_stopped(self) -> None:
        """The worker stopped playing: go on with the next demo run, or give up when the
        user paused or a breakpoint hit before the target."""
        target = self._demo_target
        if target is None or self.worker.playing or self.live_branch_id != target[0]:
            return
        self.poll()
        if len(self.history) >= target[1]:
            self._next_demo_run(target[1])
        else:
            self._demo_queue, self._demo_target = [], None

    # ------------------------------------------------------------ suggestions
    def apply_suggestion(self, s: Suggestion, confirm: Callable[[str], bool]) -> str | None:
        """Do what suggestion ``s`` says. Returns why not (refused value, cancelled), else None."""
        if s.live:
            return self._apply_live(s)
        base = self.demo.runs[s.run] if (self.demo is not None and s.run) else self.config
        if base is None:
            return "no run"
        try:
            cfg = base.with_changes(**{s.field: s.value})
        except (ValueError, TypeError) as exc:
            return str(exc)
        label = f"{s.run or self.branch_name}, {s.field} {s.value}"
        if not confirm(
            f"Start a new run (step 0, fresh weights) “{label}”: {s.field} "
            f"{getattr(base, s.field)!r} → {s.value!r}?\nThe current runs stay in the session."
        ):
            return "cancelled"

        def started(runs: dict[str, int]) -> None:
            if self.demo is not None:
                self.demo_branches.update(runs)
                self._save_demo()
                self.demo_changed.emit()

        self.new_run(cfg, in_session=True, name=label, on_started=started)
        return None

    def _apply_live(self, s: Suggestion) -> str | None:
        if self.config is None:
            return "no run"
        reason = self.validate(s.field, s.value)
        if reason is not None:
            return reason

        def edit() -> None:
            why = self.edit(s.field, s.value)
            if why is not None:
                self.edit_refused.emit(s.field, why)

        def at_run() -> None:
            if s.rewind_to is not None and self.steps > s.rewind_to:
                self.continue_from(s.rewind_to - 1, then=edit)
            else:
                edit()

        target = self.demo_branches.get(s.run) if s.run else None
        if target is not None and target != self.branch_id:
            self.view_branch(target, at_run)
        else:
            at_run()
        return None
