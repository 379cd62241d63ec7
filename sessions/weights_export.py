"""The weights of a recorded step, in PyTorch's own formats (``main.py export --format state_dict``).

``write_weights(model, base, fmt)`` writes, for ``state_dict``: one ``<base>.pt`` per recurrent
part (``<base>.<part>.pt`` for Seq2Seq) keyed as nn.RNN/LSTM/GRU key their tensors, so that
``nn.LSTM(input_size, hidden_size, num_layers).load_state_dict(torch.load(f), strict=True)``
takes it, and ``<base>.model.pt`` with every tensor of the model (embedding, stacks, read-out);
for ``safetensors``: ``<base>.safetensors`` with every tensor. Each file is written atomically
(sessions.export). All load with ``torch.load(weights_only=True)`` / safetensors: no pickle.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

from rnnscope.engine.weights import export_state_dict, strip_part
from rnnscope.sessions.export import _atomic

WEIGHT_FORMATS = ("state_dict", "safetensors")


def _saver(tensors: dict[str, torch.Tensor]) -> Callable[[IO[Any]], None]:
    def save(fh: IO[Any]) -> None:
        torch.save(tensors, fh)

    return save


def write_weights(model: Any, base: str | os.PathLike[str], fmt: str) -> list[Path]:
    if fmt not in WEIGHT_FORMATS:
        raise ValueError(f"weights format must be one of {', '.join(WEIGHT_FORMATS)}; got {fmt!r}")
    base = Path(base)
    full = export_state_dict(model)  # copies: tied weights are separate tensors in it
    if fmt == "safetensors":
        from safetensors.torch import save

        blob = save(full)
        return [_atomic(base.with_name(base.name + ".safetensors"), "wb", lambda fh: fh.write(blob))]
    parts = list(model.stacks())
    written = []
    for part in parts:
        name = base.name + (f".{part}" if len(parts) > 1 else "") + ".pt"
        written.append(_atomic(base.with_name(name), "wb", _saver(strip_part(full, part))))
    written.append(_atomic(base.with_name(base.name + ".model.pt"), "wb", _saver(full)))
    return written


def write_attached_weights(
    weights: dict[str, torch.Tensor], base: str | os.PathLike[str], fmt: str
) -> list[Path]:
    """An attached run's stored weights (keys of the user's model): ``<base>.pt`` (or
    ``.safetensors``) with all of them, loadable with ``model.load_state_dict(..., strict=False)``,
    and for ``state_dict`` one ``<base>.<module path>.pt`` per attached module that the module
    itself (an nn.LSTM ...) loads strictly."""
    if fmt not in WEIGHT_FORMATS:
        raise ValueError(f"weights format must be one of {', '.join(WEIGHT_FORMATS)}; got {fmt!r}")
    base = Path(base)
    full = {k: v.contiguous() for k, v in weights.items()}
    if fmt == "safetensors":
        from safetensors.torch import save

        blob = save(full)
        return [_atomic(base.with_name(base.name + ".safetensors"), "wb", lambda fh: fh.write(blob))]
    modules = sorted({k.rsplit(".", 1)[0] for k in full})
    written = [_atomic(base.with_name(base.name + ".pt"), "wb", _saver(full))]
    for path in modules:
        own = {k[len(path) + 1 :]: v for k, v in full.items() if k.rsplit(".", 1)[0] == path}
        written.append(_atomic(base.with_name(f"{base.name}.{path}.pt"), "wb", _saver(own)))
    return written


def write_step_weights(
    session: Any, step: int, base: str | os.PathLike[str], fmt: str, *, branch: int | str | None = None
) -> list[Path]:
    """The weights at the start of step ``step`` of an open sessions.Session (``step`` = the step
    count: after the last step), as files: an attached run's stored weights (a checkpointed step
    only; SessionError naming the nearest ones), or rnnscope's own model rebuilt by replay."""
    from rnnscope.sessions.errors import SessionError

    if session.external:
        return write_attached_weights(session.weights_at(step), base, fmt)
    n = session.length(branch)
    if not 0 <= step <= n:
        name = session.branch.name if branch is None else branch
        raise SessionError(session.path, f"has no step {step} on branch {name!r} (weights at 0..{n})")
    return write_weights(session.trainer_at(step, branch=branch).model, base, fmt)
