"""The recurrences' time loops written with torch operations.

engine/cells.py runs these, or their C++ twins in engine/native/recurrence.cpp, inside
its autograd Functions (see that module for the conventions). These are the reference:
they run on any device and dtype, and the tests hold the C++ loops to them. They serve
CUDA (where each op is a kernel launch either way), float64, and machines where the C++
kernels cannot be built.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnscope.engine import numerics


def shift_in(first: Tensor, seq: Tensor) -> Tensor:
    """[first, seq_0 .. seq_{T-2}]: the previous-step values for every t. (T, B, H)"""
    return torch.cat([first.unsqueeze(0), seq[:-1]], dim=0)


def rnn_forward(xp: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor, relu: bool = False) -> Tensor:
    """-> hs (T, B, H); ``relu``: h_t = relu(pre_t) (nn.RNN's nonlinearity="relu") instead of tanh."""
    pre = xp + b_hh  # (T, B, H), new storage the loop fills in place
    w_t = w_hh.t()
    hs = torch.empty_like(pre)
    h = h0
    for t in range(xp.shape[0]):
        p = pre[t]
        p.addmm_(h, w_t)
        h = torch.clamp(p, min=0, out=hs[t]) if relu else torch.tanh(p, out=hs[t])
    return hs


def rnn_derivative(hs: Tensor, relu: bool = False) -> Tensor:
    """The nonlinearity's derivative at each pre-activation, from its output h_t: tanh' = 1 - h_t^2;
    relu' = 1 where h_t > 0 (0 at and below 0, as autograd takes it)."""
    return (hs > 0).to(hs.dtype) if relu else 1.0 - hs * hs


def rnn_backward(g_h: Tensor, hs: Tensor, w_hh: Tensor, relu: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """-> (dL/dpre (T, B, H), total dL/dh_t (T, B, H), dL/dh0 (B, H))."""
    deriv = rnn_derivative(hs, relu)
    dpre = torch.empty_like(hs)
    dh_all = torch.empty_like(hs)
    dh_rec = torch.zeros_like(hs[0])
    for t in range(hs.shape[0] - 1, -1, -1):
        dh = torch.add(g_h[t], dh_rec, out=dh_all[t])
        dp = torch.mul(dh, deriv[t], out=dpre[t])
        dh_rec = dp.mm(w_hh)
    return dpre, dh_all, dh_rec


def lstm_forward(
    xp: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, b_hh: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """-> (gate activations (T, B, 4H), hs, cs, tanh(cs) (T, B, H))."""
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
        act.unbind(0), gate_i, gate_f, gate_g, gate_o, cs.unbind(0), tcs.unbind(0), hs.unbind(0), strict=False
    ):
        a.addmm_(h, w_t)
        g_pre = g.clone()
        numerics.sigmoid_(a)
        torch.tanh(g_pre, out=g)
        c = torch.mul(f, c, out=c_out)
        c.addcmul_(i, g)
        h = torch.mul(o, torch.tanh(c, out=tc_out), out=h_out)
    return act, hs, cs, tcs


def lstm_backward(
    g_h: Tensor, g_c: Tensor | None, act: Tensor, cs: Tensor, tcs: Tensor, c0: Tensor, w_hh: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """-> (dL/dpre (T, B, 4H), total dL/dh_t, total dL/dc_t (T, B, H), dL/dh0, dL/dc0 (B, H))."""
    T, B, G = act.shape
    H = G // 4
    i, f, g, o = act.split(H, dim=2)
    c_prev = shift_in(c0, cs)
    # Per-timestep local derivatives, all timesteps at once.
    k = o * (1.0 - tcs * tcs)  # dc_t from dh_t
    mult = torch.cat(
        [g * i * (1.0 - i), c_prev * f * (1.0 - f), i * (1.0 - g * g), tcs * o * (1.0 - o)], dim=2
    ).view(T, B, 4, H)  # d(pre of i, f, g) = dc * mult[:3]; d(pre of o) = dh * mult[3]
    dpre = act.new_empty(T, B, 4, H)
    dh_all = torch.empty_like(cs)
    dc_all = torch.empty_like(cs)
    dh_rec = torch.zeros_like(c0)
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
    return dpre.view(T, B, G), dh_all, dc_all, dh_rec, dc_carry


def gru_forward(xp: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """-> (r, z, n activations (T, B, 3H), W_hh h_{t-1} + b_hh (T, B, 3H), hs (T, B, H))."""
    T, B, G = xp.shape
    H = G // 3
    w_t = w_hh.t()
    hp = xp.new_empty(T, B, G)
    act = xp.new_empty(T, B, G)
    hs = xp.new_empty(T, B, H)
    h = h0
    for t in range(T):
        p = torch.addmm(b_hh, h, w_t, out=hp[t])
        a = act[t]
        rz = torch.add(xp[t, :, : 2 * H], p[:, : 2 * H], out=a[:, : 2 * H])
        numerics.sigmoid_(rz)
        n = torch.addcmul(xp[t, :, 2 * H :], a[:, :H], p[:, 2 * H :], out=a[:, 2 * H :])
        n.tanh_()
        hn = torch.sub(h, n, out=hs[t])
        hn.mul_(a[:, H : 2 * H]).add_(n)
        h = hn
    return act, hp, hs


def gru_backward(
    g_h: Tensor, act: Tensor, hp: Tensor, hs: Tensor, h0: Tensor, w_hh: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """-> (dL/dxp (T, B, 3H), dL/dhp (T, B, 3H), total dL/dh_t (T, B, H), dL/dh0 (B, H))."""
    T, B, G = act.shape
    H = G // 3
    r, z, n = act.split(H, dim=2)
    h_prev = shift_in(h0, hs)
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
    return dxp, dhp, dh_all, dh_rec
