"""StepRecord <-> database rows: the summary row (every step) and the frame row (probe steps).

Summary row (table ``steps``): the scalar fields as columns, ``nonfinite`` / ``extras``
/ ``parts`` as JSON, and one uncompressed pack ``arrays`` holding per part
``<part>/h_grad_norm`` (L, T) and ``<part>/c_grad_norm`` (L, T, when not None).
Summaries stay small so that scanning 10,000 of them for the plots is one query.

Frame row (table ``frames``): ``meta`` JSON (per part: gate names or null,
probe_length; which ProbeSample fields exist) and a compressed pack ``data`` with
``<part>/whh_singular_values`` (L, H), ``<part>/whh_block_singular_values`` (L, G, H; files
before 2026-12-07 lack it), ``<part>/gates/<g>``, ``<part>/hidden``,
``cell``, ``h_grad``, ``c_grad``, ``jacobian_norm`` (L, T[, H]) and ``probe/<field>``. Arrays keep their dtype and shape
exactly; NaN scalars are stored as NULL (SQLite has no NaN) and come back as NaN.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import numpy as np

from rnnscope.engine.record import FRAME_FIELDS, PROBE_FIELDS, NonFinite, PartRecord, ProbeSample, StepRecord
from rnnscope.sessions import blobs
from rnnscope.sessions.errors import BlobError

SUMMARY_COLUMNS = (
    "step", "loss", "metric", "grad_norm", "grad_norm_clipped", "lr", "clip_threshold", "step_time",
    "probe_index", "metric_name", "nonfinite", "extras", "parts", "arrays",
)  # fmt: skip


def _real(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def _float(x: float | None) -> float:
    return math.nan if x is None else float(x)


def summary_row(rec: StepRecord) -> tuple[Any, ...]:
    """Values for SUMMARY_COLUMNS (in that order)."""
    arrays: dict[str, np.ndarray] = {}
    parts = []
    for name, p in rec.parts.items():
        parts.append([name, p.cell_type, int(p.length)])
        arrays[f"{name}/h_grad_norm"] = p.h_grad_norm
        if p.c_grad_norm is not None:
            arrays[f"{name}/c_grad_norm"] = p.c_grad_norm
    nonfinite = None if rec.nonfinite is None else json.dumps(dataclasses.asdict(rec.nonfinite))
    extras = json.dumps({k: float(v) for k, v in rec.extras.items()}) if rec.extras else None
    return (
        int(rec.step),
        _real(rec.loss),
        _real(rec.metric),
        _real(rec.grad_norm),
        _real(rec.grad_norm_clipped),
        _real(rec.lr),
        None if rec.clip_threshold is None else float(rec.clip_threshold),
        float(rec.step_time),
        int(rec.probe_index),
        rec.metric_name,
        nonfinite,
        extras,
        json.dumps(parts, separators=(",", ":")),
        blobs.pack(arrays),
    )


def _json(text: str | None, what: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise BlobError(f"stored {what} is not valid JSON") from None


def decode_summary(row: tuple[Any, ...] | Any) -> StepRecord:
    """A StepRecord without frame from a row of SUMMARY_COLUMNS."""
    (step, loss, metric, gn, gnc, lr, clip, step_time, probe_index, metric_name,
     nonfinite, extras, parts_json, arrays_blob) = row  # fmt: skip
    arrays = blobs.unpack(arrays_blob)
    parts: dict[str, PartRecord] = {}
    spec = _json(parts_json, "parts")
    if not isinstance(spec, list):
        raise BlobError("stored parts are not a list")
    for item in spec:
        name, cell, length = item
        try:
            parts[name] = PartRecord(
                cell_type=str(cell),
                length=int(length),
                h_grad_norm=arrays[f"{name}/h_grad_norm"],
                c_grad_norm=arrays.get(f"{name}/c_grad_norm"),
            )
        except KeyError as exc:
            raise BlobError(f"stored step {step} lacks array {exc}") from None
    nf = _json(nonfinite, "nonfinite")
    return StepRecord(
        step=int(step),
        loss=_float(loss),
        metric=_float(metric),
        metric_name=str(metric_name),
        grad_norm=_float(gn),
        grad_norm_clipped=_float(gnc),
        lr=_float(lr),
        clip_threshold=None if clip is None else float(clip),
        parts=parts,
        probe_index=int(probe_index),
        probe=None,
        nonfinite=None if nf is None else NonFinite(**nf),
        step_time=_float(step_time),
        extras={k: float(v) for k, v in (_json(extras, "extras") or {}).items()},
    )


def has_frame_data(rec: StepRecord) -> bool:
    """Whether ``rec`` carries anything a frame row would hold."""
    if rec.probe is not None:
        return True
    return any(
        p.gates is not None or any(getattr(p, f) is not None for f in FRAME_FIELDS)
        for p in rec.parts.values()
    )


def frame_row(rec: StepRecord, *, compress: bool = True) -> tuple[str, bytes]:
    """(meta JSON, data pack) of the frame fields of ``rec``."""
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {"parts": {}, "probe": None}
    for name, p in rec.parts.items():
        meta["parts"][name] = {
            "gates": None if p.gates is None else list(p.gates),
            "probe_length": None if p.probe_length is None else int(p.probe_length),
        }
        for g, arr in (p.gates or {}).items():
            arrays[f"{name}/gates/{g}"] = arr
        for f in FRAME_FIELDS:
            arr = getattr(p, f)
            if arr is not None:
                arrays[f"{name}/{f}"] = arr
    if rec.probe is not None:
        meta["probe"] = [f for f in PROBE_FIELDS if getattr(rec.probe, f) is not None]
        for f in meta["probe"]:
            arrays[f"probe/{f}"] = getattr(rec.probe, f)
    return json.dumps(meta, separators=(",", ":")), blobs.pack(arrays, compress=compress)


def attach_frame(rec: StepRecord, meta_json: str, data: bytes | memoryview) -> StepRecord:
    """Fill the frame fields of ``rec`` (in place, and returned) from a frame row."""
    meta = _json(meta_json, "frame meta")
    arrays = blobs.unpack(data)
    try:
        for name, spec in meta["parts"].items():
            p = rec.parts[name]
            p.gates = (
                None if spec["gates"] is None else {g: arrays[f"{name}/gates/{g}"] for g in spec["gates"]}
            )
            for f in FRAME_FIELDS:
                setattr(p, f, arrays.get(f"{name}/{f}"))
            p.probe_length = spec["probe_length"]
        if meta["probe"] is not None:
            fields = {f: arrays.get(f"probe/{f}") for f in PROBE_FIELDS}
            rec.probe = ProbeSample(**fields)  # type: ignore[arg-type]
    except (KeyError, TypeError, AttributeError) as exc:
        raise BlobError(f"stored frame of step {rec.step} is malformed ({exc})") from None
    return rec


def copy_frame(dst: StepRecord, src: StepRecord) -> StepRecord:
    """Give ``dst`` (a stored summary) the frame fields of ``src`` (a regenerated record)."""
    for name, p in dst.parts.items():
        q = src.parts[name]
        p.gates = q.gates
        for f in FRAME_FIELDS:
            setattr(p, f, getattr(q, f))
        p.probe_length = q.probe_length
    dst.probe = src.probe
    return dst


def _same_array(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _same_float(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return (math.isnan(a) and math.isnan(b)) or float(a) == float(b)


def diff_records(a: StepRecord, b: StepRecord, *, frames: bool = True) -> list[str]:
    """Differences between two records, bit for bit (arrays: dtype, shape, bytes). [] when equal.

    ``step_time`` is ignored (a wall-clock measurement). ``frames=False`` compares summaries only.
    """
    out: list[str] = []
    for f in ("step", "metric_name", "probe_index", "nonfinite", "extras"):
        if getattr(a, f) != getattr(b, f):
            out.append(f"{f}: {getattr(a, f)!r} != {getattr(b, f)!r}")
    for f in ("loss", "metric", "grad_norm", "grad_norm_clipped", "lr", "clip_threshold"):
        if not _same_float(getattr(a, f), getattr(b, f)):
            out.append(f"{f}: {getattr(a, f)!r} != {getattr(b, f)!r}")
    if list(a.parts) != list(b.parts):
        return [*out, f"parts: {list(a.parts)} != {list(b.parts)}"]
    for name, p in a.parts.items():
        q = b.parts[name]
        if (p.cell_type, p.length) != (q.cell_type, q.length):
            out.append(f"{name}: cell/length {(p.cell_type, p.length)} != {(q.cell_type, q.length)}")
        fields = ["h_grad_norm", "c_grad_norm"]
        if frames:
            fields += list(FRAME_FIELDS)
            if p.probe_length != q.probe_length:
                out.append(f"{name}.probe_length: {p.probe_length} != {q.probe_length}")
            if (p.gates is None) != (q.gates is None) or list(p.gates or {}) != list(q.gates or {}):
                out.append(f"{name}.gates: {None if p.gates is None else list(p.gates)} != "
                           f"{None if q.gates is None else list(q.gates)}")  # fmt: skip
            else:
                for g in p.gates or {}:
                    if not _same_array(p.gates[g], (q.gates or {})[g]):  # type: ignore[index]
                        out.append(f"{name}.gates[{g}] differs")
        for f in fields:
            if not _same_array(getattr(p, f), getattr(q, f)):
                out.append(f"{name}.{f} differs")
    if frames:
        if (a.probe is None) != (b.probe is None):
            out.append(f"probe: {a.probe is None and 'None'} vs {b.probe is None and 'None'}")
        elif a.probe is not None and b.probe is not None:
            for f in PROBE_FIELDS:
                if not _same_array(getattr(a.probe, f), getattr(b.probe, f)):
                    out.append(f"probe.{f} differs")
    return out
