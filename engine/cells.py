"""The recurrences of tanh-RNN, LSTM and GRU layers with a hand-written BPTT.

Why this file exists: nn.RNN/LSTM/GRU run fused and expose neither gates nor per-timestep
gradients. Autograd through an unrolled Python cell exposes them but builds a graph of
~10 nodes per timestep (5x slower). Here each layer's recurrence is one
``torch.autograd.Function`` whose forward is a lean time loop that keeps the gate
activations it computes anyway, and whose backward is the BPTT time loop written out:
it has to form dL/dh_t and dL/dc_t to continue, so the total gradient reaching every
timestep is a by-product, not an extra pass. Weight gradients are then one matmul over
all timesteps, the same work the fused CPU kernels do.

Conventions (time-major, as PyTorch's cuDNN path): T timesteps, B batch, H hidden, G gates.
- ``xp`` (T, B, G*H) is the input projection ``x @ W_ih.T + b_ih``, computed by autograd
  outside, so dL/dW_ih, dL/db_ih and dL/dx come from ordinary autograd.
- the function returns every h_t (T, B, H) and, for LSTM, every c_t (T, B, H). Whatever
  uses them (read-out, next layer, a final state passed to a decoder) sends its gradient
  back through them, and the backward adds the recurrent part.
- gate order and formulas are PyTorch's: LSTM (i, f, g, o); GRU (r, z, n) with
  n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) and h' = (1 - z) * n + z * h.

The time loops themselves run in C++ (engine/native, float32 on the CPU) or as torch
operations (engine/loops.py, everywhere else); both fill the same tensors.

A :class:`Capture` passed in receives the forward activations and the backward
gradients of that layer; the caller reads them after ``loss.backward()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx

from rnnscope.engine import loops, native
from rnnscope.engine.loops import shift_in


@dataclass
class Capture:
    """What one layer's forward and backward leave behind (all time-major).

    It holds detached views of the layer's outputs, never the outputs themselves: the
    autograd node keeps the Capture, so holding an output (whose grad_fn is that node)
    would make a reference cycle that leaks every step's activations until gc runs."""

    act: Tensor | None = None  # (T, B, G*H) gate activations (RNN: None; h is the only activation)
    h: Tensor | None = None  # (T, B, H)
    c: Tensor | None = None  # (T, B, H) LSTM cell state
    tanh_c: Tensor | None = None  # (T, B, H) LSTM tanh(c_t)
    hp: Tensor | None = None  # (T, B, 3H) GRU W_hh h_{t-1} + b_hh
    h0: Tensor | None = None  # (B, H)
    c0: Tensor | None = None  # (B, H)
    dh: Tensor | None = None  # (T, B, H) total dL/dh_t
    dc: Tensor | None = None  # (T, B, H) total dL/dc_t (LSTM)
    nonlinearity: str = "tanh"  # an RNN's: tanh, or relu (set before the forward; no C++ loop for relu)


def _zeros_if_none(g: Tensor | None, like: Tensor) -> Tensor:
    return torch.zeros_like(like) if g is None else g


class RNNRecurrence(torch.autograd.Function):
    """h_t = tanh(xp_t + W_hh h_{t-1} + b_hh), or relu(...) when ``cap.nonlinearity`` says so
    (the torch loops: the C++ ones are tanh only)."""

    @staticmethod
    def forward(ctx: FunctionCtx, xp: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor, cap: Capture) -> Tensor:
        relu = cap.nonlinearity == "relu"
        if native.use_native(xp) and not relu:
            hs = native.ops().rnn_forward(xp, h0, w_hh, b_hh)
        else:
            hs = loops.rnn_forward(xp, h0, w_hh, b_hh, relu)
        ctx.save_for_backward(hs, h0, w_hh)
        ctx.cap = cap  # type: ignore[attr-defined]
        cap.h, cap.h0 = hs.detach(), h0  # detached: cap must not hold the output (see Capture)
        return hs

    @staticmethod
    def backward(ctx: Any, g_h: Tensor | None) -> tuple[Tensor | None, ...]:
        hs, h0, w_hh = ctx.saved_tensors
        cap: Capture = ctx.cap
        g_h = _zeros_if_none(g_h, hs)
        relu = cap.nonlinearity == "relu"
        if native.use_native(hs) and not relu:
            dpre, dh_all, dh_rec = native.ops().rnn_backward(g_h, hs, w_hh)
        else:
            dpre, dh_all, dh_rec = loops.rnn_backward(g_h, hs, w_hh, relu)
        cap.dh = dh_all
        flat = dpre.reshape(-1, dpre.shape[-1])
        d_w = flat.t().mm(shift_in(h0, hs).reshape(-1, hs.shape[-1]))
        return dpre, dh_rec, d_w, flat.sum(0), None


class LSTMRecurrence(torch.autograd.Function):
    """PyTorch's LSTM: gates (i, f, g, o) = act(xp_t + W_hh h_{t-1} + b_hh);
    c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)."""

    @staticmethod
    def forward(
        ctx: FunctionCtx, xp: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, b_hh: Tensor, cap: Capture
    ) -> tuple[Tensor, Tensor]:
        if native.use_native(xp):
            act, hs, cs, tcs = native.ops().lstm_forward(xp, h0, c0, w_hh, b_hh)
        else:
            act, hs, cs, tcs = loops.lstm_forward(xp, h0, c0, w_hh, b_hh)
        ctx.save_for_backward(act, cs, tcs, hs, h0, c0, w_hh)
        ctx.cap = cap  # type: ignore[attr-defined]
        cap.act, cap.h, cap.c, cap.tanh_c, cap.h0, cap.c0 = act, hs.detach(), cs.detach(), tcs, h0, c0
        return hs, cs

    @staticmethod
    def backward(ctx: Any, g_h: Tensor | None, g_c: Tensor | None) -> tuple[Tensor | None, ...]:
        act, cs, tcs, hs, h0, c0, w_hh = ctx.saved_tensors
        cap: Capture = ctx.cap
        T, B, G = act.shape
        H = G // 4
        g_h = _zeros_if_none(g_h, hs)
        if native.use_native(act):
            dpre, dh_all, dc_all, dh_rec, dc_carry = native.ops().lstm_backward(
                g_h, g_c, act, cs, tcs, c0, w_hh
            )
        else:
            dpre, dh_all, dc_all, dh_rec, dc_carry = loops.lstm_backward(g_h, g_c, act, cs, tcs, c0, w_hh)
        cap.dh, cap.dc = dh_all, dc_all
        flat = dpre.reshape(T * B, G)
        d_w = flat.t().mm(shift_in(h0, hs).view(T * B, H))
        return dpre.view(T, B, G), dh_rec, dc_carry, d_w, flat.sum(0), None


class GRURecurrence(torch.autograd.Function):
    """PyTorch's GRU: r, z = sigmoid(xp_{r,z} + W_h{r,z} h + b_h{r,z});
    n = tanh(xp_n + r * (W_hn h + b_hn));  h_t = (1 - z) n + z h_{t-1}."""

    @staticmethod
    def forward(ctx: FunctionCtx, xp: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor, cap: Capture) -> Tensor:
        if native.use_native(xp):
            act, hp, hs = native.ops().gru_forward(xp, h0, w_hh, b_hh)
        else:
            act, hp, hs = loops.gru_forward(xp, h0, w_hh, b_hh)
        ctx.save_for_backward(act, hp, hs, h0, w_hh)
        ctx.cap = cap  # type: ignore[attr-defined]
        cap.act, cap.hp, cap.h, cap.h0 = act, hp, hs.detach(), h0
        return hs

    @staticmethod
    def backward(ctx: Any, g_h: Tensor | None) -> tuple[Tensor | None, ...]:
        act, hp, hs, h0, w_hh = ctx.saved_tensors
        cap: Capture = ctx.cap
        T, B, G = act.shape
        H = G // 3
        g_h = _zeros_if_none(g_h, hs)
        if native.use_native(act):
            dxp, dhp, dh_all, dh_rec = native.ops().gru_backward(g_h, act, hp, hs, h0, w_hh)
        else:
            dxp, dhp, dh_all, dh_rec = loops.gru_backward(g_h, act, hp, hs, h0, w_hh)
        cap.dh = dh_all
        flat = dhp.view(T * B, G)
        d_w = flat.t().mm(shift_in(h0, hs).view(T * B, H))
        return dxp, dh_rec, d_w, flat.sum(0), None


GATES_PER_CELL = {"rnn": 1, "lstm": 4, "gru": 3}
