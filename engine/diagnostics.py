"""What the trainer measures from a layer's Capture: gradient norms over time, the
per-step Jacobian norm, W_hh's singular values, and where a NaN/Inf first appeared.

All functions take time-major captures (T, B, ...) from ``engine.cells`` and return
torch tensors on the capture's device; the trainer converts them to numpy once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from rnnscope.engine import loops, native, numerics
from rnnscope.engine.cells import Capture
from rnnscope.engine.record import NonFinite

JACOBIAN_ITERS = 48  # at most this many Lanczos steps for a step Jacobian's norm
JACOBIAN_CHECK_EVERY = 4  # Lanczos steps between convergence checks (each an eigensolve)
JACOBIAN_RTOL = 1e-4  # a row stops once its estimate moved by at most this much between checks (the
# top Ritz value converges fast: measured 1e-7 from the exact norm at this setting, LSTM H64 and H256)


def masked_batch_mean_norm(grad: Tensor, valid: Tensor | None) -> Tensor:
    """(T, B, H) gradients -> (T,) float64 mean over the batch of ||g_{t,b}||, over samples with
    t < their length (``valid`` (T, B) bool); NaN where no sample is valid.

    Always summed in float64: in float32 the squares underflow below ~1e-19 (the norm of a
    gradient of 1e-23 came out exactly 0, while the per-unit values were right down to 1e-38)
    and overflow above ~1e19. float64 holds the square of every float32 value, so the norm is
    right across float32's whole range, subnormals (down to 1.4e-45) included; a gradient
    below that is exactly zero in float32 training itself, and reads as 0.

    Numerics revision 1 (sessions recorded before this) keeps its float32 sums, so that what
    such a file stored regenerates bit for bit."""
    if numerics.revision() == numerics.LEGACY_REVISION and grad.dtype != torch.float64:
        norms = torch.linalg.vector_norm(grad, dim=2)
        if not bool(torch.isfinite(norms).all()):  # squares overflow float32 from ~1e19 on
            norms = torch.linalg.vector_norm(grad, dim=2, dtype=torch.float64).to(grad.dtype)
    else:
        norms = torch.linalg.vector_norm(grad, dim=2, dtype=torch.float64)  # (T, B)
    if valid is None:
        return norms.mean(dim=1)
    w = valid.to(norms.dtype)
    count = w.sum(dim=1)
    return (norms * w).sum(dim=1) / count  # 0/0 -> NaN where nothing is valid


def _jacobian_factors(cell: str, cap: Capture, b: int, w_hh: Tensor) -> tuple[Tensor, Tensor | None]:
    """For sample b of a tanh RNN or GRU: E (T, G*H) and a (T, H) such that the step Jacobian
    acts as J_t v = a_t * v + sum over gate blocks of E_t * (W_hh v)."""
    assert cap.h is not None and cap.h0 is not None
    h = cap.h[:, b]  # (T, H)
    H = h.shape[1]
    if cell == "rnn":
        return loops.rnn_derivative(h, cap.nonlinearity == "relu"), None
    assert cap.act is not None and cap.hp is not None
    act = cap.act[:, b]
    r, z, n = act.split(H, dim=1)
    h_prev = torch.cat([cap.h0[b : b + 1], h[:-1]], dim=0)
    d_n = (1 - z) * (1 - n * n)
    e = torch.cat([d_n * cap.hp[:, b, 2 * H :] * r * (1 - r), (h_prev - n) * z * (1 - z), d_n * r], 1)
    return e, z


def start_vector(n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """(n,) the Lanczos start: a fixed pseudo-random unit vector (the same on every run and
    machine). Not a constant one: ones/sqrt(n) can lie in the null space of J_t^T J_t (H=2 with
    W_hh's rows summing to 0 reported a norm of 0 where the exact one was 0.02-0.37), while a
    random direction has a component along the top singular vector with probability one."""
    v = torch.randn(n, generator=torch.Generator().manual_seed(0x1ACC05 + n), dtype=torch.float64)
    return (v / torch.linalg.vector_norm(v)).to(dtype=dtype, device=device)


def _lstm_joint_jtj(cap: Capture, b: int, w_hh: Tensor) -> Callable[[Tensor], Tensor]:
    """v (T, 2H) = (dh_{t-1}, dc_{t-1}) for every t -> J_t^T J_t v, where J_t is the LSTM's joint
    state map d(h_t, c_t)/d(h_{t-1}, c_{t-1}) of sample b:
        dc_t = f * dc_{t-1} + [g i(1-i), c_{t-1} f(1-f), i (1-g^2)] . (W_hh dh_{t-1})_{i,f,g}
        dh_t = o (1 - tanh^2 c_t) * dc_t + tanh(c_t) o(1-o) * (W_hh dh_{t-1})_o
    Its c -> c block is diag(f_t): the cell-state highway the h-only Jacobian leaves out."""
    assert cap.act is not None
    H = w_hh.shape[1]
    T = cap.act.shape[0]
    f = cap.act[:, b, H : 2 * H]
    ec, k, eo = _lstm_joint_factors(cap, b, H)
    w_t = w_hh.t()

    def jtj(v: Tensor) -> Tensor:
        vh, vc = v[:, :H], v[:, H:]
        s = vh.mm(w_t)  # (T, 4H)
        dc = f * vc + (ec * s[:, : 3 * H].view(T, 3, H)).sum(dim=1)
        dh = k * dc + eo * s[:, 3 * H :]
        wc = dc + k * dh  # J^T (dh, dc): the gradient reaching c_t
        gs = torch.cat([(ec * wc.unsqueeze(1)).view(T, 3 * H), eo * dh], dim=1)
        return torch.cat([gs.mm(w_hh), f * wc], dim=1)

    return jtj


def _lstm_joint_factors(cap: Capture, b: int, H: int) -> tuple[Tensor, Tensor, Tensor]:
    """ec (T, 3, H): dc_t's factors on (W_hh dh_{t-1}) for gates i, f, g; k (T, H) = dh_t/dc_t;
    eo (T, H): dh_t's factor on (W_hh dh_{t-1})_o."""
    assert cap.act is not None and cap.c is not None and cap.c0 is not None and cap.tanh_c is not None
    act = cap.act[:, b]
    T = act.shape[0]
    i, f, g, o = act.split(H, dim=1)
    tc = cap.tanh_c[:, b]
    c_prev = torch.cat([cap.c0[b : b + 1], cap.c[:-1, b]], dim=0)
    k = o * (1.0 - tc * tc)
    ec = torch.cat([g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g)], 1).view(T, 3, H)
    return ec, k, tc * o * (1 - o)


def jacobian_norms(
    cell: str, cap: Capture, b: int, w_hh: Tensor, iters: int = JACOBIAN_ITERS, rtol: float = JACOBIAN_RTOL
) -> Tensor:
    """(T,) the recurrence's gain at every t for probe sample b: the spectral norm of the step
    Jacobian of the cell's recurrent state. tanh RNN and GRU: ||dh_t/dh_{t-1}||; LSTM: the joint
    ||d(h_t, c_t)/d(h_{t-1}, c_{t-1})||, which includes the c -> c highway (diag f_t). The
    product of these gains over t bounds how much a gradient can shrink or grow on its way back.

    Lanczos on J_t^T J_t with full reorthogonalisation, batched over t, from a fixed
    pseudo-random start (:func:`start_vector`; repeated runs agree bit for bit); J is applied
    implicitly through W_hh, so a step costs two (T, H) x (H, G*H) matmuls. At most ``iters``
    Lanczos steps (capped at the state size). Every ``JACOBIAN_CHECK_EVERY`` steps the largest
    Ritz value is computed (a small batched eigensolve, the costly part); it stops once that
    moved by <= ``rtol`` at every t. The result is a lower bound that tests hold within 1e-3 of
    the exact norm."""
    if cell == "lstm":
        assert cap.act is not None
        H = w_hh.shape[1]
        act = cap.act[:, b]
        if native.use_native(act):  # the same Lanczos in C++ (engine/native/jacobian.cpp)
            ec, k, eo = _lstm_joint_factors(cap, b, H)
            q0 = start_vector(2 * H, act.dtype, act.device)
            return native.ops().lstm_joint_norms(
                act, ec.reshape(act.shape[0], 3 * H), k, eo, w_hh, q0, iters, rtol, JACOBIAN_CHECK_EVERY
            )
        return _lanczos_top(_lstm_joint_jtj(cap, b, w_hh), act.shape[0], 2 * H, act, iters, rtol)
    e, a = _jacobian_factors(cell, cap, b, w_hh)
    T, GH = e.shape
    H = w_hh.shape[1]
    if native.use_native(e):  # the same algorithm in C++ (engine/native/jacobian.cpp)
        q0 = start_vector(H, e.dtype, e.device)
        return native.ops().jacobian_norms(e, a, w_hh, q0, iters, rtol, JACOBIAN_CHECK_EVERY)
    G = GH // H
    w_t = w_hh.t()
    e3 = e.view(T, G, H)

    def jtj(v: Tensor) -> Tensor:
        u = (e * v.mm(w_t)).view(T, G, H).sum(dim=1)  # J v
        if a is not None:
            u = u + a * v
        out = (e3 * u.unsqueeze(1)).view(T, GH).mm(w_hh)  # J^T u
        return out if a is None else out + a * u

    return _lanczos_top(jtj, T, H, e, iters, rtol)


def _lanczos_top(
    jtj: Callable[[Tensor], Tensor], T: int, n_dim: int, like: Tensor, iters: int, rtol: float
) -> Tensor:
    """(T,) sqrt of the largest eigenvalue of the T symmetric operators ``jtj`` acts with on
    (T, n_dim) vectors (see :func:`jacobian_norms`)."""
    k = min(iters, n_dim)
    basis = like.new_empty(T, k, n_dim)
    alphas = like.new_empty(T, k)
    betas = like.new_empty(T, k)
    q = start_vector(n_dim, like.dtype, like.device).expand(T, n_dim).clone()
    top = torch.zeros(T, dtype=torch.float64, device=like.device)
    live = torch.ones(T, dtype=torch.bool, device=like.device)  # rows whose estimate still moves
    for j in range(k):
        basis[:, j] = q
        w = jtj(q)
        alphas[:, j] = (w * q).sum(dim=1)
        qs = basis[:, : j + 1]  # (T, j+1, n)
        w3 = w.unsqueeze(1)  # (T, 1, n)
        for _ in range(2):  # full reorthogonalisation, twice is enough (Kahan-Parlett)
            w3 = torch.baddbmm(w3, torch.bmm(w3, qs.transpose(1, 2)), qs, alpha=-1.0)
        w = w3.squeeze(1)
        beta = torch.linalg.vector_norm(w, dim=1)
        betas[:, j] = beta
        ok = beta > 1e-6 * alphas[:, 0].abs().clamp_min(1e-30)
        q = torch.where(ok[:, None], w / beta.clamp_min(1e-30)[:, None], torch.zeros_like(w))
        n = j + 1
        if (n >= 8 and n % JACOBIAN_CHECK_EVERY == 0) or n == k:
            # The largest Ritz value of the rows still moving (the eigensolve is the costly
            # part, so settled rows keep their value); stop once every row has settled.
            rows = live.nonzero().squeeze(1)
            previous = top[rows]
            now = _top_ritz_value(alphas[rows, :n], betas[rows, : n - 1])
            top[rows] = now
            live[rows] = (now - previous).abs() > rtol * now.abs()
            if n == k or not bool(live.any()):
                break
    return top.clamp_min(0.0).sqrt().to(like.dtype)


def _top_ritz_value(alphas: Tensor, betas: Tensor) -> Tensor:
    """Largest eigenvalue of the Lanczos tridiagonal matrices, per batch row (float64):
    ``alphas`` (T, n) the diagonals, ``betas`` (T, n-1) the off-diagonals."""
    tri = torch.diag_embed(alphas.double())
    if alphas.shape[1] > 1:
        off = betas.double()
        tri = tri + torch.diag_embed(off, 1) + torch.diag_embed(off, -1)
    finite = torch.isfinite(tri).all(dim=2).all(dim=1)  # eigvalsh raises on NaN: mask those rows
    top = torch.linalg.eigvalsh(torch.where(finite[:, None, None], tri, torch.zeros_like(tri)))[:, -1]
    return torch.where(finite, top, torch.full_like(top, float("nan")))


def whh_singular_values(w_hh: Tensor, blocks: int) -> tuple[Tensor, Tensor]:
    """The singular values of the stacked W_hh (G*H, H) and of each gate's (H, H) block, both
    descending (gate blocks in PyTorch's order: LSTM i, f, g, o; GRU r, z, n; a tanh RNN has one
    block, W_hh itself). For a gated cell the blocks', not the stacked matrix's, are comparable
    with 1: the stacked sigma_max is up to sqrt(G) times the largest block's. From one batched
    symmetric eigensolve: sigma_i(A) = sqrt(lambda_i(A^T A)), in float64 (the squares
    would lose float32's small values), and the stacked Gram matrix is the sum of the blocks'
    (W^T W = sum_k W_k^T W_k). At H = 256 this took 24 ms where five SVDs took 32 ms.
    NaN when W_hh holds a NaN/Inf."""
    w = w_hh.detach()
    H = w.shape[1]
    if not bool(torch.isfinite(w).all()):
        nan = torch.full((H,), float("nan"), dtype=w.dtype, device=w.device)
        return nan, nan.expand(blocks, H).clone()
    wb = w.double().reshape(blocks, H, H)
    grams = torch.bmm(wb.transpose(1, 2), wb)  # (G, H, H)
    if blocks > 1:
        grams = torch.cat([grams.sum(dim=0, keepdim=True), grams])
    values = torch.linalg.eigvalsh(grams).clamp_min(0.0).sqrt().flip(-1).to(w.dtype)  # descending
    return values[0], (values[1:] if blocks > 1 else values)


def gradient_norm(grads: Sequence[Tensor]) -> Tensor:
    """The global norm of ``grads``, as clip_grad_norm_ measures it. Squares overflow float32
    from ~1e19 on: an exploding but finite gradient gets its real size (and clipping can still
    tame it) from a float64 norm."""
    total = torch.nn.utils.get_total_norm(grads)
    if not bool(torch.isfinite(total)):
        wide = torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(g, dtype=torch.float64) for g in grads])
        )
        if bool(torch.isfinite(wide)):
            total = wide
    return total


def first_nonfinite_time(x: Tensor) -> int | None:
    """First timestep (dim 0) holding a NaN/Inf, or None."""
    bad = ~torch.isfinite(x).flatten(1).all(dim=1)
    idx = torch.nonzero(bad)
    return int(idx[0, 0]) if idx.numel() else None


def last_nonfinite_time(x: Tensor) -> int | None:
    """Last timestep holding a NaN/Inf: where a backward pass over time meets it first."""
    bad = ~torch.isfinite(x).flatten(1).all(dim=1)
    idx = torch.nonzero(bad)
    return int(idx[-1, 0]) if idx.numel() else None


def locate_nonfinite(
    captures: dict[str, list[Capture]],
    loss: Tensor,
    named_grads: list[tuple[str, Tensor | None]],
    named_params: list[tuple[str, Tensor]],
) -> NonFinite | None:
    """Where the first NaN/Inf of a step appeared, in the order the step computed things:
    parameters, forward states (parts in order, layers bottom-up, earliest t), the loss,
    then the backward pass (parts in reverse, layers top-down, latest t), then the
    parameter gradients."""
    for name, p in named_params:
        if not bool(torch.isfinite(p).all()):
            return NonFinite("parameter", detail=name)
    for part, caps in captures.items():
        for layer, cap in enumerate(caps):
            for what, x in (("h", cap.h), ("c", cap.c)):
                if x is not None:
                    t = first_nonfinite_time(x)
                    if t is not None:
                        return NonFinite("forward", part, layer, t, f"{what}_t")
    if not bool(torch.isfinite(loss)):
        return NonFinite("loss")
    for part, caps in reversed(list(captures.items())):
        for layer in range(len(caps) - 1, -1, -1):
            cap = caps[layer]
            for what, x in (("dL/dh_t", cap.dh), ("dL/dc_t", cap.dc)):
                if x is not None:
                    t = last_nonfinite_time(x)
                    if t is not None:
                        return NonFinite("gradient", part, layer, t, what)
    for name, g in named_grads:
        if g is not None and not bool(torch.isfinite(g).all()):
            return NonFinite("gradient", detail=name)
    return None
