"""``attach(model)``: put rnnscope's instrumented recurrences into the user's own model.

Every nn.RNN / nn.LSTM / nn.GRU submodule is replaced in place by an ``AttachedRNN`` holding the
same Parameter objects (engine.attach.layer), so the user's loop, optimizer, clipping,
``model.to(device)`` and ``torch.save`` go on unchanged; ``scope.detach()`` puts the original
modules back. A module rnnscope cannot stand in for is refused by its path and attribute
(``strict=False``: the others are attached and a warning lists it). A model with no recurrent
module, a model attached twice, or a bare nn.LSTM (no parent to replace it in) is an error.

Steps: a step is one backward pass through the attached layers. A gradient hook on the
recurrences' outputs queues a callback on torch's execution engine, which runs once that
backward has accumulated every gradient (before the user's ``opt.step()``); it builds the
step's StepRecord (engine.attach.steps). ``scope.step(loss)`` names the step's loss, measures
the gradient norm again after the user's clipping and hands the record to the listeners
(sessions.attached writes it to a session file); without ``step()`` calls a record is handed
on when the next one is made, or at ``close()``. Forwards in eval mode or under no_grad record
nothing. ``gradient_norms()`` gives the last backward's ||dL/dh_t|| per module without any
listener.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from rnnscope.engine.attach import steps
from rnnscope.engine.attach.layer import AttachedRNN, AttachError, check_attachable
from rnnscope.engine.record import StepRecord

MARK = "_rnnscope_scope"


class Listener(Protocol):
    """Who takes a scope's steps (sessions.attached.Recording)."""

    def wants_frame(self, step: int) -> bool: ...
    def wants_weights(self, step: int) -> bool: ...
    def took(self, rec: StepRecord, weights: dict[str, Tensor] | None) -> None: ...
    def between_steps(self, step: int) -> None: ...  # after a step is handed on: pause here


_engine: Any = torch.autograd.Variable._execution_engine  # queue_callback: run at the end of a backward


@dataclass
class Scope:
    model: nn.Module
    modules: dict[str, AttachedRNN] = field(default_factory=dict)  # path -> attached layer
    skipped: dict[str, str] = field(default_factory=dict)  # path -> why (strict=False)
    optimizer: Any = None  # where the learning rate is read
    listeners: list[Listener] = field(default_factory=list)
    steps: int = 0  # steps recorded (the next step's index)
    pending: tuple[StepRecord, dict[str, Tensor] | None] | None = None  # made, not handed on yet
    _queued: bool = False
    _started: float = field(default_factory=time.perf_counter)
    errors: list[str] = field(default_factory=list)  # what went wrong in a callback (never raised into torch)

    # ------------------------------------------------------------------ hooks
    def _on_call(self, module: AttachedRNN, outputs: list[Tensor]) -> None:
        if self.pending is not None:  # the user's loop did not call step(): the next forward ends it
            self._hand_on()
        for t in outputs:
            if t.requires_grad:
                t.register_hook(self._reached)

    def _reached(self, grad: Tensor) -> None:
        if not self._queued:
            self._queued = True
            _engine.queue_callback(self._backward_done)

    def _backward_done(self) -> None:
        self._queued = False
        done = {p: calls for p, m in self.modules.items() if (calls := steps.backpropagated(m))}
        if not done:
            return
        if self.pending is not None:
            self._hand_on()
        k = self.steps
        try:
            rec = steps.build(
                k,
                self.model,
                done,
                self.modules,
                self.optimizer,
                any(li.wants_frame(k) for li in self.listeners),
                self._started,
            )
            weights = self.weights() if any(li.wants_weights(k) for li in self.listeners) else None
        except Exception as exc:  # never break the user's backward; say it once
            self._fail(f"step {k} could not be measured: {type(exc).__name__}: {exc}")
            return
        self.steps += 1
        self.pending = (rec, weights)

    def _fail(self, why: str) -> None:
        if why not in self.errors:
            self.errors.append(why)
            warnings.warn(f"rnnscope: {why}", RuntimeWarning, stacklevel=2)

    def _hand_on(self) -> None:
        assert self.pending is not None
        rec, weights = self.pending
        self.pending = None
        for li in self.listeners:
            li.took(rec, weights)
        self._started = time.perf_counter()
        for li in self.listeners:
            li.between_steps(self.steps)

    # ------------------------------------------------------------------ user side
    def step(self, loss: Tensor | float | None = None) -> StepRecord | None:
        """End the step whose backward just ran: its ``loss`` (a tensor or a number), the
        gradient norm as the optimizer saw it (after the user's clipping). Returns its record
        (None when no backward through the attached layers ran since the last step); a window
        that paused the run holds the loop here."""
        if self.pending is None:
            return None
        rec = self.pending[0]
        if loss is not None:
            rec.loss = float(loss.detach()) if isinstance(loss, Tensor) else float(loss)
        with torch.no_grad():
            clipped = steps.total_grad_norm(list(self.model.parameters()))
        # NaN: the grads are gone (zero_grad() before step()); 0 from a non-zero gradient: they
        # were zeroed in place; either way the norm the optimizer saw is unknown: keep the measured one
        if math.isfinite(clipped) and (clipped > 0 or rec.grad_norm == 0):
            rec.grad_norm_clipped = clipped
        self._hand_on()
        return rec

    def weights(self) -> dict[str, Tensor]:
        """The attached layers' parameters now, as state_dict entries of the model (copies)."""
        return {
            f"{path}.{name}": p.detach().clone()
            for path, m in self.modules.items()
            for name, p in m._parameters.items()
            if p is not None
        }

    def close(self) -> None:
        """Hand on the last step's record (if step() was not called for it)."""
        if self.pending is not None:
            self._hand_on()

    def gradient_norms(self, cell: bool = False) -> dict[str, np.ndarray | None]:
        """path -> (layers, directions, T) batch mean of ||dL/dh_t|| (``cell``: dL/dc_t, LSTM)
        of the last forward and backward; None before a backward (or for c of a GRU/RNN)."""
        out: dict[str, np.ndarray | None] = {}
        for path, m in self.modules.items():
            grads = [[(c.dc if cell else c.dh) for c in layer] for layer in m.last_captures]
            if not grads or any(g is None for layer in grads for g in layer):
                out[path] = None
                continue
            out[path] = np.array(
                [
                    [
                        g.detach().float().norm(dim=-1).mean(dim=1).cpu().numpy()
                        for g in layer
                        if g is not None
                    ]
                    for layer in grads
                ]
            )
        return out

    def detach(self) -> None:
        """Put the original modules back (the same Parameter objects, trained as they are)."""
        self.close()
        for path, m in self.modules.items():
            m.on_call = None
            m.calls = []
            parent, name = _parent(self.model, path)
            original: nn.Module = m.original  # type: ignore[assignment]
            setattr(parent, name, original)
            original.train(m.training)
        self.modules = {}
        if getattr(self.model, MARK, None) is self:
            delattr(self.model, MARK)


def _parent(model: nn.Module, path: str) -> tuple[nn.Module, str]:
    head, _, name = path.rpartition(".")
    return (model.get_submodule(head) if head else model), name


def attach(model: nn.Module, *, strict: bool = True, optimizer: Any = None) -> Scope:
    if getattr(model, MARK, None) is not None:
        raise AttachError("this model is attached already: detach() its scope first")
    if isinstance(model, nn.RNNBase):
        raise AttachError(
            f"a bare {type(model).__name__} cannot be replaced in place: attach the model that holds it"
        )
    found = [(path, m) for path, m in model.named_modules() if isinstance(m, (nn.RNNBase, AttachedRNN))]
    if not found:
        raise AttachError(f"{type(model).__name__} holds no nn.RNN, nn.LSTM or nn.GRU to attach to")
    scope = Scope(model, optimizer=optimizer)
    problems: dict[str, str] = {}
    for path, m in found:
        if isinstance(m, AttachedRNN):
            raise AttachError(f"{path} is attached already (another scope): detach it first")
        try:
            check_attachable(m, path)
        except AttachError as exc:
            problems[path] = str(exc)
    if problems and strict:
        raise AttachError("; ".join(problems.values()))
    for path, m in found:
        if path in problems:
            continue
        parent, name = _parent(model, path)
        assert isinstance(m, nn.RNNBase)
        attached = AttachedRNN(m, path)
        attached.on_call = scope._on_call
        setattr(parent, name, attached)
        scope.modules[path] = attached
    if problems:
        scope.skipped = problems
        warnings.warn(
            "rnnscope attached what it could; left as they are: " + "; ".join(problems.values()), stacklevel=2
        )
    if not scope.modules:
        raise AttachError("nothing could be attached: " + "; ".join(problems.values()))
    object.__setattr__(model, MARK, scope)
    return scope
