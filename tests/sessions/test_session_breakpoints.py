"""Breakpoints in the session file: definitions in meta, hits as timeline events; new runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from session_fixtures import tiny_config

from rnnscope.engine import Trainer
from rnnscope.engine.breakpoints import Breakpoint, BreakpointSet, default_breakpoints
from rnnscope.sessions import LiveSession, RecordSettings, Session, SessionError
from rnnscope.sessions.breakpoints import hits, load_breakpoints, record_hit, save_breakpoints
from rnnscope.sessions.record_codec import diff_records

SETTINGS = RecordSettings(checkpoint_every=5, frame_every=0)


def test_definitions_and_hits_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "bp.rnnscope"
    bset = default_breakpoints()
    bset.add(Breakpoint("loss_above", threshold=1e-9, id="tiny-loss"))
    bset.add(Breakpoint("expression", expression="grad_norm > 0 and step >= 2", enabled=False, id="x"))
    with LiveSession.create(path, Trainer(tiny_config()), settings=SETTINGS) as live:
        save_breakpoints(live, bset)
        found = []
        for _ in range(4):
            rec = live.step()
            for h in bset.check(rec):
                record_hit(live, h)
                found.append(h)
    assert [h.step for h in found] == [0, 1, 2, 3] and {h.breakpoint_id for h in found} == {"tiny-loss"}
    with Session.open(path) as s:
        stored = load_breakpoints(s)
        assert stored is not None
        assert [b.to_dict() for b in stored] == [b.to_dict() for b in bset]
        assert stored.get("x").expression == "grad_norm > 0 and step >= 2" and not stored.get("x").enabled
        assert hits(s) == found
        assert "loss" in hits(s)[0].message and hits(s)[0].value == pytest.approx(found[0].value)


def test_hits_do_not_change_replay_and_stay_on_their_branch(tmp_path: Path) -> None:
    path = tmp_path / "bp.rnnscope"
    bp = Breakpoint("loss_above", threshold=1e-9)
    with LiveSession.create(path, Trainer(tiny_config()), settings=SETTINGS) as live:
        recs = []
        for _ in range(8):
            rec = live.step()
            recs.append(rec)
            h = bp.hit(rec)
            assert h is not None
            record_hit(live, h)
        live.rewind(3, name="again")
        live.step()
    with Session.open(path, branch="main") as s:
        assert [h.step for h in hits(s)] == list(range(8))
        assert [h.step for h in hits(s, branch="again")] == [0, 1, 2]  # its own step 3 fired nothing
        assert not diff_records(s.regenerate(6), recs[6], frames=False)  # hit events replay as nothing
        assert load_breakpoints(s) is None  # none stored: the caller uses its defaults


def test_unreadable_stored_breakpoints_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bp.rnnscope"
    with LiveSession.create(path, Trainer(tiny_config()), settings=SETTINGS) as live:
        live.set_meta(
            "breakpoints",
            {"format": 1, "breakpoints": [{"kind": "expression", "expression": "__import__('os')"}]},
        )
    with Session.open(path) as s, pytest.raises(SessionError, match="unreadable breakpoints"):
        load_breakpoints(s)


def test_reserved_event_kinds_and_meta_keys_are_refused(tmp_path: Path) -> None:
    with LiveSession.create(tmp_path / "r.rnnscope", Trainer(tiny_config()), settings=SETTINGS) as live:
        for kind in ("edit", "branch", "fork", ""):
            with pytest.raises(ValueError, match="reserved"):
                live.add_event(kind, "x", 1)
        with pytest.raises(ValueError, match="reserved"):
            live.set_meta("head", 3)


def test_new_run_adds_a_root_branch(tmp_path: Path) -> None:
    path = tmp_path / "runs.rnnscope"
    with LiveSession.create(path, Trainer(tiny_config()), settings=SETTINGS, branch_name="LSTM") as live:
        live.run(3)
        other = live.new_run(tiny_config(cell="rnn"), "RNN", switch=False)
        assert other.parent is None and other.fork_step == 0 and live.branch.name == "LSTM"
        live.run(2)  # still recording the first run
        with pytest.raises(ValueError, match="exists already"):
            live.new_run(tiny_config(), "RNN")
        third = live.new_run(Trainer(tiny_config(cell="gru")))
        assert live.branch.id == third.id and live.trainer.config.cell == "gru"
        live.run(2)
    with Session.open(path) as s:
        assert [(b.name, b.parent) for b in s.branches()] == [
            ("LSTM", None),
            ("RNN", None),
            (third.name, None),
        ]
        assert s.length("LSTM") == 5 and s.length("RNN") == 0 and s.length(third.id) == 2
        assert s.branch.id == third.id  # the head follows the switched run
        assert s.trainer_at(0, branch="RNN").config.cell == "rnn"
    with LiveSession.resume(path, branch="RNN") as live:  # the waiting run trains when resumed
        live.run(2)
    with Session.open(path) as s:
        assert s.length("RNN") == 2 and s.summary(1, branch="RNN").loss > 0


def test_breakpoint_set_round_trips_through_json_meta(tmp_path: Path) -> None:
    path = tmp_path / "m.rnnscope"
    bset = BreakpointSet([Breakpoint("grad_norm_above", threshold=float("inf"), id="inf")])
    with LiveSession.create(path, Trainer(tiny_config()), settings=SETTINGS) as live:
        save_breakpoints(live, bset)
        save_breakpoints(live, BreakpointSet([*bset, Breakpoint("nonfinite", id="nf")]))  # replaces
    with Session.open(path) as s:
        stored = load_breakpoints(s)
        assert stored is not None and [b.id for b in stored] == ["inf", "nf"]
        assert stored.get("inf").threshold == float("inf")
