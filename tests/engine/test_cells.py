"""The hand-written BPTT of engine.cells / engine.layers against PyTorch.

Three references:
- the fused nn.RNN / nn.LSTM / nn.GRU holding the same weights (outputs, final states,
  weight, input and initial-state gradients);
- torch.autograd.gradcheck on each autograd Function (float64);
- an unrolled Python loop over the cell equations with ``retain_grad()`` on every h_t and
  c_t: its ``.grad`` is the total dL/dh_t (read-out, next layer, next timestep, final state),
  which is what ``Capture.dh`` / ``Capture.dc`` must hold.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import Tensor, nn

from rnnscope.engine.cells import GATES_PER_CELL, Capture, GRURecurrence, LSTMRecurrence, RNNRecurrence
from rnnscope.engine.layers import RecurrentStack

CELLS = ("rnn", "lstm", "gru")
TORCH_CLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
T, B, IN, H = 7, 3, 5, 4
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-12, atol=1e-12)}


# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny shapes: one intra-op thread is fastest and immune to a busy machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def make_stack(cell: str, layers: int, dtype: torch.dtype, seed: int = 0) -> RecurrentStack:
    """A stack with every parameter (biases included) drawn at random, so that every
    gradient path is exercised."""
    stack = RecurrentStack(cell, IN, H, layers)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in stack.parameters():
            p.uniform_(-0.7, 0.7, generator=gen)
    return stack.to(dtype)


def rand(*shape: int, dtype: torch.dtype, seed: int, grad: bool = False) -> Tensor:
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)
    return x.requires_grad_(grad)


def cell_step(
    cell: str, x: Tensor, h: Tensor, c: Tensor | None, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor
):
    """One timestep written from the PyTorch docs' equations -> (h, c, gate activations)."""
    gi = x @ w_ih.t() + b_ih
    gh = h @ w_hh.t() + b_hh
    if cell == "rnn":
        h_new = torch.tanh(gi + gh)
        return h_new, None, None
    if cell == "lstm":
        pi, pf, pg, po = (gi + gh).chunk(4, dim=1)
        i, f, g, o = torch.sigmoid(pi), torch.sigmoid(pf), torch.tanh(pg), torch.sigmoid(po)
        c_new = f * c + i * g
        h_new = o * torch.tanh(c_new)
        return h_new, c_new, torch.cat([i, f, g, o], dim=1)
    ir, iz, in_ = gi.chunk(3, dim=1)
    hr, hz, hn = gh.chunk(3, dim=1)
    r = torch.sigmoid(ir + hr)
    z = torch.sigmoid(iz + hz)
    n = torch.tanh(in_ + r * hn)
    h_new = (1 - z) * n + z * h
    return h_new, None, torch.cat([r, z, n], dim=1)


def unrolled(stack: RecurrentStack, x: Tensor, h0: Tensor | None = None, c0: Tensor | None = None):
    """The same stack as a Python loop. Every h_t / c_t retains its grad.
    -> (top output (T, B, H), hs[layer][t], cs[layer][t] or None, gates[layer][t] or None)"""
    cell = stack.cell
    Tn, Bn = x.shape[:2]
    hs: list[list[Tensor]] = []
    cs: list[list[Tensor]] = []
    gates: list[list[Tensor]] = []
    inp = x
    for layer in range(stack.layers):
        w_ih, w_hh, b_ih, b_hh = stack.params(layer)
        h = x.new_zeros(Bn, H) if h0 is None else h0[layer]
        c = x.new_zeros(Bn, H) if c0 is None else c0[layer]
        hl, cl, gl = [], [], []
        for t in range(Tn):
            h, c_new, act = cell_step(cell, inp[t], h, c, w_ih, w_hh, b_ih, b_hh)
            h.retain_grad()
            hl.append(h)
            if c_new is not None:
                c = c_new
                c.retain_grad()
                cl.append(c)
            gl.append(act)
        hs.append(hl)
        cs.append(cl)
        gates.append(gl)
        inp = torch.stack(hl)
    return inp, hs, cs, gates


def loss_of(out: Tensor, finals_h: list[Tensor], finals_c: list[Tensor], seed: int) -> Tensor:
    """A loss that uses every output and every layer's final h (and c): each gradient path counts."""
    loss = (out * rand(*out.shape, dtype=out.dtype, seed=seed)).sum()
    for k, h in enumerate(finals_h):
        loss = loss + (h * rand(*h.shape, dtype=h.dtype, seed=seed + 10 + k)).sum()
    for k, c in enumerate(finals_c):
        loss = loss + (c * rand(*c.shape, dtype=c.dtype, seed=seed + 20 + k)).sum()
    return loss


def fused_from(stack: RecurrentStack, dtype: torch.dtype) -> nn.RNNBase:
    mod = TORCH_CLS[stack.cell](IN, H, stack.layers)
    mod.load_state_dict(stack.state_dict())
    return mod.to(dtype)


GRID = list(itertools.product(CELLS, (1, 2, 3), (torch.float32, torch.float64)))


def grid_id(p: object) -> str:
    return str(p).replace("torch.", "")


# --- forward and gradients against the fused PyTorch modules ---------------------------------------


@pytest.mark.parametrize(("cell", "layers", "dtype"), GRID, ids=grid_id)
def test_stack_matches_fused_torch_module(cell: str, layers: int, dtype: torch.dtype) -> None:
    stack = make_stack(cell, layers, dtype)
    tol = TOL[dtype]
    is_lstm = cell == "lstm"
    x = rand(T, B, IN, dtype=dtype, seed=1, grad=True)
    h0 = rand(layers, B, H, dtype=dtype, seed=2, grad=True)
    c0 = rand(layers, B, H, dtype=dtype, seed=3, grad=True) if is_lstm else None

    caps = [Capture() for _ in range(layers)]
    out, hs, cs = stack(x, h0, c0, captures=caps)
    finals_h = [h[-1] for h in hs]
    finals_c = [c[-1] for c in cs if c is not None]
    loss_of(out, finals_h, finals_c, seed=4).backward()

    for mod in (fused_from(stack, dtype), stack.torch_module()):
        assert type(mod) is TORCH_CLS[cell]
        mod = mod.to(dtype)
        xr = x.detach().clone().requires_grad_(True)
        h0r = h0.detach().clone().requires_grad_(True)
        if is_lstm:
            assert c0 is not None
            c0r = c0.detach().clone().requires_grad_(True)
            out_r, (hn, cn) = mod(xr, (h0r, c0r))
            loss_of(out_r, list(hn), list(cn), seed=4).backward()
        else:
            out_r, hn = mod(xr, h0r)
            loss_of(out_r, list(hn), [], seed=4).backward()

        torch.testing.assert_close(out, out_r, **tol)
        torch.testing.assert_close(torch.stack(finals_h), hn, **tol)
        if is_lstm:
            torch.testing.assert_close(torch.stack(finals_c), cn, **tol)
            assert c0.grad is not None
            torch.testing.assert_close(c0.grad, c0r.grad, **tol)
        torch.testing.assert_close(x.grad, xr.grad, **tol)
        torch.testing.assert_close(h0.grad, h0r.grad, **tol)
        ref = dict(mod.named_parameters())
        for name, p in stack.named_parameters():
            assert p.grad is not None, name
            torch.testing.assert_close(p.grad, ref[name].grad, **tol, msg=lambda m, n=name: f"{n}: {m}")


@pytest.mark.parametrize("cell", CELLS)
def test_default_initial_state_is_zero(cell: str) -> None:
    """h0/c0 omitted = zeros, as nn.RNN/LSTM/GRU."""
    stack = make_stack(cell, 2, torch.float64)
    x = rand(T, B, IN, dtype=torch.float64, seed=5)
    out, _, _ = stack(x)
    ref, _ = stack.torch_module().double()(x)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
def test_state_dict_round_trips_through_torch_module(cell: str) -> None:
    stack = make_stack(cell, 2, torch.float32, seed=7)
    sd = stack.state_dict()
    mod = TORCH_CLS[cell](IN, H, 2)
    mod.load_state_dict(sd)  # strict: same names and shapes
    assert set(mod.state_dict()) == set(sd)
    back = RecurrentStack(cell, IN, H, 2)
    back.load_state_dict(mod.state_dict())
    for name, p in back.state_dict().items():
        assert torch.equal(p, sd[name]), name
    x = rand(T, B, IN, dtype=torch.float32, seed=8)
    assert torch.equal(back(x)[0], stack(x)[0])


def test_parameter_names_and_shapes_are_pytorchs() -> None:
    for cell, layers in itertools.product(CELLS, (1, 3)):
        stack = RecurrentStack(cell, IN, H, layers)
        ref = TORCH_CLS[cell](IN, H, layers)
        assert {n: tuple(p.shape) for n, p in stack.named_parameters()} == {
            n: tuple(p.shape) for n, p in ref.named_parameters()
        }
        assert GATES_PER_CELL[cell] * H == stack.weight_hh_l0.shape[0]


def test_unknown_cell_is_refused() -> None:
    with pytest.raises(ValueError, match="cell"):
        RecurrentStack("transformer", IN, H, 1)


# --- gradcheck on each Function ---------------------------------------------------------------------


def _gc_inputs(G: int, with_c: bool, seed: int) -> list[Tensor]:
    t, b, h = 4, 2, 3
    ins = [
        rand(t, b, G * h, dtype=torch.float64, seed=seed, grad=True),
        (0.5 * rand(b, h, dtype=torch.float64, seed=seed + 1)).requires_grad_(True),
    ]
    if with_c:
        ins.append((0.5 * rand(b, h, dtype=torch.float64, seed=seed + 2)).requires_grad_(True))
    ins.append((0.6 * rand(G * h, h, dtype=torch.float64, seed=seed + 3)).requires_grad_(True))
    ins.append((0.3 * rand(G * h, dtype=torch.float64, seed=seed + 4)).requires_grad_(True))
    return ins


def test_gradcheck_rnn_recurrence() -> None:
    ins = _gc_inputs(1, False, 10)
    assert torch.autograd.gradcheck(lambda *a: RNNRecurrence.apply(*a, Capture()), ins)


def test_gradcheck_lstm_recurrence() -> None:
    ins = _gc_inputs(4, True, 20)
    assert torch.autograd.gradcheck(lambda *a: LSTMRecurrence.apply(*a, Capture()), ins)


def test_gradcheck_gru_recurrence() -> None:
    ins = _gc_inputs(3, False, 30)
    assert torch.autograd.gradcheck(lambda *a: GRURecurrence.apply(*a, Capture()), ins)


def test_gradcheck_lstm_cell_output_only() -> None:
    """Only c_t used downstream (h_t's incoming gradient is zero / None)."""
    ins = _gc_inputs(4, True, 40)
    assert torch.autograd.gradcheck(lambda *a: LSTMRecurrence.apply(*a, Capture())[1], ins)


# --- captured states, gates and total gradients against the unrolled reference ----------------------

# How the loss reaches the layers: every output / the final states only / both.
LOSS_KINDS = ("outputs", "final_state", "both")


@pytest.mark.parametrize(
    ("cell", "layers", "kind"),
    list(itertools.product(CELLS, (1, 2, 3), LOSS_KINDS)),
)
def test_capture_matches_unrolled_autograd(cell: str, layers: int, kind: str) -> None:
    dtype = torch.float64
    stack = make_stack(cell, layers, dtype, seed=layers)
    is_lstm = cell == "lstm"
    x = rand(T, B, IN, dtype=dtype, seed=11)
    h0 = rand(layers, B, H, dtype=dtype, seed=12)
    c0 = rand(layers, B, H, dtype=dtype, seed=13) if is_lstm else None

    def loss(out: Tensor, fin_h: list[Tensor], fin_c: list[Tensor]) -> Tensor:
        if kind == "outputs":
            return loss_of(out, [], [], seed=14)
        if kind == "final_state":  # e.g. an encoder whose final state feeds a decoder
            return loss_of(out * 0.0, fin_h, fin_c, seed=14)
        return loss_of(out, fin_h, fin_c, seed=14)

    caps = [Capture() for _ in range(layers)]
    out, hs, cs = stack(x, h0, c0, captures=caps)
    loss(out, [h[-1] for h in hs], [c[-1] for c in cs if c is not None]).backward()

    ref_out, rhs, rcs, rgates = unrolled(stack, x, h0, c0)
    loss(ref_out, [h[-1] for h in rhs], [c[-1] for c in rcs if c]).backward()

    tol = TOL[dtype]
    torch.testing.assert_close(out, ref_out, **tol)
    for layer, cap in enumerate(caps):
        assert cap.h is not None and cap.dh is not None
        assert cap.h.shape == cap.dh.shape == (T, B, H)
        torch.testing.assert_close(cap.h, torch.stack(rhs[layer]), **tol)
        torch.testing.assert_close(cap.h0, h0[layer], **tol)
        ref_dh = torch.stack([h.grad for h in rhs[layer]])
        torch.testing.assert_close(cap.dh, ref_dh, **tol, msg=lambda m, ly=layer: f"dL/dh layer {ly}: {m}")
        assert float(ref_dh.abs().max()) > 1e-3  # the check is not vacuous
        if is_lstm:
            assert cap.c is not None and cap.dc is not None and cap.tanh_c is not None
            torch.testing.assert_close(cap.c, torch.stack(rcs[layer]), **tol)
            torch.testing.assert_close(cap.tanh_c, torch.tanh(cap.c), **tol)
            assert c0 is not None
            torch.testing.assert_close(cap.c0, c0[layer], **tol)
            ref_dc = torch.stack([c.grad for c in rcs[layer]])
            torch.testing.assert_close(
                cap.dc, ref_dc, **tol, msg=lambda m, ly=layer: f"dL/dc layer {ly}: {m}"
            )
        else:
            assert cap.c is None and cap.dc is None
        if cell == "rnn":
            assert cap.act is None
        else:
            assert cap.act is not None
            assert cap.act.shape == (T, B, GATES_PER_CELL[cell] * H)
            torch.testing.assert_close(cap.act, torch.stack(rgates[layer]), **tol)
        if cell == "gru":  # W_hh h_{t-1} + b_hh
            w_hh, b_hh = stack.params(layer)[1], stack.params(layer)[3]
            h_prev = torch.cat([h0[layer][None], torch.stack(rhs[layer])[:-1]])
            torch.testing.assert_close(cap.hp, h_prev @ w_hh.t() + b_hh, **tol)


@pytest.mark.parametrize("cell", CELLS)
def test_capture_with_dropout_between_layers(cell: str) -> None:
    """A ``between`` hook (dropout) on layer l's input: dL/dh of the layer below then
    passes through the mask; the captured gradient still equals the unrolled one."""
    dtype = torch.float64
    stack = make_stack(cell, 2, dtype, seed=3)
    x = rand(T, B, IN, dtype=dtype, seed=31)
    mask = (torch.rand(T, B, H, generator=torch.Generator().manual_seed(5)) > 0.4).to(dtype) / 0.6
    seen: list[int] = []

    def between(inp: Tensor, layer: int) -> Tensor:
        seen.append(layer)
        return inp * mask

    caps = [Capture(), Capture()]
    out, _, _ = stack(x, between=between, captures=caps)
    loss_of(out, [], [], seed=32).backward()
    assert seen == [1]

    # unrolled with the same mask on layer 1's input
    w = [stack.params(k) for k in range(2)]
    hs0, hs1 = [], []
    h, c = x.new_zeros(B, H), x.new_zeros(B, H)
    for t in range(T):
        h, c_new, _ = cell_step(cell, x[t], h, c, *w[0])
        c = c if c_new is None else c_new
        h.retain_grad()
        hs0.append(h)
    inp = torch.stack(hs0) * mask
    h, c = x.new_zeros(B, H), x.new_zeros(B, H)
    for t in range(T):
        h, c_new, _ = cell_step(cell, inp[t], h, c, *w[1])
        c = c if c_new is None else c_new
        h.retain_grad()
        hs1.append(h)
    loss_of(torch.stack(hs1), [], [], seed=32).backward()
    torch.testing.assert_close(caps[0].dh, torch.stack([h.grad for h in hs0]), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(caps[1].dh, torch.stack([h.grad for h in hs1]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
def test_float32_capture_close_to_float64(cell: str) -> None:
    """The float32 route (what the trainer runs) agrees with float64 to float precision."""
    s64 = make_stack(cell, 2, torch.float64, seed=9)
    s32 = make_stack(cell, 2, torch.float32, seed=9)
    x = rand(T, B, IN, dtype=torch.float64, seed=41)
    c64, c32 = [Capture(), Capture()], [Capture(), Capture()]
    out64, hs64, _ = s64(x, captures=c64)
    out32, hs32, _ = s32(x.float(), captures=c32)
    loss_of(out64, [hs64[0][-1]], [], seed=42).backward()
    loss_of(out32, [hs32[0][-1]], [], seed=42).backward()
    for a, b in zip(c64, c32, strict=True):
        torch.testing.assert_close(b.dh.double(), a.dh, rtol=1e-4, atol=1e-5)
        if a.dc is not None:
            torch.testing.assert_close(b.dc.double(), a.dc, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("cell", "t_len", "batch"), list(itertools.product(CELLS, (1, 2), (1, 2))))
def test_edge_shapes_and_non_contiguous_gradients(cell: str, t_len: int, batch: int) -> None:
    """T=1 / B=1, and incoming gradients that are expanded (from .sum()) or strided (the
    models read the output batch-first through a transpose)."""
    dtype = torch.float64
    stack = make_stack(cell, 2, dtype, seed=13)
    x = rand(t_len, batch, IN, dtype=dtype, seed=51, grad=True)
    caps = [Capture(), Capture()]
    out, hs, cs = stack(x, captures=caps)
    w = rand(batch, t_len, H, dtype=dtype, seed=52)
    extra = cs[0][-1].sum() if cell == "lstm" else hs[0][-1].sum()
    (out.transpose(0, 1) * w).sum().add(out.sum()).add(extra).backward()

    ref_out, rhs, rcs, _ = unrolled(stack, x)
    extra_r = rcs[0][-1].sum() if cell == "lstm" else rhs[0][-1].sum()
    (ref_out.transpose(0, 1) * w).sum().add(ref_out.sum()).add(extra_r).backward()
    for layer in range(2):
        torch.testing.assert_close(
            caps[layer].dh, torch.stack([h.grad for h in rhs[layer]]), rtol=1e-12, atol=1e-12
        )
        if cell == "lstm":
            torch.testing.assert_close(
                caps[layer].dc, torch.stack([c.grad for c in rcs[layer]]), rtol=1e-12, atol=1e-12
            )


# --- memory: nothing may outlive a step without the cycle collector ---------------------------------


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_step_frees_its_activations_without_gc(cell: str) -> None:
    """A Capture kept by the autograd node must not hold the node's own output: that cycle
    kept every step's activations alive until a gc pass (4.7 MB/step at LSTM B32 T50 H64)."""
    import gc
    import weakref

    stack = RecurrentStack(cell, 3, 5, layers=2)
    gc.collect()
    gc.disable()
    try:
        captures = [Capture(), Capture()]
        out = stack(rand(6, 2, 3, dtype=torch.float32, seed=1), captures=captures)[0]
        out.square().sum().backward()
        ref = weakref.ref(out)
        held = [weakref.ref(c.h) for c in captures if c.h is not None]
        assert len(held) == 2
        del out, captures
        assert ref() is None, "the layer output is kept alive by a reference cycle"
        assert all(r() is None for r in held), "a capture outlives its step"
    finally:
        gc.enable()
