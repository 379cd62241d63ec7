"""A user's trained weights in, rnnscope's weights out, in PyTorch's own layout.

In: ``read_weights(path)`` reads a state_dict saved with ``torch.save`` (through
``torch.load(weights_only=True)``: tensors and plain containers only; anything else is refused
and nothing of it runs) or a ``.safetensors`` file. A checkpoint that holds the state_dict under
``state_dict`` / ``model_state_dict`` / ``model`` is looked into. ``plan_import(model, weights)``
maps it onto a run's model: the recurrent stack from the first ``*weight_ih_l0`` prefix
(nn.RNN / nn.LSTM / nn.GRU name their tensors as rnnscope's stack does, gates in the same
order), and the embedding and read-out where a tensor's name and shape fit; every misfit
names the key, the expected and the found shape. ``apply_import`` copies the tensors in.

Out: ``export_state_dict(trainer)`` gives, per recurrent part, the state_dict that
``nn.LSTM(input_size, hidden_size, num_layers).load_state_dict(..., strict=True)`` accepts,
plus the embedding and read-out under their own names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from rnnscope.engine.datasets.errors import DataError

NESTED = ("state_dict", "model_state_dict", "model")
STACK_KEYS = ("weight_ih_l{}", "weight_hh_l{}", "bias_ih_l{}", "bias_hh_l{}")


def _flatten(tree: Any, prefix: str = "") -> dict[str, Tensor]:
    out: dict[str, Tensor] = {}
    if isinstance(tree, Tensor):
        out[prefix.rstrip(".")] = tree
    elif isinstance(tree, dict):
        for k, v in tree.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    return out


def read_weights(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    p = Path(path)
    if not p.is_file():
        raise DataError(p, "no such file" if not p.exists() else "not a file")
    if p.suffix.lower() == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return dict(load_file(str(p), device="cpu"))
        except (SafetensorError, OSError, ValueError) as exc:
            raise DataError(p, f"not a readable safetensors file: {exc}") from None
    with p.open("rb") as fh:
        head = fh.read(4)
    if not (head.startswith(b"PK\x03\x04") or head.startswith(b"\x80")):
        raise DataError(p, "not a PyTorch state_dict saved with torch.save (nor a .safetensors file)")
    try:
        loaded = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        if type(exc).__name__ == "UnpicklingError":  # weights_only refused an object: nothing of it ran
            why = next((line.strip() for line in str(exc).splitlines() if "Unsupported global" in line), "")
            raise DataError(
                p,
                f"holds more than tensors (refused, nothing of it was run){': ' + why[:160] if why else ''}",
            ) from None
        raise DataError(p, f"not a PyTorch state_dict saved with torch.save: {str(exc)[:200]}") from None
    if isinstance(loaded, dict):
        for key in NESTED:
            inner = loaded.get(key)
            if isinstance(inner, dict) and any(isinstance(v, Tensor) for v in inner.values()):
                loaded = inner
                break
    flat = _flatten(loaded)
    if not flat:
        raise DataError(p, f"holds no tensors (a {type(loaded).__name__}): save model.state_dict()")
    return flat


@dataclass
class ImportPlan:
    """Where each tensor of the file goes: ``mapping`` their key -> our parameter name."""

    mapping: dict[str, str] = field(default_factory=dict)
    zero_biases: list[str] = field(default_factory=list)  # ours, set to 0 (the file's module had bias=False)
    identity: list[str] = field(
        default_factory=list
    )  # ours, set to the identity (read_in: the module reads the inputs)
    unused: list[str] = field(default_factory=list)  # theirs, not imported

    def to_dict(self) -> dict[str, object]:
        return {
            "mapping": dict(self.mapping),
            "zero_biases": list(self.zero_biases),
            "identity": list(self.identity),
            "unused": list(self.unused),
        }

    def describe(self) -> str:
        lines = [f"{theirs} -> {ours}" for theirs, ours in self.mapping.items()]
        lines += [f"(none) -> {ours} = 0 (bias=False)" for ours in self.zero_biases]
        if self.identity:
            lines.append(
                "(none) -> read_in = identity (weight I, bias 0: the module reads its inputs directly)"
            )
        if self.unused:
            lines.append(f"not imported: {', '.join(self.unused)}")
        return "\n".join(lines)


def _stack_prefixes(weights: dict[str, Tensor]) -> list[str]:
    return [k[: -len("weight_ih_l0")] for k in weights if k.endswith("weight_ih_l0")]


def plan_import(model: torch.nn.Module, weights: dict[str, Tensor], name: str = "weights") -> ImportPlan:
    """The mapping of ``weights`` onto ``model`` (a SequenceModel or Seq2SeqModel); DataError
    naming the key and both shapes where they do not fit."""
    ours = dict(model.named_parameters())
    stacks = model.stacks()  # type: ignore[operator]
    prefixes = _stack_prefixes(weights)
    if not prefixes:
        raise DataError(
            name, "no recurrent layer in it (no key ending in weight_ih_l0: nn.RNN, nn.LSTM or nn.GRU)"
        )
    if len(prefixes) < len(stacks):
        raise DataError(
            name, f"{len(prefixes)} recurrent module(s) for the model's {len(stacks)} ({', '.join(stacks)})"
        )
    plan = ImportPlan()
    free = list(prefixes)
    chosen: dict[str, str | None] = {}
    for part in stacks:  # a prefix named after the part first (encoder., decoder.), then file order
        named = next((q for q in free if q.rstrip(".").split(".")[-1] == part), None)
        named = named or next((q for q in free if part[:3] in q.lower()), None)
        chosen[part] = named
        if named is not None:
            free.remove(named)
    for part in stacks:
        if chosen[part] is None:
            chosen[part] = free.pop(0)
    for part, stack in stacks.items():
        prefix = chosen[part] or ""
        for bad in ("weight_hr_l0", "weight_ih_l0_reverse"):
            if prefix + bad in weights:
                what = "proj_size > 0" if "hr" in bad else "bidirectional"
                raise DataError(
                    name, f"{prefix}{bad}: a {what} layer cannot be imported into one direction of {part}"
                )
        deeper = [
            k for k in weights if k.startswith(prefix + "weight_ih_l") and k[len(prefix) + 11 :].isdigit()
        ]
        if len(deeper) != stack.layers:
            raise DataError(
                name,
                f"{prefix or 'the module'} has {len(deeper)} layer(s); the run's {part} has {stack.layers}",
            )
        for layer in range(stack.layers):
            for key in STACK_KEYS:
                theirs, mine = prefix + key.format(layer), f"{part}.{key.format(layer)}"
                want = tuple(ours[mine].shape)
                if theirs not in weights:
                    if key.startswith("bias"):
                        plan.zero_biases.append(mine)
                        continue
                    raise DataError(name, f"{theirs} is missing (expected shape {want})")
                found = tuple(weights[theirs].shape)
                if found != want:
                    read_in = getattr(model, "read_in", None)
                    direct = read_in is not None and key.startswith("weight_ih") and layer == 0
                    if direct and found == (want[0], read_in.in_features):  # type: ignore[union-attr]
                        n = read_in.in_features  # type: ignore[union-attr]
                        raise DataError(
                            name,
                            f"{theirs}: the module reads the {n} input features directly (shape {found}): "
                            f"set embed_size to {n} (--embed-size {n}) and the read-in layer starts as the identity",
                        )
                    raise DataError(
                        name,
                        f"{theirs}: expected shape {want} for the run's {stack.cell} {part}, found {found}",
                    )
                plan.mapping[theirs] = mine
    taken = set(plan.mapping)
    done = set(plan.mapping.values())
    for mine in ("embed.weight", "src_embed.weight", "tgt_embed.weight", "read_in.weight", "read_in.bias",
                 "read_out.weight", "read_out.bias"):  # fmt: skip
        if mine not in ours or mine in done:
            continue
        kind = mine.split(".")[0]
        words = {"embed": ("embed",), "src_embed": ("src", "enc"), "tgt_embed": ("tgt", "dec"),
                 "read_in": ("in", "proj"), "read_out": ("out", "fc", "head", "linear", "decoder")}[kind]  # fmt: skip
        leaf = mine.split(".")[1]
        for theirs, t in weights.items():
            if (
                theirs in taken
                or not theirs.endswith("." + leaf)
                or tuple(t.shape) != tuple(ours[mine].shape)
            ):
                continue
            if any(w in theirs.lower() for w in words):
                plan.mapping[theirs] = mine
                taken.add(theirs)
                break
    read_in = getattr(model, "read_in", None)
    if (
        read_in is not None
        and "read_in.weight" not in plan.mapping.values()
        and read_in.in_features == read_in.out_features
    ):
        plan.identity = ["read_in.weight", "read_in.bias"]  # the module read its features directly
    plan.unused = [k for k in weights if k not in taken]
    return plan


@torch.no_grad()
def apply_import(model: torch.nn.Module, weights: dict[str, Tensor], plan: ImportPlan) -> None:
    ours = dict(model.named_parameters())
    for theirs, mine in plan.mapping.items():
        ours[mine].copy_(weights[theirs].to(ours[mine].dtype))
    for mine in plan.zero_biases:
        ours[mine].zero_()
    for mine in plan.identity:
        if mine.endswith("weight"):
            ours[mine].copy_(torch.eye(*ours[mine].shape))
        else:
            ours[mine].zero_()


def export_state_dict(model: torch.nn.Module) -> dict[str, Tensor]:
    """``{part}.weight_ih_l0`` ... for each recurrent part, and the embedding and read-out, as
    CPU tensors: ``strip_part(sd, "rnn")`` is what an nn.LSTM of the same shape loads strictly."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


def strip_part(state: dict[str, Tensor], part: str) -> dict[str, Tensor]:
    """The recurrent part ``part`` of an exported state_dict, keyed as nn.RNN/LSTM/GRU keys it."""
    head = part + "."
    return {k[len(head) :]: v for k, v in state.items() if k.startswith(head)}
