"""RecurrentStack: L stacked tanh-RNN / LSTM / GRU layers that record their insides.

Parameters carry PyTorch's names and shapes (``weight_ih_l0``, ``weight_hh_l0``,
``bias_ih_l0``, ``bias_hh_l0`` ...), so ``stack.state_dict()`` loads into
``nn.LSTM(input_size, hidden_size, num_layers)`` (and nn.RNN / nn.GRU) and back.
The recurrences themselves are the hand-written BPTT functions of ``engine.cells``.
Everything here is time-major: x (T, B, I) -> out (T, B, H).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from rnnscope.engine.cells import GATES_PER_CELL, Capture, GRURecurrence, LSTMRecurrence, RNNRecurrence

# Called on the input of layer l (l >= 1) and may drop units (dropout between layers).
Between = Callable[[Tensor, int], Tensor]


class RecurrentStack(nn.Module):
    def __init__(self, cell: str, input_size: int, hidden_size: int, layers: int) -> None:
        super().__init__()
        if cell not in GATES_PER_CELL:
            raise ValueError(f"unknown cell {cell!r}")
        self.cell = cell
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.layers = layers
        gh = GATES_PER_CELL[cell] * hidden_size
        for layer in range(layers):
            in_size = input_size if layer == 0 else hidden_size
            self.register_parameter(f"weight_ih_l{layer}", nn.Parameter(torch.empty(gh, in_size)))
            self.register_parameter(f"weight_hh_l{layer}", nn.Parameter(torch.empty(gh, hidden_size)))
            self.register_parameter(f"bias_ih_l{layer}", nn.Parameter(torch.empty(gh)))
            self.register_parameter(f"bias_hh_l{layer}", nn.Parameter(torch.empty(gh)))

    def params(self, layer: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(W_ih, W_hh, b_ih, b_hh) of one layer."""
        return (
            getattr(self, f"weight_ih_l{layer}"),
            getattr(self, f"weight_hh_l{layer}"),
            getattr(self, f"bias_ih_l{layer}"),
            getattr(self, f"bias_hh_l{layer}"),
        )

    def torch_module(self) -> nn.RNNBase:
        """The equivalent fused PyTorch module holding a copy of these weights."""
        cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[self.cell]
        mod = cls(self.input_size, self.hidden_size, self.layers)
        mod.load_state_dict(self.state_dict())
        return mod.to(self.params(0)[0].device)

    @torch.no_grad()
    def reset_parameters(
        self, gen: torch.Generator, *, init: str, init_scale: float, forget_bias: float
    ) -> None:
        """PyTorch's default uniform init for input weights; W_hh by ``init`` times ``init_scale``
        (per gate block); zero biases except the LSTM forget gate (b_ih + b_hh = forget_bias)."""
        h = self.hidden_size
        bound = 1.0 / math.sqrt(h)
        for layer in range(self.layers):
            w_ih, w_hh, b_ih, b_hh = self.params(layer)
            w_ih.uniform_(-bound, bound, generator=gen)
            for block in w_hh.split(h, dim=0):
                if init == "orthogonal":
                    nn.init.orthogonal_(block, gain=init_scale, generator=gen)
                elif init == "normal":
                    block.normal_(0.0, init_scale / math.sqrt(h), generator=gen)
                else:  # PyTorch's default, scaled
                    block.uniform_(-bound * init_scale, bound * init_scale, generator=gen)
            b_ih.zero_()
            b_hh.zero_()
            if self.cell == "lstm":
                b_ih[h : 2 * h] = forget_bias

    def forward(
        self,
        x: Tensor,  # (T, B, I)
        h0: Tensor | None = None,  # (L, B, H)
        c0: Tensor | None = None,  # (L, B, H), LSTM only
        between: Between | None = None,
        captures: list[Capture] | None = None,
    ) -> tuple[Tensor, list[Tensor], list[Tensor | None]]:
        """Returns the top layer's h_t (T, B, H) and every layer's h_t and c_t sequences."""
        B = x.shape[1]
        zeros = x.new_zeros(B, self.hidden_size)
        hs: list[Tensor] = []
        cs: list[Tensor | None] = []
        inp = x
        for layer in range(self.layers):
            if layer > 0 and between is not None:
                inp = between(inp, layer)
            w_ih, w_hh, b_ih, b_hh = self.params(layer)
            cap = captures[layer] if captures is not None else Capture()
            xp = torch.nn.functional.linear(inp, w_ih, b_ih)  # (T, B, G*H)
            h_init = zeros if h0 is None else h0[layer]
            if self.cell == "lstm":
                c_init = zeros if c0 is None else c0[layer]
                h_seq, c_seq = LSTMRecurrence.apply(xp, h_init, c_init, w_hh, b_hh, cap)
                cs.append(c_seq)
            elif self.cell == "gru":
                h_seq = GRURecurrence.apply(xp, h_init, w_hh, b_hh, cap)
                cs.append(None)
            else:
                h_seq = RNNRecurrence.apply(xp, h_init, w_hh, b_hh, cap)
                cs.append(None)
            hs.append(h_seq)
            inp = h_seq
        return inp, hs, cs
