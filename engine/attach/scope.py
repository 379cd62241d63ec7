"""``attach(model)``: put rnnscope's instrumented recurrences into the user's own model.

Every nn.RNN / nn.LSTM / nn.GRU submodule is replaced in place by an ``AttachedRNN`` holding the
same Parameter objects (engine.attach.layer), so the user's loop, optimizer, clipping,
``model.to(device)`` and ``torch.save`` go on unchanged; ``scope.detach()`` puts the original
modules back. A module rnnscope cannot stand in for is refused by its path and attribute
(``strict=False``: the others are attached and a warning lists it). A model with no recurrent
module, a model attached twice, or a bare nn.LSTM (no parent to replace it in) is an error.

What a scope shows today: after a backward, ``gradient_norms()`` gives per attached module the
batch mean of ||dL/dh_t|| (and ||dL/dc_t||) per layer, direction and timestep, from the
recurrences' own backward (no hooks, no extra pass). Recording into a session file, following
the run in the window and pausing it from there come with issue 14's next steps.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from torch import nn

from rnnscope.engine.attach.layer import AttachedRNN, AttachError, check_attachable

MARK = "_rnnscope_scope"


@dataclass
class Scope:
    model: nn.Module
    modules: dict[str, AttachedRNN] = field(default_factory=dict)  # path -> attached layer
    skipped: dict[str, str] = field(default_factory=dict)  # path -> why (strict=False)

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
        for path, m in self.modules.items():
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


def attach(model: nn.Module, *, strict: bool = True) -> Scope:
    if getattr(model, MARK, None) is not None:
        raise AttachError("this model is attached already: detach() its scope first")
    if isinstance(model, nn.RNNBase):
        raise AttachError(
            f"a bare {type(model).__name__} cannot be replaced in place: attach the model that holds it"
        )
    found = [(path, m) for path, m in model.named_modules() if isinstance(m, (nn.RNNBase, AttachedRNN))]
    if not found:
        raise AttachError(f"{type(model).__name__} holds no nn.RNN, nn.LSTM or nn.GRU to attach to")
    scope = Scope(model)
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
