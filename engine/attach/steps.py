"""One recorded step of an attached model: the StepRecord that rnnscope's own runs write.

Built at the end of a backward pass through the attached layers (torch's execution engine
runs a queued callback once every gradient of that backward is accumulated, before the
user's ``opt.step()``): the gradient norms per layer and timestep, the global gradient norm
(before the user's clipping), the learning rate read from the optimizer, and on probe steps
the frame of sample 0 of the batch (gates, states, dL/dh_t, singular values of W_hh, the
recurrence gain), all through engine.frames.part_record, the code the Trainer uses.

Parts: one per attached module and direction, named by the module's path in the model
(``encoder.lstm``; the reverse direction of a bidirectional one is ``encoder.lstm.reverse``,
its time axis in processing order: t = 0 is each sequence's last step). Calls of a module in
one step (a decoder that calls its nn.LSTM once per timestep) are joined along time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from rnnscope.engine.attach.layer import AttachedRNN, Call
from rnnscope.engine.cells import Capture
from rnnscope.engine.diagnostics import gradient_norm, locate_nonfinite
from rnnscope.engine.frames import part_record
from rnnscope.engine.record import NonFinite, PartRecord, StepRecord

PROBE = 0  # the sample of the batch a frame shows
METRIC = "none"  # an attached run has no task metric; the loss is the user's
_FIELDS = ("act", "h", "c", "tanh_c", "hp", "dh", "dc")


@dataclass
class _Direction:
    """What part_record reads of a stack, for one direction of an attached module."""

    module: AttachedRNN
    direction: int

    @property
    def cell(self) -> str:
        return self.module.cell

    @property
    def hidden_size(self) -> int:
        return self.module.hidden_size

    @property
    def layers(self) -> int:
        return self.module.num_layers

    def params(self, layer: int) -> tuple[Tensor, Tensor, Tensor | None, Tensor]:
        return self.module._params(layer, self.direction)


def part_name(path: str, direction: int) -> str:
    return path + (".reverse" if direction else "")


def _join(caps: list[Capture]) -> Capture:
    """The captures of consecutive calls as one, along time (h0/c0 of the first call)."""
    if len(caps) == 1:
        return caps[0]
    out = Capture(h0=caps[0].h0, c0=caps[0].c0)
    for f in _FIELDS:
        pieces = [getattr(c, f) for c in caps]
        if all(p is not None for p in pieces):
            setattr(out, f, torch.cat(pieces, dim=0))
    return out


def _valid(calls: list[Call]) -> Tensor | None:
    """(T, B) which steps are real (t < the sequence's length) over the calls joined along time;
    None when every call is of full length."""
    if all(c.lengths is None for c in calls):
        return None
    masks = []
    for c in calls:
        T, B = c.first_input.shape[:2]
        t = torch.arange(T, device=c.first_input.device)[:, None]
        n = torch.full((B,), T) if c.lengths is None else c.lengths
        masks.append(t < n.to(t.device)[None, :])
    return torch.cat(masks)


def backpropagated(module: AttachedRNN) -> list[Call]:
    """The module's calls that the backward just reached (removed from it), in call order;
    of one batch size (the first's): calls of another batch in the same step are left out."""
    done = [c for c in module.calls if c.captures[0][0].dh is not None]
    module.calls = [c for c in module.calls if c.captures[0][0].dh is None]
    if done:
        b = done[0].first_input.shape[1]
        done = [c for c in done if c.first_input.shape[1] == b]
    return done


def total_grad_norm(params: Sequence[Tensor]) -> float:
    """The global gradient norm over every parameter holding a gradient (NaN: none has one)."""
    grads = [p.grad for p in params if p.grad is not None]
    return float(gradient_norm(grads)) if grads else math.nan


def learning_rate(optimizer: Any) -> float:
    if optimizer is None:
        return math.nan
    try:
        return float(optimizer.param_groups[0]["lr"])
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return math.nan


def build(
    step: int,
    model: nn.Module,
    done: dict[str, list[Call]],
    modules: dict[str, AttachedRNN],
    optimizer: Any,
    probe: bool,
    started: float,
) -> StepRecord:
    """The record of the step whose backward just finished (``done``: path -> its calls)."""
    parts: dict[str, PartRecord] = {}
    captures: dict[str, list[Capture]] = {}
    with torch.no_grad():
        for path, calls in done.items():
            m = modules[path]
            valid = _valid(calls)
            lengths = calls[0].lengths
            probe_length = None if lengths is None else int(lengths[PROBE])
            for d in range(m.directions):
                name = part_name(path, d)
                captures[name] = [
                    _join([c.captures[layer][d] for c in calls]) for layer in range(m.num_layers)
                ]
                parts[name] = part_record(
                    _Direction(m, d), captures[name], valid, PROBE if probe else None, probe_length
                )
        params = list(model.parameters())
        norm = total_grad_norm(params)
    nonfinite = None
    if not math.isfinite(norm):
        named: list[tuple[str, Tensor]] = list(model.named_parameters())
        nonfinite = locate_nonfinite(captures, torch.zeros(()), [(n, p.grad) for n, p in named], named)
        if nonfinite is None:
            nonfinite = NonFinite("gradient", detail="global gradient norm overflowed (elements finite)")
    return StepRecord(
        step=step,
        loss=math.nan,  # scope.step(loss) fills it in
        metric=math.nan,
        metric_name=METRIC,
        grad_norm=norm,
        grad_norm_clipped=norm,  # scope.step() measures again after the user's clipping
        lr=learning_rate(optimizer),
        clip_threshold=None,
        parts=parts,
        probe_index=PROBE,
        nonfinite=nonfinite,
        step_time=time.perf_counter() - started,
    )
