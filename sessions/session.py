"""Session: read-only replay of a session file, concurrent with a live writer.

    s = Session.open("run.rnnscope")   # validates; never writes the file
    len(s)                             # steps on the current branch (re-queried: grows while recording)
    s.record(k)                        # StepRecord with its full frame (stored, or regenerated)
    s.summary(k)                       # the stored summary only (no frame), cheap
    s.summaries()                      # every step's scalars and norms as arrays (plots)
    s.branches(); s.checkout("main"); s.timeline()
    s.trainer_at(k)                    # a Trainer at the start of step k (to continue from there)

Steps are addressed on the *current branch's* timeline (see ``sessions.timeline``).
Regenerated records are cached (bounded LRU), and so are the trainers that produced them,
so scrubbing forward through unstored steps costs one optimizer step per step.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rnnscope.engine import numerics
from rnnscope.engine.record import StepRecord
from rnnscope.sessions import datasets, record_codec, schema, summaries, tree
from rnnscope.sessions.checksum import has_crc, verify
from rnnscope.sessions.checksum import select as checksum_select
from rnnscope.sessions.errors import BlobError, SessionError
from rnnscope.sessions.provenance import Provenance, read_entries, recorded_under, summary_deviation
from rnnscope.sessions.record_codec import SUMMARY_COLUMNS
from rnnscope.sessions.replay import (
    Replayer,
    TrainerFactory,
    decode_value,
    default_factory,
    pin_numerics,
    recorded_kernels,
)
from rnnscope.sessions.summaries import Summaries
from rnnscope.sessions.timeline import Branch, TimelineEvent, owner, segments

_SUMMARY_SQL = f"SELECT {', '.join(SUMMARY_COLUMNS)}, crc FROM steps WHERE branch=? AND step=?"
_SCAN_SQL = (
    f"SELECT {', '.join(SUMMARY_COLUMNS)}, crc FROM steps WHERE branch=? AND step>=? AND step<? ORDER BY step"
)
_EXTRAS = SUMMARY_COLUMNS.index("extras")  # the one summary column the plots' scan does not use


class RegenerationMismatch(UserWarning):
    """A regenerated step's summary differs from the stored one (frames are then approximate)."""


class Session:
    """A session file opened for reading. Use ``Session.open``."""

    def __init__(
        self,
        path: Path,
        conn: sqlite3.Connection,
        fmt: int,
        *,
        branch: int | str | None = None,
        trainer_factory: TrainerFactory = default_factory,
        cache_size: int = 3,
        record_cache: int = 16,
    ) -> None:
        self.path = path
        self.format = fmt
        self._conn = conn
        self._lock = threading.RLock()
        self.kernels = "torch"  # the CPU loops the file was recorded on (set from meta below)
        self.revision = 1  # the numerics revision it was recorded with (engine.numerics)
        self._provenance: dict[tuple[int, int], Provenance] = {}
        self._records: OrderedDict[tuple[int, int], StepRecord] = OrderedDict()
        self._record_cache = record_cache
        self._branch_id = 0
        self.mismatches: list[tuple[int, int]] = []  # (branch, step) whose replay differed from the file
        with self._reading():
            self._checked = has_crc(conn)
            meta = schema.read_meta(conn)
            self.meta = meta
            self.data_files = datasets.load_all(conn, path)  # before any run's config is read
            self.kernels = recorded_kernels(meta)
            self.numerics = read_entries(meta, self.kernels)
            self.revision = int(self.numerics[0].fingerprint.get("revision", 1))
            head = int(json.loads(meta.get("head", "0")))
            if not self._branches():
                raise SessionError(path, "damaged rnnscope session: it has no branches")
        self._replayer = Replayer(
            conn,
            path,
            self._lock,
            lambda st: pin_numerics(trainer_factory(st), self.kernels, self.revision),
            cache_size,
            check=self._check_replayed,
            checked=self._checked,
        )
        self.checkout(head if branch is None else branch)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        branch: int | str | None = None,
        trainer_factory: TrainerFactory = default_factory,
        cache_size: int = 3,
    ) -> Session:
        """Open ``path`` read-only. SessionError (naming the file and the problem) if it is not a
        readable rnnscope session; the file is not modified either way."""
        conn, fmt = schema.open_readonly(path)
        try:
            return cls(
                Path(path), conn, fmt, branch=branch, trainer_factory=trainer_factory, cache_size=cache_size
            )
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._replayer.clear()
            self._records.clear()
            self._conn.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Serialise access and turn low-level failures into SessionErrors naming the file."""
        with self._lock:
            try:
                yield
            except sqlite3.DatabaseError as exc:
                raise SessionError(self.path, f"cannot read (corrupt file?): {exc}") from None
            except BlobError as exc:
                raise SessionError(self.path, f"damaged data: {exc}") from None

    # ---------------------------------------------------------------- branches
    def _branches(self) -> dict[int, Branch]:
        rows = self._conn.execute(
            "SELECT id, name, parent, fork_step, created, config FROM branches ORDER BY id"
        )
        return {r[0]: Branch(r[0], r[1], r[2], int(r[3]), float(r[4]), json.loads(r[5])) for r in rows}

    def branches(self) -> list[Branch]:
        """All branches, oldest first."""
        with self._reading():
            return list(self._branches().values())

    def _resolve(self, branch: int | str | None) -> int:
        if branch is None:
            return self._branch_id
        found = self._branches()
        for b in found.values():
            if b.id == branch or b.name == branch:
                return b.id
        names = ", ".join(f"{b.id}:{b.name}" for b in found.values())
        raise SessionError(self.path, f"has no branch {branch!r} (branches: {names})")

    @property
    def branch(self) -> Branch:
        """The current branch (what ``len``, ``record`` and ``summaries`` address)."""
        with self._reading():
            return self._branches()[self._branch_id]

    def checkout(self, branch: int | str) -> Branch:
        """Make ``branch`` (id or name) current."""
        with self._reading():
            self._branch_id = self._resolve(branch)
            return self._branches()[self._branch_id]

    # ------------------------------------------------------------------- steps
    def length(self, branch: int | str | None = None) -> int:
        """Number of steps (0..n-1) on a branch's timeline (the current one by default)."""
        with self._reading():
            bid = self._resolve(branch)
            b = self._branches()[bid]
            row = self._conn.execute("SELECT max(step) FROM steps WHERE branch=?", (bid,)).fetchone()
            return b.fork_step if row[0] is None else int(row[0]) + 1

    def __len__(self) -> int:
        return self.length()

    def wait_for(self, n: int, *, branch: int | str | None = None, timeout: float = 5.0) -> bool:
        """Wait (polling) until a branch has ``n`` steps: steps a live writer has not committed
        yet; True when they are there, False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.length(branch) < n:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def _owner(self, k: int, bid: int) -> int:
        n = self.length(bid)
        if not 0 <= k < n:
            raise IndexError(
                f"step {k} is not recorded on branch {self._branches()[bid].name!r} (0..{n - 1})"
            )
        ob = owner(self._branches(), bid, k)
        if ob is None:
            raise IndexError(f"step {k} comes before branch {bid}'s first recorded step")
        return ob

    def summary(self, k: int, *, branch: int | str | None = None) -> StepRecord:
        """The stored summary of step k (no frame fields)."""
        with self._reading():
            bid = self._resolve(branch)
            ob = self._owner(k, bid)
            row = self._summary_row(ob, k)
            if row is None:
                raise IndexError(f"step {k} is missing from the file")
            return record_codec.decode_summary(row)

    def _summary_row(self, ob: int, k: int) -> tuple[Any, ...] | None:
        """Step k's stored summary row (SUMMARY_COLUMNS), its checksum verified."""
        row = self._conn.execute(self._sql(_SUMMARY_SQL), (ob, k)).fetchone()
        if row is None:
            return None
        verify(self.path, f"summary of step {k}", (ob, *row[:-1]), row[-1])
        return tuple(row[:-1])

    def _sql(self, sql: str) -> str:
        return checksum_select(sql, self._checked)

    def has_stored_frame(self, k: int, *, branch: int | str | None = None) -> bool:
        with self._reading():
            ob = self._owner(k, self._resolve(branch))
            return (
                self._conn.execute("SELECT 1 FROM frames WHERE branch=? AND step=?", (ob, k)).fetchone()
                is not None
            )

    def framed_steps(self, start: int = 0, *, branch: int | str | None = None) -> list[int]:
        """The steps >= ``start`` of a branch's timeline whose frame is stored in the file, in order
        (of an attached run: the only steps with a frame)."""
        with self._reading():
            bid = self._resolve(branch)
            out: list[int] = []
            for b, lo, hi in segments(self._branches(), bid):
                hi_sql = 2**62 if hi == float("inf") else int(hi)
                rows = self._conn.execute(
                    "SELECT step FROM frames WHERE branch=? AND step>=? AND step<? ORDER BY step",
                    (b, max(lo, start), hi_sql),
                )
                out += [int(r[0]) for r in rows]
            return sorted(out)

    def record(self, k: int, *, branch: int | str | None = None) -> StepRecord:
        """Step k with its full frame: the stored frame, or regenerated by replay (cached).

        The returned record is shared with the cache: treat it as read-only."""
        with self._reading():
            bid = self._resolve(branch)
            ob = self._owner(k, bid)
            key = (ob, k)
            cached = self._records.get(key)
            if cached is not None:
                self._records.move_to_end(key)
                return cached
            rec = self.summary(k, branch=bid)
            frame = self._conn.execute(
                self._sql("SELECT meta, data, crc FROM frames WHERE branch=? AND step=?"), key
            ).fetchone()
            if frame is not None:
                verify(self.path, f"frame of step {k}", (ob, k, frame[0], frame[1]), frame[2])
                record_codec.attach_frame(rec, frame[0], frame[1])
            elif self.external:
                pass  # the user's loop made it: only its summary exists (see ``external``)
            else:
                regen = self._regenerate(bid, k)
                prov = self._provenance_of(ob, k)
                if record_codec.diff_records(rec, regen, frames=False):
                    self._mismatch(k, bid, prov)
                record_codec.copy_frame(rec, regen)
                rec.provenance = prov.sentence()
                self._provenance[key] = prov
            self._records[key] = rec
            while len(self._records) > self._record_cache:
                dropped, _ = self._records.popitem(last=False)
                self._provenance.pop(dropped, None)
            return rec

    def _provenance_of(self, ob: int, k: int) -> Provenance:
        """How the regeneration of step k (owned by branch ``ob``) that just ran came about."""
        pos = self._replayer.last
        assert pos is not None
        recorded = recorded_under(self.numerics, ob, k)
        here = pos.trainer.fingerprint() if hasattr(pos.trainer, "fingerprint") else recorded
        return Provenance(
            step=k,
            differences=numerics.differences(recorded, here),
            deviation=pos.deviation,
            replayed=pos.replayed,
            checked=pos.checked,
        )

    def provenance(self, k: int, *, branch: int | str | None = None) -> Provenance | None:
        """How the frame ``record(k)`` returned was regenerated: under which differences from the
        recording fingerprint, and how far its replay deviated from the stored summaries. None when
        the frame is stored in the file (or has not been regenerated, or left the cache)."""
        with self._reading():
            ob = self._owner(k, self._resolve(branch))
            return self._provenance.get((ob, k))

    def _check_replayed(self, ob: int, rec: StepRecord) -> float:
        """The relative deviation of a replayed step's summary from the one stored for branch
        ``ob`` (which owns that step); -1 when none is stored."""
        row = self._summary_row(ob, int(rec.step))
        if row is None:
            return -1.0
        return summary_deviation(record_codec.decode_summary(row), rec)

    def _mismatch(self, k: int, bid: int, prov: Provenance) -> None:
        self.mismatches.append((bid, k))
        if len(self.mismatches) == 1:
            why = (
                "regenerated under " + "; ".join(prov.differences) if prov.elsewhere else "same machine kind"
            )
            warnings.warn(
                f"{self.path}: step {k} regenerated differently from what was recorded ({why}; it was "
                f"recorded on the {self.kernels} loops; up to "
                f"{prov.deviation:.1e} relative over {prov.checked} replayed steps): its frame is shown "
                "as replayed now, not as recorded",
                RegenerationMismatch,
                stacklevel=3,
            )

    @property
    def external(self) -> bool:
        """Recorded from the user's own training loop (rnnscope.attach, sessions.attached): its
        steps cannot be re-run, so ``record(k)`` of a step without a stored frame is its summary
        alone, and there is no ``regenerate``, ``trainer_at`` or ``config_at``."""
        with self._reading():
            return "external" in self._branches()[self._branch_id].config

    def _refuse_external(self, what: str) -> None:
        if self.external:
            raise SessionError(
                self.path,
                f"was recorded from your own training loop (rnnscope.attach): rnnscope cannot re-run its "
                f"steps, so it has no {what}; its frames are the probed steps",
            )

    def weights_at(self, k: int) -> dict[str, Any]:
        """An attached run's stored weights at the start of step k (state_dict entries of the
        user's model, the attached layers only): they exist at the checkpointed steps."""
        with self._reading():
            sql = self._sql(
                "SELECT branch, step, after_event, skeleton, data, crc FROM checkpoints WHERE branch=0 AND step=?"
            )
            row = self._conn.execute(sql, (k,)).fetchone()
            if row is None:
                steps = [r[0] for r in self._conn.execute("SELECT step FROM checkpoints ORDER BY step")]
                near = sorted(steps, key=lambda c: abs(c - k))[:3]
                raise SessionError(
                    self.path,
                    f"holds no weights of step {k}: an attached run stores them every "
                    f"{json.loads(self.meta.get('settings', '{}')).get('checkpoint_every', '?')} steps "
                    f"(nearest: {', '.join(map(str, sorted(near))) or 'none'})",
                )
            *values, crc = row if self._checked else (*row, None)
            if self._checked:
                verify(self.path, f"checkpoint of step {k}", values, crc)
            try:
                state = tree.unpack_tree(values[3], values[4])
            except BlobError as exc:
                raise SessionError(self.path, f"damaged checkpoint of step {k}: {exc}") from None
        weights = state.get("weights") if isinstance(state, dict) else None
        if not isinstance(weights, dict):
            raise SessionError(self.path, f"the checkpoint of step {k} holds no attached weights")
        return weights

    def regenerate(self, k: int, *, branch: int | str | None = None) -> StepRecord:
        """Step k re-run from the nearest checkpoint, as the trainer returns it (frame forced)."""
        self._refuse_external("regeneration")
        with self._reading():
            bid = self._resolve(branch)
            self._owner(k, bid)
            return self._regenerate(bid, k)

    def _regenerate(self, bid: int, k: int) -> StepRecord:
        return self._replayer.regenerate(self._branches(), self._events_by_step(bid), bid, k)

    def trainer_at(self, k: int, *, branch: int | str | None = None) -> Any:
        """A new Trainer at the start of step k (0 <= k <= len) of a branch: the exact model,
        optimizer, RNG and data position after k steps, with edits made before step k."""
        self._refuse_external("rewind (a trainer at an earlier step)")
        with self._reading():
            bid = self._resolve(branch)
            n = self.length(bid)
            if not 0 <= k <= n:
                raise IndexError(f"step {k} is outside branch {bid}'s 0..{n}")
            return self._replayer.trainer_at(self._branches(), self._events_by_step(bid), bid, k)

    @property
    def replayed_steps(self) -> int:
        """Optimizer steps re-run by regeneration so far."""
        return self._replayer.replayed_steps

    def summaries(
        self, start: int = 0, stop: int | None = None, *, branch: int | str | None = None
    ) -> Summaries:
        """Steps [start, stop) of a branch as arrays (see ``sessions.summaries``)."""
        with self._reading():
            bid = self._resolve(branch)
            stop = self.length(bid) if stop is None else stop
            rows: list[tuple[Any, ...]] = []
            for b, lo, hi in segments(self._branches(), bid, stop):
                lo, hi = max(lo, start), min(hi, stop)
                if lo < hi:
                    for row in self._conn.execute(self._sql(_SCAN_SQL), (b, lo, int(hi))):
                        verify(self.path, f"summary of step {row[0]}", (b, *row[:-1]), row[-1])
                        rows.append(row[:_EXTRAS] + row[_EXTRAS + 1 : -1])
            return summaries.build(rows)

    # ---------------------------------------------------------------- timeline
    def _events(self, bid: int) -> list[TimelineEvent]:
        out = []
        for b, lo, hi in segments(self._branches(), bid):
            hi_sql = 2**62 if hi == float("inf") else int(hi)
            rows = self._conn.execute(
                "SELECT id, branch, step, kind, name, old, new, time FROM events "
                "WHERE branch=? AND step>=? AND step<? ORDER BY step, id",
                (b, lo, hi_sql),
            )
            out += [
                TimelineEvent(r[0], r[1], r[2], r[3], r[4], decode_value(r[5]), decode_value(r[6]), r[7])
                for r in rows
            ]
        out.sort(key=lambda e: (e.step, e.id))
        return out

    def _events_by_step(self, bid: int) -> dict[int, list[TimelineEvent]]:
        by_step: dict[int, list[TimelineEvent]] = {}
        for ev in self._events(bid):
            by_step.setdefault(ev.step, []).append(ev)
        return by_step

    def timeline(self, *, branch: int | str | None = None) -> list[TimelineEvent]:
        """Edits and branch points on a branch's timeline, by step."""
        with self._reading():
            return self._events(self._resolve(branch))

    def edits(self, *, branch: int | str | None = None) -> list[TimelineEvent]:
        return [e for e in self.timeline(branch=branch) if e.kind == "edit"]

    def config_at(self, k: int, *, branch: int | str | None = None) -> Any:
        """The TrainConfig in effect for step k (the branch's starting config plus earlier edits)."""
        from rnnscope.engine.config import TrainConfig

        self._refuse_external("rnnscope config")
        with self._reading():
            bid = self._resolve(branch)
            segs = segments(self._branches(), bid)
            root = self._branches()[segs[0][0]] if segs else self._branches()[bid]
            cfg = TrainConfig.from_dict(root.config)
            for ev in self._events(bid):
                if ev.kind == "edit" and ev.step <= k:
                    cfg = cfg.with_changes(**{ev.name: ev.new})
            return cfg

    # -------------------------------------------------------------------- info
    def meta_value(self, key: str) -> Any:
        """The JSON value stored under ``key`` in the file's meta table, read now (None when absent)."""
        with self._reading():
            row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return json.loads(row[0])
        except ValueError:
            raise SessionError(self.path, f"meta {key!r} is not JSON") from None

    def stats(self) -> dict[str, Any]:
        """Counts and sizes for ``info``."""
        with self._reading():
            q = self._conn.execute
            return {
                "steps": q("SELECT count(*) FROM steps").fetchone()[0],
                "frames": q("SELECT count(*) FROM frames").fetchone()[0],
                "checkpoints": q("SELECT count(*) FROM checkpoints").fetchone()[0],
                "events": q("SELECT count(*) FROM events").fetchone()[0],
                "bytes": sum(
                    os.path.getsize(str(self.path) + s)
                    for s in ("", "-wal")
                    if os.path.exists(str(self.path) + s)
                ),
                "meta": dict(self.meta),
            }

    def integrity_check(self) -> str:
        """SQLite's own check of the whole file ("ok" when sound)."""
        with self._reading():
            return str(self._conn.execute("PRAGMA integrity_check").fetchone()[0])
