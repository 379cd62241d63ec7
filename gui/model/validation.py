"""Validation of the live run: its held-out loss and metric, measured on the training thread.

The measurement is the trainer's own ``Trainer.evaluate()`` (the task's fixed validation
batches, no dropout: the same call ``engine.demos.checks.check_language_model`` makes). For
the language-model demo it is what the lesson is about (validation perplexity turns back
up when the model overfits), but it costs a forward pass over several batches (~0.1-0.3
of a training step), so it never runs on the GUI thread and only now and then:

- while training, when the training time since the last evaluation is at least
  ``1 / BUDGET`` times what that evaluation cost (evaluations take <= ~2 % of the time);
- at rest: once the worker has been idle ``QUIET_S`` with an unevaluated step;
- before a command (a run switch, a rewind ...), so that the step a run stopped at is
  evaluated before another run takes the training thread.

Nothing happens while ``enabled`` is off (the Runs panel turns it on while it is shown).

Each result is kept in the session file (meta ``validation``), so a saved session shows it
again; ``read_points`` turns that value back into per-branch points. Qt-free.
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

META_KEY = "validation"
FORMAT = 1
BUDGET = 0.02  # evaluations take at most this fraction of the training time
QUIET_S = 0.3  # idle this long before an evaluation at rest


@dataclass(frozen=True)
class Point:
    """One evaluation: after ``step`` optimizer steps of a branch's timeline."""

    step: int
    loss: float
    metric: float


class ValidationSchedule:
    """Decides when the live trainer is evaluated; used by the training thread only
    (``enabled`` may be set from any thread)."""

    def __init__(self, budget: float = BUDGET) -> None:
        self.enabled = False
        self.budget = budget
        self.count = 0  # evaluations done (tests, benchmarks)
        self.last_error = ""
        self._trainer: weakref.ref[Any] | None = None  # the trainer last evaluated ...
        self._step = -1  # ... and at which step
        self._train_s = 0.0  # training time since the last evaluation
        self._cost = 0.0  # seconds the last evaluation took
        self._live: weakref.ref[Any] | None = None  # the LiveSession whose meta ``_value`` mirrors
        self._value: dict[str, Any] = {}

    def due(self, trainer: Any) -> bool:
        """On, and ``trainer`` has not been evaluated at its current step."""
        if not self.enabled or trainer is None:
            return False
        step = int(trainer.step_count)
        last = self._trainer() if self._trainer is not None else None
        return not (last is trainer and self._step == step)

    def note_step(self, seconds: float) -> None:
        self._train_s += max(0.0, seconds)

    def periodic_due(self, trainer: Any) -> bool:
        """Due, and enough training time went by since the last evaluation (see BUDGET)."""
        return self.due(trainer) and self._train_s * self.budget >= self._cost

    def run(self, live: Any) -> Point | None:
        """Evaluate ``live.trainer`` now and store the point in ``live``'s session file (None:
        the file has this step's point already, e.g. a run switched back to)."""
        trainer = live.trainer
        step = int(trainer.step_count)
        entry = self._entry(live, trainer.task.metric_name)
        if any(p[0] == step for p in entry["points"]):
            self._trainer, self._step = weakref.ref(trainer), step
            return None
        t0 = time.perf_counter()
        try:
            loss, metric = trainer.evaluate()
            self.last_error = ""
        except Exception as exc:  # shown by the Runs panel; not retried at this step
            self.last_error = f"{type(exc).__name__}: {exc}"
            loss = metric = math.nan
        self._cost = time.perf_counter() - t0
        self._train_s = 0.0
        self._trainer, self._step = weakref.ref(trainer), step
        self.count += 1
        point = Point(step, float(loss), float(metric))
        entry["points"] = sorted(
            [*entry["points"], [point.step, point.loss, point.metric]], key=lambda p: p[0]
        )
        live.set_meta(META_KEY, self._value)
        return point

    def _entry(self, live: Any, metric_name: str) -> dict[str, Any]:
        """The stored points of ``live``'s branch (read from its file once per LiveSession)."""
        if self._live is None or self._live() is not live:  # another file, or the same file reopened
            try:
                stored = live.session.meta_value(META_KEY)
            except Exception:
                stored = None
            self._value = stored if isinstance(stored, dict) and stored.get("format") == FORMAT else {}
            self._value.setdefault("format", FORMAT)
            self._live = weakref.ref(live)
        branches = self._value.setdefault("branches", {})
        entry: dict[str, Any] = branches.setdefault(
            str(live.branch.id), {"metric_name": metric_name, "points": []}
        )
        entry["metric_name"] = metric_name
        return entry


def read_points(value: Any) -> dict[int, list[Point]]:
    """The meta ``validation`` value of a session file -> branch id -> points in step order
    ({} when absent or not understood)."""
    if not isinstance(value, Mapping) or value.get("format") != FORMAT:
        return {}
    out: dict[int, list[Point]] = {}
    for key, entry in (value.get("branches") or {}).items():
        try:
            pts = [Point(int(p[0]), float(p[1]), float(p[2])) for p in entry["points"]]
            out[int(key)] = sorted(pts, key=lambda p: p.step)
        except (KeyError, TypeError, ValueError, IndexError):
            continue
    return out


def timeline_points(points: Mapping[int, list[Point]], branches: Mapping[int, Any], bid: int) -> list[Point]:
    """The points on branch ``bid``'s timeline: its own, and its ancestors' up to the step
    it forked at (``branches``: id -> sessions Branch, with ``parent`` and ``fork_step``)."""
    seen: dict[int, Point] = {}
    limit = math.inf
    b = branches.get(bid)
    while b is not None:
        for p in points.get(b.id, []):
            if p.step <= limit and p.step not in seen:
                seen[p.step] = p
        limit = b.fork_step
        b = branches.get(b.parent) if b.parent is not None else None
    return [seen[s] for s in sorted(seen)]
