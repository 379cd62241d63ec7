"""Branches and timeline events, and which branch owns which step.

A branch owns its own steps ``>= fork_step``; its earlier steps are read from its parent
(and so on up to the root branch, fork_step 0). Rewinding branch B to step k creates a
branch whose parent is the branch that owns step k-1 on B's timeline and whose
fork_step is k: nothing is deleted, the old future stays B's.

Events are points on a branch's timeline, each "at" the step from which it counts:
``edit`` (``set_param`` effective from that step), ``branch`` (a branch was forked off
here, on the parent), ``fork`` (this branch starts here, on the child). An event of
branch X at step s is part of branch N's timeline when X owns step s on N's timeline.
The state "at step k" of a timeline is the trainer after k optimizer steps with the
edits of steps < k applied: edits made at step k come after it (a rewind to k lets you
make a different choice there).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Segment = tuple[int, int, float]  # (branch id, first step, end step (exclusive; inf for the tip))


@dataclass(frozen=True)
class Branch:
    id: int
    name: str
    parent: int | None
    fork_step: int  # the first step this branch owns
    created: float  # unix time
    config: dict[str, Any] = field(default_factory=dict, compare=False)  # TrainConfig at the fork


@dataclass(frozen=True)
class TimelineEvent:
    id: int
    branch: int
    step: int  # effective from this step (edits) / where the branch point is
    kind: str  # edit | branch | fork | a note replay ignores (breakpoint)
    name: str  # parameter name (edit), the other branch's name (branch, fork)
    old: Any
    new: Any  # new value (edit); the child's id (branch); the parent's id (fork)
    time: float


def segments(branches: Mapping[int, Branch], branch: int, upto: float = math.inf) -> list[Segment]:
    """The (branch, lo, hi) ranges that make up ``branch``'s timeline on [0, upto), root first."""
    out: list[Segment] = []
    hi = upto
    cur: int | None = branch
    seen: set[int] = set()
    while cur is not None and hi > 0:
        if cur in seen or cur not in branches:
            raise ValueError(f"branch {branch} has a broken ancestry at {cur}")
        seen.add(cur)
        b = branches[cur]
        lo = min(b.fork_step, hi)
        if lo < hi:
            out.append((cur, int(lo), hi))
        hi = lo
        cur = b.parent
    out.reverse()
    return out


def owner(branches: Mapping[int, Branch], branch: int, step: int) -> int | None:
    """The branch whose row holds ``step`` on ``branch``'s timeline (None before its start)."""
    for b, lo, hi in segments(branches, branch):
        if lo <= step < hi:
            return b
    return None


def root(branches: Mapping[int, Branch], branch: int) -> int:
    """The root branch (a run: parent None) that ``branch`` descends from."""
    cur, seen = branch, set()
    while branches[cur].parent is not None:
        if cur in seen:
            raise ValueError(f"branch {branch} has a broken ancestry at {cur}")
        seen.add(cur)
        cur = branches[cur].parent  # type: ignore[assignment]
    return cur


def same_history(branches: Mapping[int, Branch], a: int, b: int, upto: int) -> bool:
    """Whether timelines ``a`` and ``b`` agree on steps [0, upto) (same owners everywhere)."""
    return segments(branches, a, upto) == segments(branches, b, upto)


def visible(branches: Mapping[int, Branch], branch: int, event: TimelineEvent) -> bool:
    """Whether ``event`` is part of ``branch``'s timeline."""
    return owner(branches, branch, event.step) == event.branch
