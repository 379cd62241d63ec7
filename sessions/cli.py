"""Headless helpers behind ``main.py info`` and ``main.py export`` (main.py does the parsing).

``info(path)`` is a human-readable report: format, size, config, recording settings,
branches (with their steps and edits), counts of stored frames and checkpoints.

``export_step(path, step, fmt, out_path)`` writes every array of one step's record
(regenerating the frame if it was not stored):

- ``npz``: one array per key. Scalars: ``step``, ``loss``, ``metric``, ``grad_norm``,
  ``grad_norm_clipped``, ``lr``, ``clip_threshold`` (NaN when off), ``probe_index``.
  Per part (``rnn``, or ``encoder``/``decoder``): ``<part>/h_grad_norm`` (L, T),
  ``<part>/c_grad_norm``, ``<part>/whh_singular_values`` (L, k) of the stacked W_hh and, for
  LSTM/GRU, ``<part>/whh_singular_values_<gate>`` (L, k) of each gate's block, ``<part>/gates/<g>``
  (L, T, H), ``<part>/hidden``, ``<part>/cell``, ``<part>/h_grad``, ``<part>/c_grad``
  (L, T, H), ``<part>/jacobian_norm`` (L, T). Probe sample: ``probe/input``,
  ``probe/target``, ``probe/prediction``, ``probe/mask`` ... Load with ``np.load(path)``
  (no pickle needed).
- ``csv``: one long table with the header ``step,part,array,layer,t,unit,value``: one
  row per array element, blank where an axis does not apply. Scalars have part and all
  indices blank; ``whh_singular_values[_<gate>]`` puts the singular value's rank in ``unit``;
  probe arrays have part ``probe``, their first axis in ``t`` and a second axis (features)
  in ``unit``.

Both raise SessionError for a bad session file and write nothing in that case.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from engine.record import GATE_NAMES, StepRecord
from sessions.errors import SessionError
from sessions.record_codec import FRAME_FIELDS, PROBE_FIELDS
from sessions.session import Session

FORMATS = ("npz", "csv")


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def info(path: str | os.PathLike[str]) -> str:
    """A report on a session file (SessionError if it is not one)."""
    with Session.open(path) as s:
        st = s.stats()
        meta = st["meta"]
        created = json.loads(meta.get("created", "0"))
        lines = [
            f"session   {s.path}",
            f"format    {s.format} (rnnscope)   size {_mb(st['bytes'])}",
            f"created   {_dt.datetime.fromtimestamp(created).isoformat(timespec='seconds')}",
            f"stored    {st['steps']} step summaries, {st['frames']} full frames, "
            f"{st['checkpoints']} checkpoints, {st['events']} timeline events",
        ]
        settings = json.loads(meta.get("settings", "{}"))
        if settings:
            lines.append("recording " + ", ".join(f"{k}={v}" for k, v in settings.items()))
        branches = s.branches()
        root = branches[0]
        lines.append("config")
        lines += [f"  {k} = {v}" for k, v in root.config.items()]
        head = s.branch.id
        lines.append(f"branches  ({len(branches)}; * = last used)")
        by_id = {b.id: b for b in branches}
        for b in branches:
            n = s.length(b.id)
            origin = "root" if b.parent is None else f"from {by_id[b.parent].name} at step {b.fork_step}"
            mark = "*" if b.id == head else " "
            lines.append(f" {mark}{b.id:>3} {b.name:<16} steps 0..{n - 1} ({n})  {origin}")
            if n:
                last = s.summary(n - 1, branch=b.id)
                lines.append(
                    f"       last step {n - 1}: loss {last.loss:.6g}, {last.metric_name} {last.metric:.6g}"
                )
            for ev in s.timeline(branch=b.id):
                if ev.kind == "edit" and ev.branch == b.id:
                    lines.append(f"       edit at step {ev.step}: {ev.name} {ev.old!r} -> {ev.new!r}")
        lines += numerics_report(s, by_id)
        return "\n".join(lines)


def here_fingerprint(s: Session) -> dict[str, Any]:
    """The fingerprint a regeneration of ``s`` would run under in this process, without
    compiling or loading the C++ kernels to find out (a first build takes seconds)."""
    from engine import native, numerics

    kernels = "torch" if s.kernels == "torch" else native.planned_variant()
    return numerics.fingerprint(kernels=kernels, rev=s.revision)


def numerics_report(s: Session, by_id: dict[int, Any]) -> list[str]:
    """Which machine kinds recorded the file, this one, and whether replay here is bit for bit."""
    from engine import numerics

    lines = ["recorded on"]
    for e in s.numerics:
        name = by_id[e.branch].name if e.branch in by_id else str(e.branch)
        lines.append(f"  branch {name} from step {e.step}:")
        lines += [f"    {line}" for line in numerics.describe(e.fingerprint)]
        if e.fingerprint.get("revision") == numerics.LEGACY_REVISION and len(e.fingerprint) <= 2:
            lines.append("    (written before rnnscope recorded fingerprints: the rest is unknown)")
    here = here_fingerprint(s)
    lines.append("this machine")
    lines += [f"    {line}" for line in numerics.describe(here)]
    diffs = sorted({d for e in s.numerics for d in numerics.differences(e.fingerprint, here)})
    if diffs:
        lines.append("replay    regenerated frames may differ from the recorded run in the last bits, which")
        lines.append(
            "          grow with the steps replayed; the panels and the warning say by how much. Differs:"
        )
        lines += [f"          - {d}" for d in diffs]
    else:
        lines.append("replay    same numerics: regenerated frames are bit for bit the recorded ones")
    return lines


def record_arrays(rec: StepRecord) -> dict[str, np.ndarray]:
    """Every array of a record under the keys documented above."""
    out: dict[str, np.ndarray] = {
        "step": np.asarray(rec.step, np.int64),
        "loss": np.asarray(rec.loss, np.float64),
        "metric": np.asarray(rec.metric, np.float64),
        "grad_norm": np.asarray(rec.grad_norm, np.float64),
        "grad_norm_clipped": np.asarray(rec.grad_norm_clipped, np.float64),
        "lr": np.asarray(rec.lr, np.float64),
        "clip_threshold": np.asarray(
            np.nan if rec.clip_threshold is None else rec.clip_threshold, np.float64
        ),
        "probe_index": np.asarray(rec.probe_index, np.int64),
    }
    for name, p in rec.parts.items():
        out[f"{name}/h_grad_norm"] = p.h_grad_norm
        if p.c_grad_norm is not None:
            out[f"{name}/c_grad_norm"] = p.c_grad_norm
        for g, arr in (p.gates or {}).items():
            out[f"{name}/gates/{g}"] = arr
        for f in FRAME_FIELDS:
            arr = getattr(p, f)
            if arr is not None and f != "whh_block_singular_values":
                out[f"{name}/{f}"] = arr
        blocks = p.whh_block_singular_values
        if blocks is not None and GATE_NAMES[p.cell_type]:  # a tanh RNN's one block is W_hh itself
            for k, g in enumerate(GATE_NAMES[p.cell_type]):
                out[f"{name}/whh_singular_values_{g}"] = np.ascontiguousarray(blocks[:, k])
    if rec.probe is not None:
        for f in PROBE_FIELDS:
            arr = getattr(rec.probe, f)
            if arr is not None:
                out[f"probe/{f}"] = arr
    return out


def _csv_rows(step: int, key: str, arr: np.ndarray) -> Any:
    part, _, name = key.rpartition("/") if "/" in key else ("", "", key)
    if part.endswith("/gates"):
        part, name = part[: -len("/gates")], f"gates/{name}"
    a = np.asarray(arr)
    if a.ndim == 0:
        yield (step, part, name, "", "", "", a.item())
        return
    for idx in np.ndindex(a.shape):
        val = a[idx].item()
        if part == "probe":
            t, unit = idx[0], (idx[1] if len(idx) > 1 else "")
            yield (step, part, name, "", t, unit, val)
        elif name.startswith("whh_singular_values"):
            yield (step, part, name, idx[0], "", idx[1], val)
        elif len(idx) == 2:
            yield (step, part, name, idx[0], idx[1], "", val)
        else:
            yield (step, part, name, idx[0], idx[1], idx[2] if len(idx) > 2 else "", val)


def export_step(
    path: str | os.PathLike[str],
    step: int,
    fmt: str,
    out_path: str | os.PathLike[str],
    *,
    branch: int | str | None = None,
) -> Path:
    """Write step ``step``'s arrays as ``fmt`` (npz | csv) to ``out_path``; returns the path written."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    out = Path(out_path)
    with Session.open(path, branch=branch) as s:
        n = len(s)
        if not 0 <= step < n:
            raise SessionError(s.path, f"has no step {step} on branch {s.branch.name!r} (steps 0..{n - 1})")
        arrays = record_arrays(s.record(step))
    tmp = out.with_name(out.name + ".part")
    try:
        if fmt == "npz":
            with tmp.open("wb") as fh:
                np.savez(fh, **arrays)  # type: ignore[arg-type]
        else:
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            writer.writerow(("step", "part", "array", "layer", "t", "unit", "value"))
            for key, arr in arrays.items():
                if key != "step":
                    writer.writerows(_csv_rows(step, key, arr))
            tmp.write_text(buf.getvalue())
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SessionError(out, f"cannot write the export: {exc.strerror or exc}") from None
    return out
