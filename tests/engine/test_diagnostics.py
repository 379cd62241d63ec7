"""engine.diagnostics against exact references: the step Jacobian's spectral norm against
torch.autograd.functional.jacobian + matrix_norm(ord=2), singular values against numpy,
masked gradient norms against numpy, and where locate_nonfinite reports planted NaNs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from torch import Tensor

from rnnscope.engine.cells import Capture
from rnnscope.engine.diagnostics import (
    jacobian_norms,
    locate_nonfinite,
    masked_batch_mean_norm,
    whh_singular_values,
)
from rnnscope.engine.layers import RecurrentStack

CELLS = ("rnn", "lstm", "gru")
T, B, IN, H = 10, 3, 4, 6


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny shapes: one intra-op thread is fastest and immune to a busy machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def make_stack(cell: str, layers: int, seed: int, w_scale: float, hidden: int = H) -> RecurrentStack:
    stack = RecurrentStack(cell, IN, hidden, layers).double()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in stack.named_parameters():
            p.uniform_(-1.0, 1.0, generator=gen)
            if name.startswith("weight_hh"):
                p.mul_(w_scale)
    return stack


def one_step(
    cell: str, x: Tensor, h: Tensor, c: Tensor | None, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor
) -> Tensor:
    """h_t from h_{t-1} (x_t and, for the LSTM, c_{t-1} fixed), PyTorch's equations."""
    gi = x @ w_ih.t() + b_ih
    gh = h @ w_hh.t() + b_hh
    if cell == "rnn":
        return torch.tanh(gi + gh)
    if cell == "lstm":
        assert c is not None
        i, f, g, o = (gi + gh).chunk(4, dim=-1)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c_new)
    ir, iz, in_ = gi.chunk(3, dim=-1)
    hr, hz, hn = gh.chunk(3, dim=-1)
    r = torch.sigmoid(ir + hr)
    z = torch.sigmoid(iz + hz)
    n = torch.tanh(in_ + r * hn)
    return (1 - z) * n + z * h


def lstm_joint_step(x: Tensor, hc: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Tensor:
    """(h_t, c_t) from (h_{t-1}, c_{t-1}) concatenated (T, 2H), PyTorch's LSTM equations."""
    H = w_hh.shape[1]
    h, c = hc[:, :H], hc[:, H:]
    i, f, g, o = (x @ w_ih.t() + b_ih + h @ w_hh.t() + b_hh).chunk(4, dim=-1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.cat([torch.sigmoid(o) * torch.tanh(c_new), c_new], dim=-1)


def exact_step_norms(stack: RecurrentStack, caps: list[Capture], x: Tensor, layer: int, b: int) -> Tensor:
    """(T,) the exact recurrence gain for sample b from the full Jacobian of one step:
    ||d h_t / d h_{t-1}||_2, and for the LSTM ||d (h_t, c_t) / d (h_{t-1}, c_{t-1})||_2."""
    w_ih, w_hh, b_ih, b_hh = (p.detach() for p in stack.params(layer))
    cap = caps[layer]
    assert cap.h is not None and cap.h0 is not None
    inp = x if layer == 0 else caps[layer - 1].h
    assert inp is not None
    h_prev = torch.cat([cap.h0[None], cap.h[:-1]])[:, b].detach()  # (T, H)
    c_prev = None
    if cap.c is not None:
        assert cap.c0 is not None
        c_prev = torch.cat([cap.c0[None], cap.c[:-1]])[:, b].detach()
    xs = inp[:, b].detach()  # (T, in)
    Tn, Hn = h_prev.shape
    # Row t of the output depends only on row t of the input: the (T, H, T, H) Jacobian is
    # block diagonal, and its t-th block is dh_t/dh_{t-1}.
    if stack.cell == "lstm":
        assert c_prev is not None
        state = torch.cat([h_prev, c_prev], dim=1)  # (T, 2H)
        jac = torch.autograd.functional.jacobian(
            lambda hc: lstm_joint_step(xs, hc, w_ih, w_hh, b_ih, b_hh), state, vectorize=True
        )
        Hn = 2 * Hn
    else:
        jac = torch.autograd.functional.jacobian(
            lambda h: one_step(stack.cell, xs, h, c_prev, w_ih, w_hh, b_ih, b_hh), h_prev, vectorize=True
        )
    idx = torch.arange(Tn)
    blocks = jac[idx, :, idx, :]  # (T, H, H), LSTM (T, 2H, 2H)
    assert blocks.shape == (Tn, Hn, Hn)
    finite = torch.isfinite(blocks).flatten(1).all(dim=1)
    norms = torch.linalg.matrix_norm(torch.where(finite[:, None, None], blocks, 0.0), ord=2)
    return torch.where(finite, norms, torch.nan)


@pytest.mark.parametrize(
    ("cell", "w_scale", "seed"),
    list(itertools.product(CELLS, (0.3, 1.0, 2.5), (0, 1))),
)
def test_jacobian_norms_equal_exact_spectral_norm(cell: str, w_scale: float, seed: int) -> None:
    layers = 2
    stack = make_stack(cell, layers, seed, w_scale)
    gen = torch.Generator().manual_seed(100 + seed)
    x = torch.randn(T, B, IN, generator=gen, dtype=torch.float64)
    h0 = 0.5 * torch.randn(layers, B, H, generator=gen, dtype=torch.float64)
    c0 = torch.randn(layers, B, H, generator=gen, dtype=torch.float64) if cell == "lstm" else None
    caps = [Capture() for _ in range(layers)]
    with torch.no_grad():
        stack(x, h0, c0, captures=caps)
    for layer, b in itertools.product(range(layers), range(B)):
        got = jacobian_norms(cell, caps[layer], b, stack.params(layer)[1].detach())
        want = exact_step_norms(stack, caps, x, layer, b)
        assert got.shape == (T,)
        np.testing.assert_allclose(
            got.numpy(), want.numpy(), rtol=1e-3, atol=1e-9, err_msg=f"{cell} layer {layer} sample {b}"
        )


@pytest.mark.parametrize(("cell", "init"), list(itertools.product(CELLS, ("orthogonal", "normal"))))
def test_jacobian_norms_wide_layer(cell: str, init: str) -> None:
    """H = 48, wider than any fixed iteration count an estimator might use: the estimate
    must still be within 1e-3 of the exact norm (the trainer's default H is 64)."""
    hidden = 48
    stack = RecurrentStack(cell, IN, hidden, 1).double()
    gen = torch.Generator().manual_seed(11)
    stack.reset_parameters(gen, init=init, init_scale=1.0, forget_bias=1.0)
    with torch.no_grad():
        for name, p in stack.named_parameters():
            if name.startswith("bias"):
                p.uniform_(-0.5, 0.5, generator=gen)
    x = torch.randn(T, 2, IN, generator=gen, dtype=torch.float64)
    caps = [Capture()]
    with torch.no_grad():
        stack(x, captures=caps)
    for b in range(2):
        got = jacobian_norms(cell, caps[0], b, stack.params(0)[1].detach())
        want = exact_step_norms(stack, caps, x, 0, b)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-3, err_msg=f"{cell} {init} sample {b}")


@pytest.mark.parametrize("cell", CELLS)
def test_jacobian_norms_float32_and_deterministic(cell: str) -> None:
    """The trainer runs float32: still within 1e-3 of the float64 exact value, and bitwise
    repeatable."""
    stack64 = make_stack(cell, 1, 3, 1.0)
    stack32 = make_stack(cell, 1, 3, 1.0).float()
    x = torch.randn(T, B, IN, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    caps64, caps32 = [Capture()], [Capture()]
    with torch.no_grad():
        stack64(x, captures=caps64)
        stack32(x.float(), captures=caps32)
    want = exact_step_norms(stack64, caps64, x, 0, 1)
    w32 = stack32.params(0)[1].detach()
    got = jacobian_norms(cell, caps32[0], 1, w32)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.double().numpy(), want.numpy(), rtol=1e-3)
    assert torch.equal(got, jacobian_norms(cell, caps32[0], 1, w32))


def singular_values(w: Tensor) -> Tensor:
    """The stacked W_hh's singular values as frames.py records them (G = rows / columns)."""
    return whh_singular_values(w, w.shape[0] // w.shape[1])[0]


def block_singular_values(w: Tensor, blocks: int) -> Tensor:
    """Each gate block's singular values as frames.py records them."""
    return whh_singular_values(w, blocks)[1]


def svd64(w: Tensor) -> np.ndarray:
    return np.linalg.svd(w.detach().double().numpy(), compute_uv=False)


@pytest.mark.parametrize("cell", CELLS)
def test_singular_values_match_numpy(cell: str) -> None:
    stack = make_stack(cell, 1, 5, 1.3)
    w = stack.params(0)[1]
    got = singular_values(w)
    want = np.linalg.svd(w.detach().numpy(), compute_uv=False)
    assert got.shape == (H,)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    assert bool((got[:-1] >= got[1:]).all())  # descending


def test_singular_values_of_orthogonal_init_are_the_gain() -> None:
    stack = RecurrentStack("rnn", IN, H, 1)
    stack.reset_parameters(
        torch.Generator().manual_seed(0), init="orthogonal", init_scale=0.8, forget_bias=0.0
    )
    np.testing.assert_allclose(singular_values(stack.weight_hh_l0).numpy(), np.full(H, 0.8), rtol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
def test_block_singular_values_match_a_float64_svd_of_each_gate_block(cell: str) -> None:
    stack = make_stack(cell, 1, 7, 1.1)
    w = stack.params(0)[1].detach()
    blocks = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    got = block_singular_values(w, blocks)
    w64 = w.double().numpy()
    want = np.stack([np.linalg.svd(w64[k * H : (k + 1) * H], compute_uv=False) for k in range(blocks)])
    assert got.shape == (blocks, H)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    if cell == "rnn":  # one block: W_hh itself
        np.testing.assert_allclose(got[0].numpy(), singular_values(w).numpy(), rtol=1e-12)
    w[0, 0] = float("nan")
    assert torch.isnan(block_singular_values(w, blocks)).all()


@pytest.mark.parametrize(("cell", "gates"), [("lstm", 4), ("gru", 3)])
def test_orthogonal_gate_blocks_have_the_init_scale_while_the_stacked_matrix_reads_more(
    cell: str, gates: int
) -> None:
    """The audit's case: every gate block of an orthogonal init has sigma = init_scale, while the
    stacked (G*H, H) matrix shows sqrt(G) times it (LSTM 2.0 at scale 1, 1.2 at 0.6)."""
    for scale in (1.0, 0.6):
        stack = RecurrentStack(cell, IN, H, 1)
        stack.reset_parameters(
            torch.Generator().manual_seed(0), init="orthogonal", init_scale=scale, forget_bias=0.0
        )
        w = stack.weight_hh_l0
        np.testing.assert_allclose(
            block_singular_values(w, gates).numpy(), np.full((gates, H), scale), rtol=1e-5
        )
        np.testing.assert_allclose(float(singular_values(w)[0]), math.sqrt(gates) * scale, rtol=1e-5)


def test_masked_batch_mean_norm() -> None:
    g = torch.randn(5, 4, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    valid = torch.tensor(
        [[1, 1, 1, 1], [1, 0, 1, 1], [0, 0, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0]], dtype=torch.bool
    )
    norms = np.linalg.norm(g.numpy(), axis=2)
    np.testing.assert_allclose(masked_batch_mean_norm(g, None).numpy(), norms.mean(axis=1), rtol=1e-12)
    got = masked_batch_mean_norm(g, valid).numpy()
    v = valid.numpy()
    for t in range(5):
        if v[t].any():
            assert math.isclose(got[t], norms[t][v[t]].mean(), rel_tol=1e-12)
        else:
            assert math.isnan(got[t])


def test_masked_batch_mean_norm_of_a_huge_float32_gradient_is_its_size_not_inf() -> None:
    """An exploding gradient of 1e20 per unit: its squares overflow float32, its norm does not."""
    g = torch.full((3, 2, 4), 1e20, dtype=torch.float32)
    g[1, 0, 0] = float("nan")
    got = masked_batch_mean_norm(g, None)
    assert got.dtype == torch.float64  # issue 11: summed in float64 at every magnitude
    torch.testing.assert_close(got[[0, 2]], torch.full((2,), 2e20, dtype=torch.float64))
    assert torch.isnan(got[1])  # a NaN stays a NaN


# --- locate_nonfinite -------------------------------------------------------------------------------


def real_step(cells: tuple[str, str] = ("lstm", "gru"), layers: int = 2):
    """Captures of a real forward/backward over two parts (like encoder/decoder)."""
    stacks = {
        "encoder": make_stack(cells[0], layers, 0, 1.0),
        "decoder": make_stack(cells[1], layers, 1, 1.0),
    }
    x = torch.randn(T, B, IN, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    captures: dict[str, list[Capture]] = {}
    loss = x.new_zeros(())
    for part, stack in stacks.items():
        captures[part] = [Capture() for _ in range(layers)]
        out, _, _ = stack(x, captures=captures[part])
        loss = loss + out.square().sum()
    loss.backward()
    params = [(f"{p}.{n}", w) for p, s in stacks.items() for n, w in s.named_parameters()]
    grads = [(n, w.grad) for n, w in params]
    return captures, loss.detach(), grads, params


def test_locate_nonfinite_all_finite_is_none() -> None:
    caps, loss, grads, params = real_step()
    assert locate_nonfinite(caps, loss, grads, params) is None


def test_locate_nonfinite_parameter() -> None:
    caps, loss, grads, params = real_step()
    with torch.no_grad():
        params[5][1][0, 0] = math.inf
    nf = locate_nonfinite(caps, loss, grads, params)
    assert nf is not None and nf.where == "parameter" and nf.detail == params[5][0]


def test_locate_nonfinite_forward_earliest_state() -> None:
    caps, _, grads, params = real_step()
    caps["decoder"][0].h[1, 2, 0] = math.nan  # later part: reported only if the encoder is clean
    caps["encoder"][1].h[6, 0, 3] = math.nan
    caps["encoder"][1].h[4, 1, 1] = math.inf
    caps["encoder"][1].h[8, 1, 1] = math.nan
    nf = locate_nonfinite(caps, torch.tensor(math.nan), grads, params)
    assert nf is not None
    assert (nf.where, nf.part, nf.layer, nf.timestep) == ("forward", "encoder", 1, 4)
    assert "h" in nf.detail
    text = nf.describe()
    assert "forward" in text and "encoder" in text and "layer 1" in text and "t=4" in text


def test_locate_nonfinite_forward_cell_state() -> None:
    caps, loss, grads, params = real_step()
    caps["encoder"][0].c[3, 0, 0] = math.nan  # the LSTM cell state only
    nf = locate_nonfinite(caps, loss, grads, params)
    assert nf is not None
    assert (nf.where, nf.part, nf.layer, nf.timestep) == ("forward", "encoder", 0, 3)
    assert "c" in nf.detail


def test_locate_nonfinite_forward_lower_layer_first() -> None:
    caps, loss, grads, params = real_step()
    caps["decoder"][1].h[2, 0, 0] = math.nan
    caps["decoder"][0].h[7, 0, 0] = math.nan
    nf = locate_nonfinite(caps, loss, grads, params)
    assert nf is not None and (nf.part, nf.layer, nf.timestep) == ("decoder", 0, 7)


def test_locate_nonfinite_loss() -> None:
    caps, _, grads, params = real_step()
    for g in caps["decoder"][1].dh, grads[0][1]:  # later in the step than the loss
        g[0] = math.nan
    nf = locate_nonfinite(caps, torch.tensor(math.inf), grads, params)
    assert nf is not None and nf.where == "loss" and nf.part is None and nf.timestep is None


def test_locate_nonfinite_backward_latest_timestep_top_layer_last_part() -> None:
    caps, loss, grads, params = real_step()
    caps["encoder"][1].dh[9, 0, 0] = math.nan  # earlier part in the forward = later in the backward
    caps["decoder"][0].dh[2, 0, 0] = math.nan
    caps["decoder"][0].dh[5, 1, 2] = math.inf
    nf = locate_nonfinite(caps, loss, grads, params)
    assert nf is not None
    assert (nf.where, nf.part, nf.layer, nf.timestep) == ("gradient", "decoder", 0, 5)
    assert "dh" in nf.detail


def test_locate_nonfinite_backward_cell_gradient() -> None:
    caps, loss, grads, params = real_step(("lstm", "lstm"))
    caps["decoder"][1].dc[3, 0, 0] = math.nan
    nf = locate_nonfinite(caps, loss, grads, params)
    assert nf is not None
    assert (nf.where, nf.part, nf.layer, nf.timestep) == ("gradient", "decoder", 1, 3)
    assert "dc" in nf.detail


def test_locate_nonfinite_parameter_gradient() -> None:
    caps, loss, grads, params = real_step()
    name, g = grads[3]
    assert g is not None
    g[0] = math.nan
    nf = locate_nonfinite(caps, loss, grads, params)
    assert nf is not None and nf.where == "gradient" and nf.detail == name and nf.timestep is None


# --- diagnostics of a broken step must not raise ------------------------------------------------------


@pytest.mark.parametrize("cell", CELLS)
def test_jacobian_norms_with_nonfinite_states_do_not_raise(cell: str) -> None:
    """A NaN that entered the probe sample at t=3 (e.g. from the data): the norms before t=3
    are still exact, later ones are NaN, and nothing raises (the trainer records the step)."""
    stack = make_stack(cell, 1, 2, 1.0)
    x = torch.randn(T, B, IN, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    x[3, 1, 0] = math.nan
    caps = [Capture()]
    with torch.no_grad():
        stack(x, captures=caps)
    got = jacobian_norms(cell, caps[0], 1, stack.params(0)[1].detach())
    assert got.shape == (T,)
    want = exact_step_norms(stack, caps, x, 0, 1)
    np.testing.assert_allclose(got[:3].numpy(), want[:3].numpy(), rtol=1e-3)
    assert not np.isfinite(got[4:].numpy()).any()
    # another sample of the same batch is unaffected
    np.testing.assert_allclose(
        jacobian_norms(cell, caps[0], 0, stack.params(0)[1].detach()).numpy(),
        exact_step_norms(stack, caps, x, 0, 0).numpy(),
        rtol=1e-3,
    )


def test_singular_values_of_nonfinite_matrix_do_not_raise() -> None:
    """Weights that overflowed (a skipped update's aftermath): NaN values, not an exception."""
    w = torch.randn(3 * H, H, dtype=torch.float64)
    w[2, 1] = math.nan
    got = singular_values(w)
    assert got.shape == (H,)
    assert not np.isfinite(got.numpy()).all()


# --- issue 11: the recurrence gain means what the lesson needs -------------------------------


def test_a_start_vector_in_the_null_space_no_longer_reads_zero() -> None:
    """H=2 and W_hh's rows summing to 0: ones/sqrt(2) is in the null space of J^T J, where the
    old fixed start reported 0. The exact norms are 0.02-0.37 here."""
    stack = RecurrentStack("rnn", 1, 2, 1).double()
    with torch.no_grad():
        stack.weight_hh_l0.copy_(torch.tensor([[0.3, -0.3], [-0.2, 0.2]], dtype=torch.float64))
        stack.weight_ih_l0.copy_(torch.tensor([[1.0], [-0.5]], dtype=torch.float64))
        stack.bias_ih_l0.zero_()
        stack.bias_hh_l0.zero_()
    x = torch.linspace(-2, 2, 12, dtype=torch.float64).view(12, 1, 1)
    cap = Capture()
    with torch.no_grad():
        stack(x, captures=[cap])
    want = exact_step_norms(stack, [cap], x, 0, 0)
    assert float(want.min()) > 0.01
    for dtype in (torch.float64, torch.float32):
        c = Capture(h=cap.h.to(dtype), h0=cap.h0.to(dtype))
        got = jacobian_norms("rnn", c, 0, stack.weight_hh_l0.detach().to(dtype))
        np.testing.assert_allclose(
            got.double().numpy(), want.numpy(), rtol=1e-3 if dtype == torch.float32 else 1e-6
        )


@pytest.mark.parametrize(("cell", "w_scale"), list(itertools.product(CELLS, (0.4, 1.0, 2.0))))
def test_the_product_of_the_gains_bounds_the_measured_gradient_decay(cell: str, w_scale: float) -> None:
    """A loss on the last hidden state only: the gradient reaching the initial state is at most
    ||dL/dstate_T|| times the product of the per-step gains (float64, exact autograd). The
    LSTM's h-only Jacobian fails this (the issue's vanishing demo: product 8e-20 against an
    actual 2.8e-4); its joint gain is what bounds it."""
    T_, B_ = 30, 3
    stack = make_stack(cell, 1, 7, w_scale)
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(T_, B_, IN, generator=gen, dtype=torch.float64)
    h0 = (0.3 * torch.randn(1, B_, H, generator=gen, dtype=torch.float64)).requires_grad_()
    c0 = (
        (0.3 * torch.randn(1, B_, H, generator=gen, dtype=torch.float64)).requires_grad_()
        if cell == "lstm"
        else None
    )
    cap = Capture()
    out = stack(x, h0, c0, captures=[cap])
    top = out[0] if isinstance(out, tuple) else out
    r = torch.randn(B_, H, generator=gen, dtype=torch.float64)
    (top[-1] * r).sum().backward()
    with torch.no_grad():  # the captured h0 is the caller's (it requires grad here)
        gains = [jacobian_norms(cell, cap, b, stack.weight_hh_l0.detach()) for b in range(B_)]
    for b in range(B_):
        reach = [h0.grad[0, b]] + ([c0.grad[0, b]] if c0 is not None else [])
        actual = float(torch.linalg.vector_norm(torch.cat(reach)))
        bound = float(torch.linalg.vector_norm(r[b])) * float(torch.prod(gains[b]))
        assert actual > 0 and actual <= bound * (1 + 1e-6), (cell, w_scale, b, actual, bound)


@pytest.mark.parametrize("cell", CELLS)
def test_one_eigensolve_gives_the_svds_singular_values(cell: str) -> None:
    """frames.py takes both kinds of singular values from one batched float64 eigensolve of the
    Gram matrices: the same values as numpy's SVDs, small ones included."""
    blocks = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    stack = make_stack(cell, 1, 11, 1.4)
    w = stack.params(0)[1].detach().clone()
    w[:, 0] *= 1e-3  # a small singular value too
    stacked, per_gate = whh_singular_values(w, blocks)
    np.testing.assert_allclose(stacked.numpy(), svd64(w), rtol=1e-5, atol=1e-7)
    want = np.stack([svd64(w[k * H : (k + 1) * H]) for k in range(blocks)])
    np.testing.assert_allclose(per_gate.numpy(), want, rtol=1e-5, atol=1e-7)
    assert per_gate.shape == (blocks, H) and stacked.dtype == w.dtype
    w[1, 1] = float("inf")
    stacked, per_gate = whh_singular_values(w, blocks)
    assert torch.isnan(stacked).all() and torch.isnan(per_gate).all()
