"""gui.validation (Qt-free): when the live run is evaluated, what is stored, and that
evaluating between steps changes nothing in training."""

from __future__ import annotations

import math
from types import SimpleNamespace

from rnnscope.engine import Trainer
from rnnscope.gui.model.runs import median_step_ms, run_row
from rnnscope.gui.model.validation import META_KEY, Point, ValidationSchedule, read_points, timeline_points
from rnnscope.sessions import LiveSession, Session


def test_evaluating_between_steps_changes_nothing_and_is_stored(tmp_path, tiny_config):
    cfg = tiny_config.with_changes(dropout=0.3)  # evaluation must not draw from the dropout generator
    plain = Trainer(cfg)
    live = LiveSession.create(tmp_path / "run.rnnscope", Trainer(cfg))
    sched = ValidationSchedule()
    assert not sched.due(live.trainer)  # off until enabled
    sched.enabled = True
    try:
        for _ in range(5):
            assert sched.due(live.trainer)
            point = sched.run(live)
            assert point == Point(live.trainer.step_count, *plain.evaluate())
            assert not sched.due(live.trainer)  # once per step
            a, b = plain.step(), live.step()
            assert (a.loss, a.metric, a.grad_norm) == (b.loss, b.metric, b.grad_norm)
        live.flush()
        stored = read_points(live.session.meta_value(META_KEY))
        assert [p.step for p in stored[live.branch.id]] == [0, 1, 2, 3, 4]
    finally:
        live.close()
    with Session.open(tmp_path / "run.rnnscope") as s:  # kept in the file
        assert read_points(s.meta_value(META_KEY)) == stored


def test_the_budget_spaces_evaluations_out():
    tr = SimpleNamespace(step_count=1)
    sched = ValidationSchedule(budget=0.1)
    sched.enabled = True
    sched._cost = 0.5  # the last evaluation took 0.5 s: the next after 5 s of training
    assert sched.due(tr) and not sched.periodic_due(tr)
    sched.note_step(4.0)
    assert not sched.periodic_due(tr)
    sched.note_step(1.0)
    assert sched.periodic_due(tr)


def test_a_fork_sees_its_ancestors_points_up_to_its_fork_step():
    branches = {
        0: SimpleNamespace(id=0, parent=None, fork_step=0),
        1: SimpleNamespace(id=1, parent=0, fork_step=4),
    }
    points = {
        0: [Point(s, 1.0, float(s)) for s in (0, 2, 4, 6)],
        1: [Point(4, 2.0, 40.0), Point(8, 2.0, 80.0)],
    }
    assert [(p.step, p.metric) for p in timeline_points(points, branches, 1)] == [
        (0, 0.0),
        (2, 2.0),
        (4, 40.0),  # its own evaluation of the step it starts at comes first
        (8, 80.0),
    ]
    assert [p.step for p in timeline_points(points, branches, 0)] == [0, 2, 4, 6]
    assert read_points({"format": 99}) == {} and read_points(None) == {}


def test_a_row_takes_the_newest_point_at_or_before_its_step():
    import numpy as np

    loss = np.array([3.0, 2.0, 1.5])
    metric = np.array([0.1, 0.2, 0.4])
    times = np.array([0.5, 0.01, 0.03])
    pts = [Point(0, 4.0, 0.0), Point(3, 1.0, 0.5), Point(5, 0.5, 0.9)]
    row = run_row(7, "x", None, loss, metric, times, "accuracy", pts)
    assert (row.steps, row.loss, row.metric, row.val_step, row.val_metric) == (3, 1.5, 0.4, 3, 0.5)
    assert row.ms_per_step == 30.0 == median_step_ms(times)
    assert median_step_ms(times, recent=2) == 20.0
    empty = run_row(7, "x", None, loss[:0], metric[:0], times[:0], "", [])
    assert empty.steps == 0 and math.isnan(empty.loss) and empty.val_step is None
