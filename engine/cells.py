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

A :class:`Capture` passed in receives the forward activations and the backward
gradients of that layer; the caller reads them after ``loss.backward()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx


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


def _zeros_if_none(g: Tensor | None, like: Tensor) -> Tensor:
    return torch.zeros_like(like) if g is None else g


def _shift_in(first: Tensor, seq: Tensor) -> Tensor:
    """[first, seq_0 .. seq_{T-2}]: the previous-step values for every t. (T, B, H)"""
    return torch.cat([first.unsqueeze(0), seq[:-1]], dim=0)


class RNNRecurrence(torch.autograd.Function):
    """h_t = tanh(xp_t + W_hh h_{t-1} + b_hh)."""

    @staticmethod
    def forward(ctx: FunctionCtx, xp: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor, cap: Capture) -> Tensor:
        T = xp.shape[0]
        pre = xp + b_hh  # (T, B, H), new storage the loop fills in place
        w_t = w_hh.t()
        hs = torch.empty_like(pre)
        h = h0
        for t in range(T):
            p = pre[t]
            p.addmm_(h, w_t)
            h = torch.tanh(p, out=hs[t])
        ctx.save_for_backward(hs, h0, w_hh)
        ctx.cap = cap  # type: ignore[attr-defined]
        cap.h, cap.h0 = hs.detach(), h0  # detached: cap must not hold the output (see Capture)
        return hs

    @staticmethod
    def backward(ctx: Any, g_h: Tensor | None) -> tuple[Tensor | None, ...]:
        hs, h0, w_hh = ctx.saved_tensors
        cap: Capture = ctx.cap
        T = hs.shape[0]
        g_h = _zeros_if_none(g_h, hs)
        deriv = 1.0 - hs * hs  # tanh'(pre_t) = 1 - h_t^2
        dpre = torch.empty_like(hs)
        dh_all = torch.empty_like(hs)
        dh_rec = torch.zeros_like(h0)
        for t in range(T - 1, -1, -1):
            dh = torch.add(g_h[t], dh_rec, out=dh_all[t])
            dp = torch.mul(dh, deriv[t], out=dpre[t])
            dh_rec = dp.mm(w_hh)
        cap.dh = dh_all
        flat = dpre.reshape(-1, dpre.shape[-1])
        d_w = flat.t().mm(_shift_in(h0, hs).reshape(-1, hs.shape[-1]))
        return dpre, dh_rec, d_w, flat.sum(0), None


class LSTMRecurrence(torch.autograd.Function):
    """PyTorch's LSTM: gates (i, f, g, o) = act(xp_t + W_hh h_{t-1} + b_hh);
    c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)."""

    @staticmethod
    def forward(
        ctx: FunctionCtx, xp: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, b_hh: Tensor, cap: Capture
    ) -> tuple[Tensor, Tensor]:
        T, B, G = xp.shape
        H = G // 4
        act = xp + b_hh  # (T, B, 4H): pre-activations, turned into activations in place
        w_t = w_hh.t()
        hs = act.new_empty(T, B, H)
        cs = act.new_empty(T, B, H)
        tcs = act.new_empty(T, B, H)
        h, c = h0, c0
        gate_i, gate_f, gate_g, gate_o = (v.unbind(0) for v in act.split(H, dim=2))
        for a, i, f, g, o, c_out, tc_out, h_out in zip(
            act.unbind(0),
            gate_i,
            gate_f,
            gate_g,
            gate_o,
            cs.unbind(0),
            tcs.unbind(0),
            hs.unbind(0),
            strict=False,
        ):
            a.addmm_(h, w_t)
            g_pre = g.clone()
            a.sigmoid_()
            torch.tanh(g_pre, out=g)
            c = torch.mul(f, c, out=c_out)
            c.addcmul_(i, g)
            h = torch.mul(o, torch.tanh(c, out=tc_out), out=h_out)
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
        i, f, g, o = act.split(H, dim=2)
        c_prev = _shift_in(c0, cs)
        # Per-timestep local derivatives, all timesteps at once.
        k = o * (1.0 - tcs * tcs)  # dc_t from dh_t
        mult = torch.cat(
            [g * i * (1.0 - i), c_prev * f * (1.0 - f), i * (1.0 - g * g), tcs * o * (1.0 - o)], dim=2
        ).view(T, B, 4, H)  # d(pre of i, f, g) = dc * mult[:3]; d(pre of o) = dh * mult[3]
        dpre = act.new_empty(T, B, 4, H)
        dh_all = torch.empty_like(hs)
        dc_all = torch.empty_like(cs)
        dh_rec = torch.zeros_like(h0)
        dc_carry = torch.zeros_like(c0)  # f_{t+1} * dL/dc_{t+1}
        g_cs: list[Tensor | None] = [None] * T if g_c is None else list(g_c.unbind(0))
        steps = zip(
            g_h.unbind(0),
            g_cs,
            dh_all.unbind(0),
            dc_all.unbind(0),
            k.unbind(0),
            dpre.unbind(0),
            mult[:, :, :3].unbind(0),
            mult[:, :, 3].unbind(0),
            f.unbind(0),
            strict=False,
        )
        for gh, gc, dh_out, dc_out, k_t, dp, m_ifg, m_o, f_t in reversed(list(steps)):
            dh = torch.add(gh, dh_rec, out=dh_out)
            if gc is None:
                dc = torch.addcmul(dc_carry, dh, k_t, out=dc_out)
            else:
                dc = torch.add(gc, dc_carry, out=dc_out)
                dc.addcmul_(dh, k_t)
            torch.mul(dc.unsqueeze(1), m_ifg, out=dp[:, :3])
            torch.mul(dh, m_o, out=dp[:, 3])
            dh_rec = dp.view(B, G).mm(w_hh)
            dc_carry = dc * f_t
        cap.dh, cap.dc = dh_all, dc_all
        flat = dpre.view(T * B, G)
        d_w = flat.t().mm(_shift_in(h0, hs).view(T * B, H))
        return dpre.view(T, B, G), dh_rec, dc_carry, d_w, flat.sum(0), None


class GRURecurrence(torch.autograd.Function):
    """PyTorch's GRU: r, z = sigmoid(xp_{r,z} + W_h{r,z} h + b_h{r,z});
    n = tanh(xp_n + r * (W_hn h + b_hn));  h_t = (1 - z) n + z h_{t-1}."""

    @staticmethod
    def forward(ctx: FunctionCtx, xp: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor, cap: Capture) -> Tensor:
        T, B, G = xp.shape
        H = G // 3
        w_t = w_hh.t()
        hp = xp.new_empty(T, B, G)  # W_hh h_{t-1} + b_hh
        act = xp.new_empty(T, B, G)  # r, z, n
        hs = xp.new_empty(T, B, H)
        h = h0
        for t in range(T):
            p = torch.addmm(b_hh, h, w_t, out=hp[t])
            a = act[t]
            rz = torch.add(xp[t, :, : 2 * H], p[:, : 2 * H], out=a[:, : 2 * H])
            rz.sigmoid_()
            n = torch.addcmul(xp[t, :, 2 * H :], a[:, :H], p[:, 2 * H :], out=a[:, 2 * H :])
            n.tanh_()
            hn = torch.sub(h, n, out=hs[t])
            hn.mul_(a[:, H : 2 * H]).add_(n)
            h = hn
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
        r, z, n = act.split(H, dim=2)
        h_prev = _shift_in(h0, hs)
        d_n = (1.0 - z) * (1.0 - n * n)  # d(pre n) = dh * d_n
        d_z = (h_prev - n) * z * (1.0 - z)  # d(pre z) = dh * d_z
        zn = torch.stack([d_z, d_n], dim=2)  # (T, B, 2, H)
        r_mult = hp[:, :, 2 * H :] * r * (1.0 - r)  # d(pre r) = d(pre n) * r_mult
        ones_r = torch.cat([torch.ones_like(r), torch.ones_like(z), r], dim=2)  # dhp = dxp * [1, 1, r]
        dxp = act.new_empty(T, B, G)
        dhp = act.new_empty(T, B, G)
        dh_all = torch.empty_like(hs)
        dh_rec = torch.zeros_like(h0)
        for t in range(T - 1, -1, -1):
            dh = torch.add(g_h[t], dh_rec, out=dh_all[t])
            dx = dxp[t]
            torch.mul(dh.unsqueeze(1), zn[t], out=dx.view(B, 3, H)[:, 1:])
            torch.mul(dx[:, 2 * H :], r_mult[t], out=dx[:, :H])
            dp = torch.mul(dx, ones_r[t], out=dhp[t])
            dh_rec = torch.addcmul(dp.mm(w_hh), dh, z[t])
        cap.dh = dh_all
        flat = dhp.view(T * B, G)
        d_w = flat.t().mm(h_prev.view(T * B, H))
        return dxp, dh_rec, d_w, flat.sum(0), None


GATES_PER_CELL = {"rnn": 1, "lstm": 4, "gru": 3}
