"""Export: the window or a panel as PNG, the shown step's data and the gradient-flow matrix
as NPZ or CSV.

``record_arrays`` flattens a StepRecord into named numpy arrays (``rnn/gates/f`` is
(L, T, H), ``loss`` a 0-d array ...); NPZ stores them as they are, CSV as a long table
``array,layer,t,unit,value`` (one row per number) that any spreadsheet reads.
``gradient_flow_arrays`` takes a session's Summaries: ||dL/dh_t|| (and ||dL/dc_t||) of
every step as (steps, timesteps, layers) per part; CSV ``part,step,t,layer,h_grad_norm,
c_grad_norm``. The writers are Qt-free; the window runs them on its loader thread.
PNG rendering (at a chosen size) lives in ``gui.snapshot``.
"""

from __future__ import annotations

import csv
import os
from typing import Any

import numpy as np

from sessions.cli import record_arrays  # one naming of a record's arrays, for the CLI and the window


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
            elif a.ndim == 2 and name.rpartition("/")[2].startswith("whh_singular_values"):
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


def gradient_flow_arrays(summ: Any) -> dict[str, np.ndarray]:
    """The gradient-flow matrix of a branch: ``step`` (N,), and per part ``<part>/h_grad_norm``
    (N, T, L) = batch mean ||dL/dh_t|| at step n, timestep t, layer l (``c_grad_norm`` for LSTM)."""
    out: dict[str, np.ndarray] = {"step": np.asarray(summ.step)}
    for name, part in summ.parts.items():
        out[f"{name}/h_grad_norm"] = np.ascontiguousarray(np.asarray(part.h_grad_norm).transpose(0, 2, 1))
        if part.c_grad_norm is not None:
            out[f"{name}/c_grad_norm"] = np.ascontiguousarray(np.asarray(part.c_grad_norm).transpose(0, 2, 1))
    return out


def write_gradient_flow_npz(summ: Any, path: str | os.PathLike[str]) -> None:
    arrays = gradient_flow_arrays(summ)
    np.savez_compressed(path, **{k.replace("/", "__"): v for k, v in arrays.items()})


def write_gradient_flow_csv(summ: Any, path: str | os.PathLike[str]) -> None:
    """One row per (part, step, t, layer); c_grad_norm is empty for cells without one."""
    arrays = gradient_flow_arrays(summ)
    steps = arrays["step"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["part", "step", "t", "layer", "h_grad_norm", "c_grad_norm"])
        for name in summ.parts:
            h = arrays[f"{name}/h_grad_norm"]
            c = arrays.get(f"{name}/c_grad_norm")
            for (i, t, layer), v in np.ndenumerate(h):
                cv = "" if c is None else _num(c[i, t, layer])
                w.writerow([name, int(steps[i]), t, layer, _num(v), cv])


def save_png(widget: Any, path: str | os.PathLike[str], size: tuple[int, int] | None = None) -> bool:
    """Render ``widget`` (and its children) to a PNG of ``size`` (width, height; default its own);
    False if it could not be written."""
    from gui.snapshot import save_png as render_png

    return render_png(widget, path, size)
