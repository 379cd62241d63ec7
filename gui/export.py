"""Export: the window or a panel as PNG, the shown step's data as NPZ or CSV.

``record_arrays`` flattens a StepRecord into named numpy arrays (``rnn/gates/f`` is
(L, T, H), ``loss`` a 0-d array ...); NPZ stores them as they are, CSV as a long table
``array,layer,t,unit,value`` (one row per number) that any spreadsheet reads.
The writers are Qt-free; the window runs them on its loader thread.
"""

from __future__ import annotations

import csv
import os
from typing import Any

import numpy as np


def record_arrays(rec: Any) -> dict[str, np.ndarray]:
    """Every number of one StepRecord (summary and frame), by name."""
    out: dict[str, np.ndarray] = {
        "step": np.array(rec.step),
        "loss": np.array(rec.loss),
        "metric": np.array(rec.metric),
        "grad_norm": np.array(rec.grad_norm),
        "grad_norm_clipped": np.array(rec.grad_norm_clipped),
        "lr": np.array(rec.lr),
        "clip_threshold": np.array(np.nan if rec.clip_threshold is None else rec.clip_threshold),
        "probe_index": np.array(rec.probe_index),
    }
    for name, part in rec.parts.items():
        for attr in (
            "h_grad_norm",
            "c_grad_norm",
            "jacobian_norm",
            "whh_singular_values",
            "hidden",
            "cell",
            "h_grad",
            "c_grad",
        ):
            value = getattr(part, attr, None)
            if value is not None:
                out[f"{name}/{attr}"] = np.asarray(value)
        for gate, value in (part.gates or {}).items():
            out[f"{name}/gates/{gate}"] = np.asarray(value)
    if rec.probe is not None:
        for attr in ("input", "target", "prediction", "mask", "free_running", "embedded"):
            value = getattr(rec.probe, attr, None)
            if value is not None:
                out[f"probe/{attr}"] = np.asarray(value)
    return out


def write_npz(rec: Any, path: str | os.PathLike[str]) -> None:
    np.savez_compressed(path, **{k.replace("/", "__"): v for k, v in record_arrays(rec).items()})


def write_csv(rec: Any, path: str | os.PathLike[str]) -> None:
    """Long format: array, layer, t, unit, value. Axes an array lacks are left empty."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["array", "layer", "t", "unit", "value"])
        for name, arr in record_arrays(rec).items():
            a = np.asarray(arr)
            if name.startswith("probe/"):
                flat = a.reshape(a.shape[0], -1) if a.ndim else a.reshape(1, 1)
                for t, row in enumerate(flat):
                    for u, v in enumerate(row):
                        w.writerow([name, "", t, u if flat.shape[1] > 1 else "", _num(v)])
            elif a.ndim == 0:
                w.writerow([name, "", "", "", _num(a)])
            elif a.ndim == 2 and name.endswith("whh_singular_values"):
                for (layer, i), v in np.ndenumerate(a):
                    w.writerow([name, layer, "", i, _num(v)])
            elif a.ndim == 2:
                for (layer, t), v in np.ndenumerate(a):
                    w.writerow([name, layer, t, "", _num(v)])
            elif a.ndim == 3:
                idx = np.indices(a.shape).reshape(3, -1).T
                for (layer, t, u), v in zip(idx, a.reshape(-1), strict=True):
                    w.writerow([name, layer, t, u, _num(v)])


def _num(v: Any) -> str:
    x = float(v)
    return repr(x) if np.isfinite(x) else ("nan" if np.isnan(x) else ("inf" if x > 0 else "-inf"))


def save_png(widget: Any, path: str | os.PathLike[str]) -> bool:
    """Render ``widget`` (and its children) to a PNG; False if it could not be written."""
    return bool(widget.grab().save(str(path), "PNG"))
