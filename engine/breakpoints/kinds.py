"""Breakpoint kinds: one :class:`Kind` object per kind, in one registry (:data:`KINDS`).

A kind says everything about itself in one place: its name, the label of the "add
breakpoint" menu, its default threshold (None: it takes none), whether it needs a probe frame
or an expression, how it describes itself and how it checks a record. :func:`register_kind`
adds one (as pyqtgraph's ``registerParameterType`` adds a parameter type). Built in:

=====================  ===========================================================
``nonfinite``          a NaN/Inf in the loss or the gradient (on by default). Hits when
                       ``record.nonfinite`` is set, when the loss or the global gradient
                       norm is not finite (the norm of finite but huge gradients can
                       overflow to inf), or when a per-timestep norm ``h_grad_norm`` /
                       ``c_grad_norm`` is +-inf. Where: ``record.nonfinite`` (part, layer,
                       timestep), else the latest timestep whose norm is inf (the first
                       one the backward pass met), top layer first.
``grad_norm_above``    global gradient norm *before* clipping > threshold (inf counts).
``loss_above``         loss > threshold (inf counts; NaN is the ``nonfinite`` kind's job).
``forget_gate_below``  mean LSTM forget gate of the probe sample (over its valid timesteps
                       and all units) < threshold, per layer (``layer`` None: any layer).
                       Needs a probe frame (``needs_frame``): on steps without one the
                       breakpoint cannot be evaluated and does not hit; the caller forces a
                       frame with ``Trainer.step(probe=True)``.
``grad_ratio_below``   ||dL/dh_first|| / ||dL/dh_last|| < threshold, from ``h_grad_norm``
                       (batch mean norms) of the top layer (or ``layer``): first = index 0,
                       last = the last timestep. For Seq2Seq the concatenated
                       ``record.h_grad_norm`` (encoder then decoder) is used, so first is the
                       encoder's t=0 and last the decoder's last step. Timesteps whose norm
                       is NaN (no sample that long in the batch) are skipped: first/last are
                       the first/last *finite* entries. A zero or non-finite denominator
                       means the ratio is undefined: no hit (``nonfinite`` covers inf/NaN).
``expression``         a condition over record fields in a small safe language (below).
=====================  ===========================================================

"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rnnscope.engine.breakpoints.expression import FieldUnavailable
from rnnscope.engine.record import StepRecord

if TYPE_CHECKING:
    from rnnscope.engine.breakpoints.breakpoint import Breakpoint, Hit


@dataclass(frozen=True)
class Kind:
    """One breakpoint kind. ``default_threshold`` None means the kind takes no threshold;
    ``check`` returns the hit on a record or None (``bp.make_hit`` builds it)."""

    name: str
    label: str  # the "add breakpoint" menu's text
    default_threshold: float | None
    describe: Callable[[Breakpoint], str]
    check: Callable[[Breakpoint, StepRecord], Hit | None]
    needs_frame: bool = False  # reads probe-frame fields whatever its settings
    takes_expression: bool = False

    @property
    def takes_threshold(self) -> bool:
        return self.default_threshold is not None


KINDS: dict[str, Kind] = {}


def register_kind(kind: Kind) -> Kind:
    """Add ``kind`` (ValueError when its name is taken)."""
    if kind.name in KINDS:
        raise ValueError(f"a breakpoint kind {kind.name!r} is already registered")
    KINDS[kind.name] = kind
    return kind


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _layer(bp: Breakpoint) -> str:
    return "" if bp.layer is None else f" (layer {bp.layer})"


def _nonfinite(bp: Breakpoint, record: StepRecord) -> Hit | None:
    nf = record.nonfinite
    loss, norm = record.loss, record.grad_norm
    if nf is not None:
        value = loss if not math.isfinite(loss) else norm
        bits = [nf.part, None if nf.layer is None else f"layer {nf.layer}"]
        bits += [None if nf.timestep is None else f"t={nf.timestep}", nf.detail]
        return bp.make_hit(
            record,
            value,
            f"NaN/Inf in the {nf.where}",
            part=nf.part,
            layer=nf.layer,
            timestep=nf.timestep,
            where=", ".join(b for b in bits if b),
        )
    if not math.isfinite(loss):
        return bp.make_hit(record, loss, f"loss is {loss}")
    if not math.isfinite(norm):
        return bp.make_hit(record, norm, f"gradient norm is {norm} (the norm overflowed)")
    for what, arr in (("||dL/dh_t||", record.h_grad_norm), ("||dL/dc_t||", record.c_grad_norm)):
        if arr is None:
            continue
        bad = np.isinf(arr)
        if bad.any():
            part, layer, t = _locate_latest(record, bad)
            return bp.make_hit(
                record,
                float(arr[layer, _concat_index(record, part, t)]),
                f"{what} overflowed to inf",
                part=part,
                layer=layer,
                timestep=t,
            )
    return None


def _grad_norm_above(bp: Breakpoint, record: StepRecord) -> Hit | None:
    assert bp.threshold is not None
    v = record.grad_norm
    if v > bp.threshold:
        extra = ""
        if record.clip_threshold is not None:
            extra = f", clipped to {_fmt(record.grad_norm_clipped)}"
        return bp.make_hit(record, v, f"gradient norm {_fmt(v)} > {bp.threshold:g}{extra}")
    return None


def _loss_above(bp: Breakpoint, record: StepRecord) -> Hit | None:
    assert bp.threshold is not None
    v = record.loss
    if v > bp.threshold:
        return bp.make_hit(record, v, f"loss {_fmt(v)} > {bp.threshold:g}")
    return None


def _forget_gate_below(bp: Breakpoint, record: StepRecord) -> Hit | None:
    assert bp.threshold is not None
    worst: tuple[float, str, int] | None = None
    for name, part in record.parts.items():
        gate = None if part.gates is None else part.gates.get("f")
        if gate is None:
            continue
        n = part.probe_length if part.probe_length is not None else gate.shape[1]
        layers = range(gate.shape[0]) if bp.layer is None else [bp.layer]
        for layer in layers:
            if layer >= gate.shape[0]:
                continue
            values = gate[layer, :n]
            if values.size == 0:
                continue
            mean = float(np.mean(values))
            if math.isfinite(mean) and (worst is None or mean < worst[0]):
                worst = (mean, name, layer)
    if worst is None or not worst[0] < bp.threshold:
        return None
    mean, part_name, layer = worst
    part_label = part_name if len(record.parts) > 1 else None
    return bp.make_hit(
        record, mean, f"mean forget gate {mean:.3f} < {bp.threshold:g}", part=part_label, layer=layer
    )


def _grad_ratio_below(bp: Breakpoint, record: StepRecord) -> Hit | None:
    assert bp.threshold is not None
    norms = record.h_grad_norm
    layer = norms.shape[0] - 1 if bp.layer is None else bp.layer
    if layer >= norms.shape[0]:
        return None
    row = np.asarray(norms[layer], dtype=np.float64)
    valid = np.flatnonzero(~np.isnan(row))
    if valid.size < 2:
        return None
    first, last = int(valid[0]), int(valid[-1])
    num, den = row[first], row[last]
    if not (math.isfinite(num) and math.isfinite(den)) or den <= 0.0:
        return None
    ratio = float(num / den)
    if ratio < bp.threshold:
        return bp.make_hit(
            record,
            ratio,
            f"||dL/dh_{first}|| / ||dL/dh_{last}|| = {ratio:.3g} < {bp.threshold:g}",
            layer=layer,
            where=f"layer {layer}, t={first} vs t={last}",
        )
    return None


def _expression(bp: Breakpoint, record: StepRecord) -> Hit | None:
    assert bp.parsed is not None
    try:
        holds, value = bp.parsed.evaluate(record)
    except FieldUnavailable:
        return None  # not evaluable on this record (no frame, no such gate)
    except Exception as exc:
        msg = f"{type(exc).__name__}: {exc}"
        return bp.make_hit(record, None, f"breakpoint expression failed: {msg}", error=msg)
    if not holds:
        return None
    shown = "" if value is None else f" (left side = {_fmt(value)})"
    return bp.make_hit(record, value, f"{bp.expression}{shown}")


def _concat_index(record: StepRecord, part: str | None, t: int) -> int:
    if part is None:
        return t
    return record.part_slices[part].start + t


def _locate_latest(record: StepRecord, bad: np.ndarray) -> tuple[str | None, int, int]:
    """(part, layer, t) of the latest bad timestep, top layer first (the first place the
    backward pass meets); ``part`` is None for single-part models."""
    for layer in range(bad.shape[0] - 1, -1, -1):
        idx = np.flatnonzero(bad[layer])
        if idx.size:
            t = int(idx[-1])
            if len(record.parts) == 1:
                return None, layer, t
            for name, sl in record.part_slices.items():
                if sl.start <= t < sl.stop:
                    return name, layer, t - sl.start
    raise AssertionError("no bad entry")


register_kind(
    Kind(
        "nonfinite",
        "non-finite loss or gradient (NaN/Inf)",
        None,
        lambda bp: "non-finite loss or gradient",
        _nonfinite,
    )
)
register_kind(
    Kind(
        "grad_norm_above",
        "gradient norm (before clipping) >",
        1000.0,
        lambda bp: f"grad norm > {bp.threshold:g}",
        _grad_norm_above,
    )
)
register_kind(Kind("loss_above", "loss >", 10.0, lambda bp: f"loss > {bp.threshold:g}", _loss_above))
register_kind(
    Kind(
        "forget_gate_below",
        "mean forget gate <",
        0.2,
        lambda bp: f"mean forget gate < {bp.threshold:g}{_layer(bp)}",
        _forget_gate_below,
        needs_frame=True,
    )
)
register_kind(
    Kind(
        "grad_ratio_below",
        "||dL/dh_first|| / ||dL/dh_last|| <",
        1e-6,
        lambda bp: f"||dL/dh_first|| / ||dL/dh_last|| < {bp.threshold:g}{_layer(bp)}",
        _grad_ratio_below,
    )
)
register_kind(
    Kind("expression", "expression", None, lambda bp: f"{bp.expression}", _expression, takes_expression=True)
)
