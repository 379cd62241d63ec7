"""AttachedRNN: an nn.RNN / nn.LSTM / nn.GRU of the user's, computed by rnnscope's instrumented
recurrences (engine.cells) with the very same Parameter objects.

It registers the original module's parameters under their own names, so ``state_dict()`` keys,
the optimizer's param groups, gradient clipping, ``.to(device)`` and ``torch.save`` see no
difference. Its forward takes what the torch module takes and returns what it returns:
time-major or ``batch_first`` input, an unbatched (T, I) input, a PackedSequence (variable
lengths: each sequence's final state is the one at its own last step, padded outputs are 0),
``hx`` (h0, or (h0, c0) for an LSTM), 1-4 layers, dropout between layers (the same draws of
the global RNG as the torch module on the CPU), ``bias=False`` and ``bidirectional`` (the
reverse direction runs each sequence from its own end). Every layer and direction leaves a
``Capture`` (gates, states, and after backward dL/dh_t and dL/dc_t) in ``last_captures``.
An nn.RNN with ``nonlinearity="relu"`` runs on the torch loops (engine.loops; the C++ ones are
tanh only). Not supported, refused by name: ``proj_size > 0``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnscope.engine.cells import Capture, GRURecurrence, LSTMRecurrence, RNNRecurrence

CELL_OF_MODE = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn", "RNN_RELU": "rnn"}
MAX_LAYERS = 4


MAX_CALLS = 4096  # a last bound on calls whose graph is still alive but never backpropagated


@dataclass
class Call:
    """One forward of an attached module: [layer][direction] captures, and each sequence's
    length (None: all T steps; a PackedSequence input has its own lengths)."""

    captures: list[list[Capture]]
    lengths: Tensor | None
    first_input: Tensor  # (T, B, I) what the first layer read (time-major, padded)
    nodes: list[weakref.ref[Any]] = field(default_factory=list)  # the recurrences' autograd nodes

    def reachable(self) -> bool:
        """Backpropagated already, or a backward can still reach it (its graph is alive): a
        forward whose outputs were dropped without a backward (an evaluation in train mode) is not."""
        return self.captures[0][0].dh is not None or any(r() is not None for r in self.nodes)


class AttachError(ValueError):
    """A module rnnscope cannot stand in for, named by its path in the model."""


def check_attachable(module: nn.Module, path: str) -> None:
    if not isinstance(module, nn.RNNBase):
        raise AttachError(f"{path}: a {type(module).__name__}, not an nn.RNN, nn.LSTM or nn.GRU")
    if module.mode not in CELL_OF_MODE:
        raise AttachError(f"{path}: mode {module.mode!r} is not supported")
    if getattr(module, "proj_size", 0):
        raise AttachError(f"{path}: proj_size={module.proj_size} is not supported (an LSTM with projections)")
    if not 1 <= module.num_layers <= MAX_LAYERS:
        raise AttachError(f"{path}: num_layers={module.num_layers}; rnnscope shows 1-{MAX_LAYERS} layers")


def _reverse_in_lengths(x: Tensor, lengths: Tensor | None) -> Tensor:
    """x (T, B, ...) with each sequence's valid steps 0..len-1 reversed (padding stays)."""
    if lengths is None:
        return x.flip(0)
    T = x.shape[0]
    t = torch.arange(T, device=x.device)[:, None]
    n = lengths.to(x.device)[None, :]
    idx = torch.where(t < n, n - 1 - t, t)  # (T, B)
    return x.gather(0, idx.view(T, -1, *([1] * (x.dim() - 2))).expand_as(x))


class AttachedRNN(nn.Module):
    def __init__(self, original: nn.RNNBase, path: str) -> None:
        check_attachable(original, path)
        super().__init__()
        object.__setattr__(self, "original", original)  # not a submodule: its parameters are ours
        self.path = path
        self.cell = CELL_OF_MODE[original.mode]
        self.mode = original.mode
        self.nonlinearity = "relu" if original.mode == "RNN_RELU" else "tanh"
        self.input_size, self.hidden_size = original.input_size, original.hidden_size
        self.num_layers, self.bias = original.num_layers, original.bias
        self.batch_first, self.dropout = original.batch_first, float(original.dropout)
        self.bidirectional = original.bidirectional
        self.directions = 2 if original.bidirectional else 1
        for name, p in original._parameters.items():
            self.register_parameter(name, p)  # the same Parameter objects
        self.training = original.training
        self.last_captures: list[list[Capture]] = []  # [layer][direction] of the last forward
        # Calls since the last recorded step (training mode, grad enabled): their captures and
        # valid masks; a decoder that calls the module once per timestep leaves one per call.
        self.calls: list[Call] = []
        self.on_call: Callable[[AttachedRNN, list[Tensor]], None] | None = None  # set by the scope

    def _params(self, layer: int, direction: int) -> tuple[Tensor, Tensor, Tensor | None, Tensor]:
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        w_ih, w_hh = getattr(self, "weight_ih" + sfx), getattr(self, "weight_hh" + sfx)
        if self.bias:
            return w_ih, w_hh, getattr(self, "bias_ih" + sfx), getattr(self, "bias_hh" + sfx)
        return w_ih, w_hh, None, w_hh.new_zeros(w_hh.shape[0])

    def forward(self, input: Tensor | PackedSequence, hx: Any = None) -> Any:  # what the torch module returns
        packed = isinstance(input, PackedSequence)
        lengths: Tensor | None = None
        unbatched = False
        if packed:
            assert isinstance(input, PackedSequence)
            x, lengths = pad_packed_sequence(input)  # (T, B, I), original order
        else:
            assert isinstance(input, Tensor)
            unbatched = input.dim() == 2
            x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
        T, B = x.shape[0], x.shape[1]
        LD, H = self.num_layers * self.directions, self.hidden_size
        h0: Any = None
        c0: Any = None
        if hx is not None:
            if self.cell == "lstm":
                h0, c0 = hx
            else:
                h0 = hx
            if unbatched:
                h0 = None if h0 is None else h0.unsqueeze(1)
                c0 = None if c0 is None else c0.unsqueeze(1)
        zeros = x.new_zeros(LD, B, H)
        h0 = zeros if h0 is None else h0
        c0 = zeros if (c0 is None and self.cell == "lstm") else c0
        last = (lengths.to(x.device) - 1) if lengths is not None else torch.full((B,), T - 1, device=x.device)
        cols = torch.arange(B, device=x.device)
        h_n, c_n, caps = [], [], []
        seqs: list[Tensor] = []  # every recurrence output: a backward through the module reaches one
        inp = x
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                inp = F.dropout(inp, self.dropout, training=True)
            outs, layer_caps = [], []
            for d in range(self.directions):
                w_ih, w_hh, b_ih, b_hh = self._params(layer, d)
                k = layer * self.directions + d
                xd = inp if d == 0 else _reverse_in_lengths(inp, lengths)
                xp = F.linear(xd, w_ih, b_ih)
                cap = Capture(nonlinearity=self.nonlinearity)
                if self.cell == "lstm":
                    assert c0 is not None
                    h_seq, c_seq = LSTMRecurrence.apply(xp, h0[k], c0[k], w_hh, b_hh, cap)
                    c_n.append(c_seq[last, cols])
                    seqs.append(c_seq)
                elif self.cell == "gru":
                    h_seq = GRURecurrence.apply(xp, h0[k], w_hh, b_hh, cap)
                else:
                    h_seq = RNNRecurrence.apply(xp, h0[k], w_hh, b_hh, cap)
                h_n.append(h_seq[last, cols])
                seqs.append(h_seq)
                outs.append(h_seq if d == 0 else _reverse_in_lengths(h_seq, lengths))
                layer_caps.append(cap)
            inp = outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)
            caps.append(layer_caps)
        self.last_captures = caps
        if (
            self.training
            and torch.is_grad_enabled()
            and (x.requires_grad or any(p.requires_grad for p in self._parameters.values() if p is not None))
        ):
            nodes = [weakref.ref(t.grad_fn) for t in seqs if t.grad_fn is not None]
            self.calls = [c for c in self.calls if c.reachable()]
            self.calls.append(Call(caps, lengths, x.detach(), nodes))
            if len(self.calls) > MAX_CALLS:
                del self.calls[0]
            if self.on_call is not None:
                self.on_call(self, seqs)
        out = inp
        hn = torch.stack(h_n)
        cn = torch.stack(c_n) if self.cell == "lstm" else None
        if packed:
            assert isinstance(input, PackedSequence) and lengths is not None
            order = input.sorted_indices if input.sorted_indices is not None else torch.arange(B)
            again = pack_padded_sequence(
                out[:, order.to(out.device)], lengths[order.cpu()], enforce_sorted=True
            )
            output: Tensor | PackedSequence = PackedSequence(
                again.data, again.batch_sizes, input.sorted_indices, input.unsorted_indices
            )
        elif unbatched:
            output = out.squeeze(1)
            hn = hn.squeeze(1)
            cn = None if cn is None else cn.squeeze(1)
        else:
            output = out.transpose(0, 1) if self.batch_first else out
        if self.cell == "lstm":
            assert cn is not None
            return output, (hn, cn)
        return output, hn

    def extra_repr(self) -> str:
        return f"{self.path}: rnnscope's {self.cell} in place of {self.original!r}"
