"""Deterministic replay: rebuild the trainer at any step of any branch, regenerate any record.

The state at step k of branch N is reached from the best *start*: a stored checkpoint or
a trainer this replayer left positioned earlier (bounded LRU), that lies on N's history
at or before k. From there it re-runs the optimizer steps, re-applying N's edits at the
steps where they were made, and, to regenerate record k, runs step k with a forced
probe frame. On the CPU this reproduces the recorded run bit for bit (forcing a probe
does not change training).

A start at step c is usable for branch N when the steps [0, c) of its own branch and
of N have the same owners (``timeline.same_history``) and the edits already applied at
step c (``after_event`` of a checkpoint) are N's edits at c (or there are none).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnscope.engine.record import StepRecord
from rnnscope.sessions import checksum, tree
from rnnscope.sessions.errors import BlobError, SessionError
from rnnscope.sessions.timeline import Branch, TimelineEvent, owner, root, same_history

TrainerFactory = Callable[[Any], Any]  # state_dict -> a Trainer


def default_factory(state: Any) -> Any:
    from rnnscope.engine.trainer import Trainer

    return Trainer.from_state_dict(state)


def replay_kernels(recorded: str) -> str | None:
    """The ``Trainer.kernels`` pin that replays steps recorded on loops ``recorded`` (a value of
    ``engine.native.variant()``): the torch loops for "torch"; for the C++ kernels, no pin, so
    they run wherever this process would run them (they build here and RNNSCOPE_KERNELS does
    not say "torch"). The two round differently in the last bit, so replaying on the other
    ones does not reproduce the recorded numbers (Session warns)."""
    return "torch" if recorded == "torch" else None


def recorded_kernels(meta: Mapping[str, str]) -> str:
    """The loops a file's meta ``kernels`` (JSON, written when recording starts) names. Files
    without it were recorded before rnnscope had C++ kernels, on the torch loops."""
    text = meta.get("kernels")
    if text is None:
        return "torch"
    try:
        value = json.loads(text)
    except ValueError:
        return "unknown"
    return value if isinstance(value, str) else "unknown"


def pin_numerics(trainer: Any, recorded: str, revision: int) -> Any:
    """``trainer`` set to run on the loops ``recorded`` names and with numerics revision
    ``revision`` (``engine.numerics``), as the file was recorded (no-op for trainers without pins)."""
    if hasattr(trainer, "kernels"):
        trainer.kernels = replay_kernels(recorded)
    if hasattr(trainer, "numerics"):
        trainer.numerics = revision
    return trainer


StepCheck = Callable[[int, StepRecord], float]  # (owner branch of the step, replayed record) -> deviation


@dataclass
class Position:
    """A trainer at the start of ``step`` of ``branch``'s timeline, with edit ids ``applied`` at that step."""

    trainer: Any
    branch: int
    step: int
    applied: tuple[int, ...] = ()
    replayed: int = 0  # steps this trainer re-ran since it was restored from a checkpoint
    checked: int = 0  # of those, how many were compared with a stored summary
    deviation: float = 0.0  # the largest relative deviation from the stored summaries so far


class Replayer:
    """Finds starts, replays, and keeps the ``cache_size`` most recently used trainers."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        lock: threading.RLock,
        factory: TrainerFactory = default_factory,
        cache_size: int = 3,
        check: StepCheck | None = None,
        checked: bool = True,
    ) -> None:
        self._conn = conn
        self._check = check  # compares each replayed step with the stored one (Session.provenance)
        self._checked = checked  # the file's rows carry a crc (sessions.checksum)
        self.last: Position | None = None  # where the latest regenerate() left its trainer
        self._path = path
        self._lock = lock
        self._factory = factory
        self._cache_size = cache_size
        self._cache: OrderedDict[int, Position] = OrderedDict()
        self._next_key = 0
        self.replayed_steps = 0  # optimizer steps re-run so far (for tests and benchmarks)

    def clear(self) -> None:
        self._cache.clear()

    # ------------------------------------------------------------------ starts
    def _edits_at(self, branch: int, step: int) -> list[int]:
        rows = self._conn.execute(
            "SELECT id FROM events WHERE branch=? AND step=? AND kind='edit' ORDER BY id", (branch, step)
        )
        return [r[0] for r in rows]

    def _usable(
        self,
        branches: Mapping[int, Branch],
        events: Mapping[int, list[TimelineEvent]],
        target: int,
        k: int,
        include_k: bool,
        b: int,
        c: int,
        applied: tuple[int, ...],
    ) -> bool:
        if c > k or not same_history(branches, b, target, c):
            return False
        if c == 0 and root(branches, b) != root(branches, target):
            return False  # another run of the file (its own root): nothing in common, even at step 0
        if not applied:
            return True
        if c == k and not include_k:
            return False
        mine = [e.id for e in events.get(c, []) if e.kind == "edit"]
        return owner(branches, target, c) == owner(branches, b, c) and mine[: len(applied)] == list(applied)

    def _start(
        self,
        branches: Mapping[int, Branch],
        events: Mapping[int, list[TimelineEvent]],
        target: int,
        k: int,
        include_k: bool,
    ) -> Position:
        best: Position | None = None
        best_key: int | None = None
        for key, pos in self._cache.items():
            if self._usable(branches, events, target, k, include_k, pos.branch, pos.step, pos.applied) and (
                best is None or pos.step > best.step
            ):
                best, best_key = pos, key
        rows = self._conn.execute(
            "SELECT id, branch, step, after_event FROM checkpoints WHERE step <= ? ORDER BY step DESC, id DESC",
            (k,),
        ).fetchall()
        for cid, b, c, after in rows:
            if best is not None and c <= best.step:
                break
            if b not in branches:
                continue
            applied = tuple(i for i in self._edits_at(b, c) if i <= after)
            if self._usable(branches, events, target, k, include_k, b, c, applied):
                return Position(self._load_checkpoint(cid), b, c, applied)
        if best is None or best_key is None:
            raise SessionError(
                self._path, f"no checkpoint at or before step {k} on this branch: cannot rebuild it"
            )
        del self._cache[best_key]  # the trainer will move on: it is no longer at that step
        return best

    def _load_checkpoint(self, cid: int) -> Any:
        sql = checksum.select(
            "SELECT branch, step, after_event, skeleton, data, crc FROM checkpoints WHERE id=?", self._checked
        )
        *values, crc = self._conn.execute(sql, (cid,)).fetchone()
        checksum.verify(self._path, f"checkpoint {cid}", values, crc)
        skeleton, data = values[3], values[4]
        try:
            state = tree.unpack_tree(skeleton, data)
        except BlobError as exc:
            raise SessionError(self._path, f"damaged checkpoint {cid}: {exc}") from None
        try:
            return self._factory(state)
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
            raise SessionError(self._path, f"checkpoint {cid} cannot be restored: {exc}") from None

    # ------------------------------------------------------------------ replay
    def _apply(self, pos: Position, edits: list[TimelineEvent]) -> None:
        for ev in edits:
            if ev.kind != "edit" or ev.id in pos.applied:
                continue
            try:
                pos.trainer.set_param(ev.name, ev.new)
            except ValueError as exc:
                raise SessionError(
                    self._path, f"cannot replay the edit {ev.name}={ev.new!r} at step {ev.step}: {exc}"
                ) from None
            pos.applied = (*pos.applied, ev.id)

    def _advance(
        self,
        pos: Position,
        k: int,
        branches: Mapping[int, Branch],
        events: Mapping[int, list[TimelineEvent]],
        target: int,
    ) -> None:
        """Step ``pos`` (a start of the target timeline) to the start of step k (edits at k not applied)."""
        while pos.step < k:
            self._apply(pos, events.get(pos.step, []))
            rec = pos.trainer.step(probe=False)
            self._compare(pos, rec, branches, target)
            pos.step += 1
            pos.applied = ()
            self.replayed_steps += 1
        actual = int(pos.trainer.step_count)
        if actual != k:
            raise SessionError(
                self._path, f"replay reached step {actual}, expected {k} (checkpoint step mismatch)"
            )

    def _compare(self, pos: Position, rec: StepRecord, branches: Mapping[int, Branch], target: int) -> None:
        pos.replayed += 1
        ob = owner(branches, target, int(rec.step))
        if self._check is not None and ob is not None:
            dev = self._check(ob, rec)
            if dev >= 0:  # negative: nothing stored to compare with
                pos.checked += 1
                pos.deviation = max(pos.deviation, dev)

    def trainer_at(
        self, branches: Mapping[int, Branch], events: Mapping[int, list[TimelineEvent]], target: int, k: int
    ) -> Any:
        """A fresh trainer at the start of step k of ``target`` (edits made at k not applied)."""
        with self._lock:
            pos = self._start(branches, events, target, k, include_k=False)
            self._advance(pos, k, branches, events, target)
            return pos.trainer

    def regenerate(
        self, branches: Mapping[int, Branch], events: Mapping[int, list[TimelineEvent]], target: int, k: int
    ) -> StepRecord:
        """Record k of ``target`` with a full frame, by replay."""
        with self._lock:
            pos = self._start(branches, events, target, k, include_k=True)
            self._advance(pos, k, branches, events, target)
            self._apply(pos, events.get(k, []))
            rec: StepRecord = pos.trainer.step(probe=True)
            self._compare(pos, rec, branches, target)
            pos.step, pos.applied, pos.branch = k + 1, (), target
            self.last = pos
            self.replayed_steps += 1
            self._cache[self._next_key] = pos
            self._next_key += 1
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return rec


def decode_value(text: str | None) -> Any:
    return None if text is None else json.loads(text)
