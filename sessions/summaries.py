"""Summaries: every step's scalars and per-timestep gradient norms as arrays, for the plots.

``Session.summaries()`` fills one of these with a single query per branch segment;
``N`` is the number of steps returned. Per-timestep arrays are padded with NaN to the
longest T seen (sequence lengths may vary per step, e.g. Seq2Seq batches).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnscope.sessions import blobs


@dataclass
class PartSummaries:
    cell_type: str
    length: np.ndarray  # (N,) int64 T of each step
    h_grad_norm: np.ndarray  # (N, L, T_max) float64 (float32 in files of numerics revision 1), NaN-padded
    c_grad_norm: np.ndarray | None  # (N, L, T_max) or None (no cell state)


@dataclass
class Summaries:
    step: np.ndarray  # (N,) int64
    loss: np.ndarray  # (N,) float64
    metric: np.ndarray
    grad_norm: np.ndarray
    grad_norm_clipped: np.ndarray
    lr: np.ndarray
    clip_threshold: np.ndarray  # NaN where clipping was off
    step_time: np.ndarray
    probe_index: np.ndarray  # (N,) int64
    nonfinite: list[str | None]  # NonFinite.describe()-like text, or None
    metric_name: str
    parts: dict[str, PartSummaries] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.step.shape[0])

    def select(self, names: list[str] | tuple[str, ...]) -> Summaries:
        """These steps with only the parts ``names`` (arrays shared), like StepRecord.select."""
        missing = [n for n in names if n not in self.parts]
        if missing and len(self):
            raise KeyError(f"no part {missing[0]!r} in these summaries (parts: {', '.join(self.parts)})")
        return dataclasses.replace(self, parts={n: self.parts[n] for n in names if n in self.parts})

    @property
    def h_grad_norm(self) -> np.ndarray:
        """(N, L, T) of the single part; Seq2Seq: parts concatenated along time."""
        return np.concatenate([p.h_grad_norm for p in self.parts.values()], axis=2)


def _pad(arrays: list[np.ndarray], t_max: int) -> np.ndarray:
    if not arrays:
        return np.zeros((0, 0, t_max), np.float64)
    first = arrays[0]
    # float64 since numerics revision 2, float32 before: a file with both (resumed) keeps float64
    out = np.full((len(arrays), first.shape[0], t_max), np.nan, dtype=np.result_type(*arrays))
    for i, a in enumerate(arrays):
        out[i, : a.shape[0], : a.shape[1]] = a
    return out


def build(rows: Iterable[tuple[Any, ...]]) -> Summaries:
    """From rows (step, loss, metric, grad_norm, grad_norm_clipped, lr, clip, step_time,
    probe_index, metric_name, nonfinite, parts, arrays) in step order."""
    rows = list(rows)
    num = np.array([r[:9] for r in rows], dtype=np.float64).reshape(len(rows), 9)  # None -> NaN
    nonfinite = []
    for r in rows:
        nf = None if r[10] is None else json.loads(r[10])
        nonfinite.append(None if nf is None else " ".join(str(v) for v in nf.values() if v not in (None, "")))
    parts: dict[str, PartSummaries] = {}
    layouts = {r[11] for r in rows}
    stacked = blobs.unpack_many([r[12] for r in rows]) if len(layouts) == 1 else None
    if stacked is not None:  # the common case: every step has the same parts and lengths
        for name, cell, length in json.loads(rows[0][11]):
            parts[name] = PartSummaries(
                cell_type=cell,
                length=np.full(len(rows), int(length), dtype=np.int64),
                h_grad_norm=stacked[f"{name}/h_grad_norm"],
                c_grad_norm=stacked.get(f"{name}/c_grad_norm"),
            )
        rows_to_parse: list[tuple[Any, ...]] = []
    else:
        rows_to_parse = rows
    per_part: dict[str, dict[str, list[np.ndarray]]] = {}
    lengths: dict[str, list[int]] = {}
    cells: dict[str, str] = {}
    for r in rows_to_parse:
        arrays = blobs.unpack(r[12])
        for name, cell, length in json.loads(r[11]):
            cells.setdefault(name, cell)
            lengths.setdefault(name, []).append(int(length))
            d = per_part.setdefault(name, {"h": [], "c": []})
            d["h"].append(arrays[f"{name}/h_grad_norm"])
            c = arrays.get(f"{name}/c_grad_norm")
            if c is not None:
                d["c"].append(c)
    for name, d in per_part.items():
        t_max = max((a.shape[1] for a in d["h"]), default=0)
        parts[name] = PartSummaries(
            cell_type=cells[name],
            length=np.array(lengths[name], dtype=np.int64),
            h_grad_norm=_pad(d["h"], t_max),
            c_grad_norm=_pad(d["c"], t_max) if len(d["c"]) == len(d["h"]) and d["c"] else None,
        )
    return Summaries(
        step=num[:, 0].astype(np.int64),
        loss=num[:, 1],
        metric=num[:, 2],
        grad_norm=num[:, 3],
        grad_norm_clipped=num[:, 4],
        lr=num[:, 5],
        clip_threshold=num[:, 6],
        step_time=num[:, 7],
        probe_index=np.nan_to_num(num[:, 8]).astype(np.int64),
        nonfinite=nonfinite,
        metric_name=str(rows[-1][9]) if rows else "",
        parts=parts,
    )
