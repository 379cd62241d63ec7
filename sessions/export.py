"""Export: one step's arrays, or a branch's gradient-flow matrix, as NPZ or CSV.

One module behind both File > Export in the window and ``main.py export``: one naming, one CSV
layout, and every file written atomically (to ``<name>.part`` first, then renamed), so an
interrupted export never leaves a half-written file under the name asked for.

A step (``write_record``):

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

A branch's gradient-flow matrix (``write_gradient_flow``): ``step`` (N,) and per part
``<part>/h_grad_norm`` (N, T, L) = batch mean ||dL/dh_t|| at step n, timestep t, layer l
(``<part>/c_grad_norm`` for an LSTM); CSV ``part,step,t,layer,h_grad_norm,c_grad_norm``.

Non-finite values are written ``nan``, ``inf``, ``-inf`` in CSV (what numpy and spreadsheets read).
Writing errors raise SessionError naming the file; nothing is left behind.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from rnnscope.engine.record import FRAME_FIELDS, GATE_NAMES, PROBE_FIELDS, StepRecord
from rnnscope.sessions.errors import SessionError
from rnnscope.sessions.summaries import Summaries

FORMATS = ("npz", "csv")
RECORD_CSV_HEADER = ("step", "part", "array", "layer", "t", "unit", "value")
GRADIENT_FLOW_CSV_HEADER = ("part", "step", "t", "layer", "h_grad_norm", "c_grad_norm")


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


def gradient_flow_arrays(summ: Summaries) -> dict[str, np.ndarray]:
    """The gradient-flow matrix of a branch, under the keys documented above."""
    out: dict[str, np.ndarray] = {"step": np.asarray(summ.step)}
    for name, part in summ.parts.items():
        out[f"{name}/h_grad_norm"] = np.ascontiguousarray(np.asarray(part.h_grad_norm).transpose(0, 2, 1))
        if part.c_grad_norm is not None:
            out[f"{name}/c_grad_norm"] = np.ascontiguousarray(np.asarray(part.c_grad_norm).transpose(0, 2, 1))
    return out


def write_record(rec: StepRecord, path: str | os.PathLike[str], fmt: str) -> Path:
    """Write ``rec``'s arrays as ``fmt`` (npz | csv) to ``path`` atomically; returns the path."""
    arrays = record_arrays(rec)
    if _format(fmt) == "npz":
        return _atomic(path, "wb", lambda fh: np.savez_compressed(fh, **arrays))  # type: ignore[arg-type]
    step = int(rec.step)

    def rows(fh: IO[Any]) -> None:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(RECORD_CSV_HEADER)
        for key, arr in arrays.items():
            if key != "step":
                w.writerows(_record_rows(step, key, arr))

    return _atomic(path, "w", rows)


def write_gradient_flow(summ: Summaries, path: str | os.PathLike[str], fmt: str) -> Path:
    """Write a branch's gradient-flow matrix as ``fmt`` (npz | csv) to ``path`` atomically."""
    arrays = gradient_flow_arrays(summ)
    if _format(fmt) == "npz":
        return _atomic(path, "wb", lambda fh: np.savez_compressed(fh, **arrays))  # type: ignore[arg-type]
    steps = arrays["step"]

    def rows(fh: IO[Any]) -> None:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(GRADIENT_FLOW_CSV_HEADER)
        for name in summ.parts:
            h = arrays[f"{name}/h_grad_norm"]
            c = arrays.get(f"{name}/c_grad_norm")
            for (i, t, layer), v in np.ndenumerate(h):
                cv = "" if c is None else _num(c[i, t, layer])
                w.writerow((name, int(steps[i]), t, layer, _num(v), cv))

    return _atomic(path, "w", rows)


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    return fmt


def _atomic(path: str | os.PathLike[str], mode: str, write: Callable[[IO[Any]], Any]) -> Path:
    out = Path(path)
    tmp = out.with_name(out.name + ".part")
    try:
        with open(tmp, mode, newline="" if mode == "w" else None) as fh:
            write(fh)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SessionError(out, f"cannot write the export: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


def _num(v: Any) -> str:
    x = float(v)
    return repr(x) if np.isfinite(x) else ("nan" if np.isnan(x) else ("inf" if x > 0 else "-inf"))


def _record_rows(step: int, key: str, arr: np.ndarray) -> Iterator[tuple[Any, ...]]:
    part, _, name = key.rpartition("/") if "/" in key else ("", "", key)
    if part.endswith("/gates"):
        part, name = part[: -len("/gates")], f"gates/{name}"
    a = np.asarray(arr)
    if a.ndim == 0:
        yield (step, part, name, "", "", "", _value(a.item()))
        return
    for idx in np.ndindex(a.shape):
        val = _value(a[idx].item())
        if part == "probe":
            t, unit = idx[0], (idx[1] if len(idx) > 1 else "")
            yield (step, part, name, "", t, unit, val)
        elif name.startswith("whh_singular_values"):
            yield (step, part, name, idx[0], "", idx[1], val)
        elif len(idx) == 2:
            yield (step, part, name, idx[0], idx[1], "", val)
        else:
            yield (step, part, name, idx[0], idx[1], idx[2] if len(idx) > 2 else "", val)


def _value(v: Any) -> Any:
    return _num(v) if isinstance(v, float) else v
