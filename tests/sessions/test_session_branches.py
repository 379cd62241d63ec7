"""Rewind, edit, branch: the old future stays, edits are on the timeline and replay with the run."""

from __future__ import annotations

from pathlib import Path

import pytest
from session_fixtures import tiny_config

from rnnscope.engine import Trainer
from rnnscope.engine.record import StepRecord
from rnnscope.sessions import LiveSession, RecordSettings, Session
from rnnscope.sessions.record_codec import diff_records

SETTINGS = RecordSettings(checkpoint_every=10, frame_every=0)


@pytest.fixture(scope="module")
def branched(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[StepRecord]]]:
    """main: 25 steps, lr edit at 12. branch-1: rewound to 8, lr edit at 8, 10 steps. branch-2: from main at 20."""
    path = tmp_path_factory.mktemp("branches") / "b.rnnscope"
    live = LiveSession.create(path, Trainer(tiny_config()), settings=SETTINGS)
    main = [live.step() for _ in range(12)]
    live.set_param("lr", 3e-3)
    main += [live.step() for _ in range(13)]
    tr = live.rewind(8)
    assert tr is live.trainer and tr.step_count == 8 and tr.config.lr == 1e-3
    live.set_param("lr", 5e-3)
    b1 = [live.step(probe=True) for _ in range(10)]
    tr = live.rewind(20, branch="main", name="again")
    assert tr.config.lr == 3e-3  # the main line's edit at 12 is part of the state at 20
    b2 = [live.step(probe=True) for _ in range(3)]
    live.close()
    return path, {"main": main, "branch-1": b1, "again": b2}


def test_branches_and_their_lengths(branched: tuple[Path, dict[str, list[StepRecord]]]) -> None:
    path, _ = branched
    with Session.open(path) as s:
        assert [(b.id, b.name, b.parent, b.fork_step) for b in s.branches()] == [
            (0, "main", None, 0),
            (1, "branch-1", 0, 8),
            (2, "again", 0, 20),
        ]
        assert s.branch.name == "again"  # the last branch used is where a reader starts
        assert [s.length(b) for b in ("main", "branch-1", "again")] == [25, 18, 23]


def test_old_future_is_kept_and_new_branch_shares_the_past(
    branched: tuple[Path, dict[str, list[StepRecord]]],
) -> None:
    path, live = branched
    with Session.open(path, branch="main") as s:
        for k in (8, 12, 15, 24):  # main's steps after the rewind point are all still there
            assert diff_records(live["main"][k], s.summary(k), frames=False) == []
        s.checkout("branch-1")
        for k in range(8):  # inherited from main
            assert diff_records(live["main"][k], s.summary(k), frames=False) == []
        for i, k in enumerate(range(8, 18)):
            assert diff_records(live["branch-1"][i], s.summary(k), frames=False) == []
            assert s.summary(k).lr == 5e-3
        assert s.summary(8).loss != live["main"][8].loss or s.summary(9).loss != live["main"][9].loss


def test_rewound_state_is_exact(branched: tuple[Path, dict[str, list[StepRecord]]]) -> None:
    """Rewinding main to 20 (no edit there) and stepping reproduces main's steps 20.. bit for bit."""
    path, live = branched
    for i in range(3):
        assert diff_records(live["main"][20 + i], live["again"][i], frames=False) == []
    with Session.open(path) as s:
        tr = s.trainer_at(12, branch="main")
        assert tr.step_count == 12 and tr.config.lr == 1e-3  # edits made at step 12 come after its state
        assert s.config_at(12, branch="main").lr == 3e-3 and s.config_at(11, branch="main").lr == 1e-3


def test_timeline_shows_edits_and_branch_points(branched: tuple[Path, dict[str, list[StepRecord]]]) -> None:
    path, _ = branched
    with Session.open(path) as s:
        main = [(e.step, e.kind, e.name, e.old, e.new) for e in s.timeline(branch="main")]
        assert main == [
            (8, "branch", "branch-1", None, 1),
            (12, "edit", "lr", 1e-3, 3e-3),
            (20, "branch", "again", None, 2),
        ]
        b1 = [(e.step, e.kind, e.name, e.old, e.new) for e in s.timeline(branch="branch-1")]
        assert b1 == [(8, "fork", "main", None, 0), (8, "edit", "lr", 1e-3, 5e-3)]
        again = [(e.step, e.kind, e.name) for e in s.timeline(branch="again")]
        assert again == [(8, "branch", "branch-1"), (12, "edit", "lr"), (20, "fork", "main")]
        assert [(e.step, e.new) for e in s.edits(branch="again")] == [(12, 3e-3)]


def test_regeneration_replays_each_branch_with_its_edits(
    branched: tuple[Path, dict[str, list[StepRecord]]],
) -> None:
    path, live = branched
    with Session.open(path) as s:
        # main: from checkpoint 10, across the lr edit at 12
        for k in (13, 15):
            rec = s.record(k, branch="main")
            assert rec.has_frame and diff_records(live["main"][k], rec, frames=False) == []
        # branch-1: from its fork checkpoint at 8 with its own edit; frames equal the live probed ones
        for i, k in enumerate(range(8, 18)):
            assert diff_records(live["branch-1"][i], s.regenerate(k, branch="branch-1")) == [], k
        for i, k in enumerate(range(20, 23)):
            assert diff_records(live["again"][i], s.regenerate(k, branch="again")) == [], k


def test_rewind_before_a_fork_and_to_the_tip(tmp_path: Path) -> None:
    path = tmp_path / "deep.rnnscope"
    with LiveSession.create(path, Trainer(tiny_config()), settings=SETTINGS) as live:
        live.run(15)
        live.rewind(10)
        live.run(5)
        assert live.rewind(15) is live.trainer  # at the tip of the current branch: nothing to do
        live.rewind(4)  # before branch-1's fork: the new branch's parent is main, which owns step 3
        assert (live.branch.parent, live.branch.fork_step) == (0, 4)
        first = live.step()
        with pytest.raises(IndexError, match="cannot rewind to step 99"):
            live.rewind(99)
        with pytest.raises(ValueError, match="exists already"):
            live.rewind(2, name="main")
    with Session.open(path) as s:
        assert [s.length(b.id) for b in s.branches()] == [15, 15, 5]
        assert diff_records(first, s.summary(4, branch="main"), frames=False) == []  # same past, same step


def test_refused_edit_records_nothing(tmp_path: Path) -> None:
    with LiveSession.create(tmp_path / "e.rnnscope", Trainer(tiny_config()), settings=SETTINGS) as live:
        live.step()
        with pytest.raises(ValueError, match="lr"):
            live.set_param("lr", -1.0)
        with pytest.raises(ValueError, match="structural"):
            live.set_param("hidden_size", 16)
        live.step()
        live.flush()
        assert live.session.timeline() == []
