"""Turn one step's captures into the numpy parts of a StepRecord.

The summary (every step) costs a few vectorised reductions per layer; the frame (probe
steps) slices one sample out of tensors the forward and backward already hold. Arrays
leave the device once, at the end.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from rnnscope.engine.cells import Capture
from rnnscope.engine.diagnostics import jacobian_norms, masked_batch_mean_norm, whh_singular_values
from rnnscope.engine.record import GATE_NAMES, PartRecord


class Stack(Protocol):
    """What a part's record reads of its recurrent stack (a RecurrentStack, or one direction of
    an attached module: engine.attach.steps)."""

    @property
    def cell(self) -> str: ...
    @property
    def hidden_size(self) -> int: ...
    @property
    def layers(self) -> int: ...
    def params(self, layer: int) -> tuple[Tensor, Tensor, Tensor | None, Tensor]: ...


def _np(x: Tensor) -> np.ndarray:
    return x.detach().to("cpu", torch.float32).numpy()


def _np64(x: Tensor) -> np.ndarray:
    """Gradient norms stay float64 (they span more decades than float32 holds), except under
    numerics revision 1, whose files stored them as float32."""
    return x.detach().to("cpu", x.dtype).numpy()


def part_record(
    stack: Stack,
    caps: list[Capture],
    valid: Tensor | None,  # (T, B) bool, None = every position valid
    probe: int | None,  # sample index to take a frame of, or None
    probe_length: int | None = None,
) -> PartRecord:
    cell = stack.cell
    H = stack.hidden_size
    assert caps[0].h is not None
    T = caps[0].h.shape[0]
    with torch.no_grad():
        h_norm = torch.stack([masked_batch_mean_norm(c.dh, valid) for c in caps if c.dh is not None])
        c_norm = None
        if cell == "lstm":
            c_norm = torch.stack([masked_batch_mean_norm(c.dc, valid) for c in caps if c.dc is not None])
        rec = PartRecord(
            cell_type=cell,
            length=T,
            h_grad_norm=_np64(h_norm),
            c_grad_norm=None if c_norm is None else _np64(c_norm),
        )
        if probe is None:
            return rec
        blocks = max(1, len(GATE_NAMES[cell]))
        sv = [whh_singular_values(stack.params(layer)[1], blocks) for layer in range(stack.layers)]
        rec.whh_singular_values = _np(torch.stack([stacked for stacked, _ in sv]))
        rec.whh_block_singular_values = _np(torch.stack([per_gate for _, per_gate in sv]))
        b = probe
        gates: dict[str, np.ndarray] = {}
        names = GATE_NAMES[cell]
        if names:
            per_layer = [c.act[:, b].reshape(T, len(names), H) for c in caps if c.act is not None]
            stacked = _np(torch.stack(per_layer))  # (L, T, G, H)
            gates = {n: np.ascontiguousarray(stacked[:, :, k]) for k, n in enumerate(names)}
        rec.gates = gates
        rec.hidden = _np(torch.stack([c.h[:, b] for c in caps if c.h is not None]))
        rec.h_grad = _np(torch.stack([c.dh[:, b] for c in caps if c.dh is not None]))
        if cell == "lstm":
            rec.cell = _np(torch.stack([c.c[:, b] for c in caps if c.c is not None]))
            rec.c_grad = _np(torch.stack([c.dc[:, b] for c in caps if c.dc is not None]))
        rec.jacobian_norm = _np(
            torch.stack([jacobian_norms(cell, c, b, stack.params(layer)[1]) for layer, c in enumerate(caps)])
        )
        rec.probe_length = T if probe_length is None else probe_length
    return rec
