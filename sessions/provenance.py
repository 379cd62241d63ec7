"""Which machine kind recorded a step, and how far a step regenerated here is from the record.

A session stores the numerics fingerprint (``engine.numerics.fingerprint``) of every process
that recorded into it, as meta ``numerics``: a JSON list of ``{"branch", "step", "fingerprint"}``,
one entry when recording starts (``LiveSession.create``) and one more each time another
process resumes the file. The steps of branch b from entry.step on were recorded under that
entry's fingerprint, until the next entry of b. Files written before fingerprints have no such
meta; they read as one entry with ``engine.numerics.legacy_fingerprint``.

Regenerating a step re-runs training from the nearest checkpoint. Under the recorded
fingerprint that reproduces the recorded bits; under another one it may not. Either way the
replayed steps are compared with the stored summaries as they go, and the largest relative
deviation is kept with the regenerated frame (:class:`Provenance`), so a frame regenerated
elsewhere is never shown as if it were the recorded one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnscope.engine import numerics
from rnnscope.engine.record import StepRecord


@dataclass(frozen=True)
class Entry:
    branch: int
    step: int
    fingerprint: dict[str, Any]


def read_entries(meta: Mapping[str, str], kernels: str) -> list[Entry]:
    """The recording fingerprints of a file's meta (``kernels``: its recorded loops, for old
    files). A damaged value reads as one unknown fingerprint: the file still opens."""
    text = meta.get("numerics")
    if text is None:
        return [Entry(0, 0, numerics.legacy_fingerprint(kernels))]
    try:
        raw = json.loads(text)
        out = [
            Entry(int(e["branch"]), int(e["step"]), dict(e["fingerprint"]))
            for e in raw
            if isinstance(e, dict) and isinstance(e.get("fingerprint"), dict)
        ]
    except (ValueError, TypeError, KeyError):
        out = []
    return out or [Entry(0, 0, {"revision": numerics.REVISION, "kernels": kernels})]


def encode_entries(entries: Sequence[Entry]) -> list[dict[str, Any]]:
    return [{"branch": e.branch, "step": e.step, "fingerprint": e.fingerprint} for e in entries]


def recorded_under(entries: Sequence[Entry], branch: int, step: int) -> dict[str, Any]:
    """The fingerprint that recorded ``step`` of ``branch`` (its owner branch)."""
    mine = [e for e in entries if e.branch == branch and e.step <= step]
    if mine:
        return max(mine, key=lambda e: e.step).fingerprint
    earlier = [e for e in entries if e.step <= step]
    return (earlier[-1] if earlier else entries[0]).fingerprint


def relative_deviation(a: float | None, b: float | None) -> float:
    """|a - b| relative to the larger magnitude; 0 for equal values (NaN == NaN, inf == inf),
    inf when only one is finite."""
    return _array_deviation(
        np.float64(math.nan if a is None else a), np.float64(math.nan if b is None else b)
    )


def _array_deviation(a: np.ndarray | np.float64 | None, b: np.ndarray | np.float64 | None) -> float:
    """:func:`relative_deviation`, elementwise, the largest; inf for arrays of other shapes."""
    if a is None or b is None or np.shape(a) != np.shape(b):
        return 0.0 if a is None and b is None else math.inf
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    same = (x == y) | (np.isnan(x) & np.isnan(y))
    if same.all():
        return 0.0
    finite = np.isfinite(x) & np.isfinite(y)
    if (~same & ~finite).any():
        return math.inf
    scale = np.maximum(np.maximum(np.abs(x), np.abs(y)), 1e-300)
    return float(np.max(np.where(same, 0.0, np.abs(x - y) / scale)))


def summary_deviation(stored: StepRecord, replayed: StepRecord) -> float:
    """The largest relative deviation between two records' summaries: loss, metric, gradient
    norms (before and after clipping) and every part's per-timestep ||dL/dh_t||, ||dL/dc_t||."""
    dev = max(
        relative_deviation(getattr(stored, f), getattr(replayed, f))
        for f in ("loss", "metric", "grad_norm", "grad_norm_clipped")
    )
    for name, p in stored.parts.items():
        q = replayed.parts.get(name)
        if q is None:
            return math.inf
        dev = max(dev, _array_deviation(p.h_grad_norm, q.h_grad_norm))
        dev = max(dev, _array_deviation(p.c_grad_norm, q.c_grad_norm))
    return dev


@dataclass
class Provenance:
    """How a regenerated frame came about."""

    step: int
    differences: list[str] = field(default_factory=list)  # decisive fingerprint fields that differ
    deviation: float = 0.0  # max relative deviation of the replayed steps' summaries from the stored
    replayed: int = 0  # steps re-run since the checkpoint (or cached trainer) the replay started at
    checked: int = 0  # how many of those were compared with a stored summary

    @property
    def elsewhere(self) -> bool:
        """Regenerated under another fingerprint than the one that recorded it."""
        return bool(self.differences)

    @property
    def exact(self) -> bool:
        return self.deviation == 0.0

    def sentence(self) -> str:
        """For the window and the CLI ("" when there is nothing to say): a headline on the first
        line (what a panel's banner shows), then how far the replay is from the record."""
        if not self.elsewhere and self.exact:
            return ""
        where = (
            "regenerated on another machine kind (" + "; ".join(self.differences) + ")"
            if self.elsewhere
            else "regenerated here"
        )
        if self.exact:
            return (
                f"Step {self.step}: {where}\nIts {self.checked} replayed steps match the recorded "
                "summaries bit for bit."
            )
        expect = numerics.expected_drift(self.replayed)
        return (
            f"Step {self.step}: {where}\nIt deviates from the recorded summaries by up to "
            f"{self.deviation:.1e} (relative, over {self.checked} replayed steps), so its frame is "
            f"approximate. {expect}"
        )
