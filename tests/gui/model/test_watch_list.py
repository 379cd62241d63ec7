"""The watch list is a Qt-free model object: built, edited and listened to without Qt."""

from __future__ import annotations

from rnnscope.engine.breakpoints import BreakpointSet, Hit
from rnnscope.gui.model.breakpoints import WatchList
from rnnscope.gui.model.history import Event as TimelineEvent
from rnnscope.gui.model.history import History
from rnnscope.sessions.breakpoints import HIT_EVENT


def test_edits_reach_the_worker_and_emit_changed_and_refusals_change_nothing() -> None:
    sent: list[BreakpointSet] = []
    changes: list[int] = []
    watch = WatchList(apply=sent.append)
    watch.changed.connect(lambda: changes.append(len(watch.breakpoints)))
    assert [b.kind for b in sent[-1]] == ["nonfinite"]  # the defaults are watched from the start
    assert watch.add("loss_above", threshold=3.0) is None
    assert [b.kind for b in sent[-1]] == ["nonfinite", "loss_above"] and changes == [2]
    assert sent[-1] is not watch.breakpoints  # the worker gets a copy
    bp_id = watch.breakpoints.get(next(b.id for b in watch.breakpoints if b.kind == "loss_above")).id
    assert "needs a numeric threshold" in (watch.add("loss_above") or "")
    assert "threshold must be a number, not NaN" in (watch.change(bp_id, threshold=float("nan")) or "")
    assert watch.breakpoints.get(bp_id).threshold == 3.0 and changes == [2]
    assert watch.remove("nonfinite") == "the non-finite breakpoint stays: switch it off instead"
    assert watch.change("nonfinite", enabled=False) is None and not watch.breakpoints.get("nonfinite").enabled
    assert watch.remove(bp_id) is None and changes == [2, 2, 1]
    watch.set(BreakpointSet())  # the non-finite one is always there
    assert [b.kind for b in watch.breakpoints] == ["nonfinite"]


def test_hits_are_emitted_and_read_back_from_the_timeline() -> None:
    watch = WatchList(apply=lambda _b: None)
    heard: list[list[Hit]] = []
    watch.hit.connect(heard.append)
    hit = Hit("nonfinite", "non-finite", "nonfinite", 7, float("inf"), None, "step 7: loss is inf")
    watch.note_hits([hit])
    assert heard == [[hit]] and watch.last_hits == [hit]
    history = History()
    history.add_event(TimelineEvent(9, HIT_EVENT, "later", None, {**hit.to_dict(), "step": 9}))
    history.add_event(TimelineEvent(7, HIT_EVENT, hit.name, None, hit.to_dict()))
    assert [h.step for h in WatchList.hits_in(history)] == [7, 9]
