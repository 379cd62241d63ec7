"""The C++ time loops (engine/native) against the torch loops (engine/loops.py) they replace.

tests/engine/test_cells.py holds both to the fused PyTorch modules and to an unrolled
autograd reference (its float32 cases run the C++ loops, its float64 cases the torch
loops). Here the two implementations meet head to head on the same float32 inputs:
every output, every captured activation and gradient, every parameter gradient, for
shapes the SIMD code treats specially (H not a multiple of the vector width, T = 1,
B = 1), with and without a gradient on the LSTM's c_t outputs, and with non-finite input.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import Tensor

from rnnscope.engine import native
from rnnscope.engine.cells import Capture
from rnnscope.engine.config import TrainConfig
from rnnscope.engine.layers import RecurrentStack
from rnnscope.engine.native.builder import compiler
from rnnscope.engine.trainer import Trainer

CELLS = ("rnn", "lstm", "gru")
# (T, B, I, H): tiny, vector-width tails (H = 5, 13, 19), a full-width H, batch 1, one timestep.
SHAPES = ((7, 3, 5, 5), (6, 4, 6, 13), (5, 2, 8, 16), (9, 1, 4, 19), (1, 5, 3, 8), (4, 3, 7, 1))

# Only a machine without a C++ compiler skips these; where one exists, a kernel that does not
# build fails here rather than hiding behind the torch fallback.
pytestmark = pytest.mark.skipif(compiler() is None, reason="no C++ compiler")


@pytest.fixture(autouse=True, scope="module")
def _kernels_built() -> None:
    assert native.load(), native.status()


def _stack(cell: str, in_size: int, hidden: int, layers: int, seed: int) -> RecurrentStack:
    stack = RecurrentStack(cell, in_size, hidden, layers)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in stack.parameters():
            p.uniform_(-0.6, 0.6, generator=gen)
    return stack


def _randn(*shape: int, seed: int) -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _run(mode: str, cell: str, shape: tuple[int, int, int, int], layers: int, loss_kind: str):
    """Forward + backward of a stack under kernels ``mode`` -> every tensor worth comparing."""
    T, B, In, H = shape
    stack = _stack(cell, In, H, layers, seed=layers * 7 + H)
    x = _randn(T, B, In, seed=1).requires_grad_(True)
    h0 = (0.5 * _randn(layers, B, H, seed=2)).requires_grad_(True)
    c0 = (0.5 * _randn(layers, B, H, seed=3)).requires_grad_(True) if cell == "lstm" else None
    caps = [Capture() for _ in range(layers)]
    with native.forced(mode):
        out, hs, cs = stack(x, h0, c0, captures=caps)
        w_out = _randn(B, T, H, seed=4)
        loss = (out.transpose(0, 1) * w_out).sum()  # strided incoming gradient, as the models send
        if loss_kind in ("final", "both"):
            loss = loss * (0.0 if loss_kind == "final" else 1.0) + (hs[0][-1] * _randn(B, H, seed=5)).sum()
            if cell == "lstm":
                c_fin = cs[-1]
                assert c_fin is not None
                loss = loss + (c_fin[-1] * _randn(B, H, seed=6)).sum()  # a gradient on the c_t outputs
        loss.backward()
    got: dict[str, Tensor] = {"out": out.detach(), "x.grad": x.grad, "h0.grad": h0.grad}
    if c0 is not None:
        got["c0.grad"] = c0.grad
    for name, p in stack.named_parameters():
        got[f"{name}.grad"] = p.grad
    for layer, cap in enumerate(caps):
        for field in ("act", "h", "c", "tanh_c", "hp", "dh", "dc"):
            v = getattr(cap, field)
            if v is not None:
                got[f"l{layer}.{field}"] = v
    return got


@pytest.mark.parametrize(
    ("cell", "shape", "layers", "loss_kind"),
    [
        *itertools.product(CELLS, SHAPES, (1,), ("outputs",)),
        *itertools.product(CELLS, SHAPES[:2], (2, 3), ("outputs", "final", "both")),
    ],
    ids=lambda p: "x".join(map(str, p)) if isinstance(p, tuple) else str(p),
)
def test_native_loops_equal_torch_loops(cell, shape, layers, loss_kind) -> None:
    ref = _run("torch", cell, shape, layers, loss_kind)
    got = _run("native", cell, shape, layers, loss_kind)
    assert ref.keys() == got.keys()
    assert any(k.endswith(".dh") for k in got)
    for k, r in ref.items():
        assert r is not None and got[k] is not None, k
        assert got[k].shape == r.shape and got[k].dtype == torch.float32, k
        scale = max(1.0, float(r.abs().max()))
        torch.testing.assert_close(got[k], r, rtol=2e-5, atol=2e-6 * scale, msg=lambda m, k=k: f"{k}: {m}")
    assert float(ref["l0.dh"].abs().max()) > 1e-3  # the gradients compared are not all zero


@pytest.mark.parametrize("cell", CELLS)
def test_native_loops_propagate_non_finite_values(cell: str) -> None:
    """A NaN entering at t = 2 poisons h from t = 2 on, in both implementations alike (the
    trainer's non-finite report depends on it); nothing before t = 2 is touched."""
    T, B, In, H = 6, 2, 3, 9
    outs = {}
    for mode in ("torch", "native"):
        stack = _stack(cell, In, H, 1, seed=3)
        x = _randn(T, B, In, seed=7)
        x[2, 0, 1] = float("nan")
        cap = Capture()
        with native.forced(mode):
            out, _, _ = stack(x, captures=[cap])
            out.sum().backward()
        outs[mode] = (out.detach(), cap.dh)
    for mode, (out, dh) in outs.items():
        assert torch.isfinite(out[:2]).all(), mode
        assert torch.isnan(out[2:, 0]).all(), mode
        assert not torch.isfinite(dh[:3, 0]).all(), mode
    torch.testing.assert_close(outs["native"][0][:2], outs["torch"][0][:2])


def test_only_float32_cpu_tensors_take_the_native_loops() -> None:
    with native.forced("native"):
        assert native.use_native(torch.zeros(2, 2, 4))
        assert not native.use_native(torch.zeros(2, 2, 4, dtype=torch.float64))
        assert not native.use_native(torch.zeros(2, 2, 4, device="meta"))  # stands in for cuda
    with native.forced("torch"):
        assert not native.use_native(torch.zeros(2, 2, 4))


def test_native_ops_refuse_mismatched_shapes() -> None:
    with pytest.raises(RuntimeError, match="shapes disagree"):
        native.ops().lstm_forward(
            torch.zeros(3, 2, 8), torch.zeros(2, 4), torch.zeros(2, 4), torch.zeros(12, 4), torch.zeros(12)
        )
    with pytest.raises(RuntimeError, match="float32"):
        native.ops().gru_forward(
            torch.zeros(3, 2, 12, dtype=torch.float64),
            torch.zeros(2, 4, dtype=torch.float64),
            torch.zeros(12, 4, dtype=torch.float64),
            torch.zeros(12, dtype=torch.float64),
        )


def test_native_backward_ops_refuse_mismatched_shapes() -> None:
    """The backward loops read raw memory (and hand W_hh to MKL directly): a wrong shape is an
    error naming the tensor, never a read past the end."""
    T, B, H = 3, 2, 4
    z = torch.zeros
    with pytest.raises(RuntimeError, match=r"w_hh is \[4, 5\]"):
        native.ops().rnn_backward(z(T, B, H), z(T, B, H), z(H, H + 1))
    with pytest.raises(RuntimeError, match=r"act is \[3, 2, 12\]"):
        native.ops().lstm_backward(
            z(T, B, H), None, z(T, B, 3 * H), z(T, B, H), z(T, B, H), z(B, H), z(4 * H, H)
        )
    with pytest.raises(RuntimeError, match="g_c is"):
        native.ops().lstm_backward(
            z(T, B, H), z(T, 1, H), z(T, B, 4 * H), z(T, B, H), z(T, B, H), z(B, H), z(4 * H, H)
        )
    with pytest.raises(RuntimeError, match="h0 is"):
        native.ops().gru_backward(
            z(T, B, H), z(T, B, 3 * H), z(T, B, 3 * H), z(T, B, H), z(B + 1, H), z(3 * H, H)
        )
    with pytest.raises(RuntimeError, match=r"states must be \(T, B, H\)"):
        native.ops().gru_backward(z(T, B), z(T, B, 3 * H), z(T, B, 3 * H), z(T, B), z(B, H), z(3 * H, H))


@pytest.mark.parametrize("model", ["lstm", "gru", "rnn"])
def test_training_runs_agree_between_implementations(model: str) -> None:
    """Twenty optimizer steps of the real trainer: the two implementations train the same
    model (they differ only in float rounding, which SGD steps do not amplify here)."""
    cfg = TrainConfig(
        cell=model,
        task="copy",
        hidden_size=24,
        seq_len=12,
        delay=3,
        batch_size=8,
        seed=1,
        device="cpu",
        probe_every=5,
    )
    recs = {}
    for mode in ("torch", "native"):
        with native.forced(mode):
            tr = Trainer(cfg)
            recs[mode] = [tr.step() for _ in range(20)]
    for a, b in zip(recs["torch"], recs["native"], strict=True):
        assert a.loss == pytest.approx(b.loss, rel=1e-4)
        assert a.grad_norm == pytest.approx(b.grad_norm, rel=1e-3)
        assert a.h_grad_norm.shape == b.h_grad_norm.shape
        torch.testing.assert_close(
            torch.from_numpy(b.h_grad_norm), torch.from_numpy(a.h_grad_norm), rtol=1e-3, atol=1e-7
        )
    assert recs["native"][-1].loss < recs["native"][0].loss  # it trained


def test_native_records_are_bit_identical_run_to_run() -> None:
    cfg = TrainConfig(
        cell="lstm", task="copy", hidden_size=16, seq_len=10, delay=2, batch_size=4, seed=3, device="cpu"
    )
    runs = []
    for _ in range(2):
        with native.forced("native"):
            tr = Trainer(cfg)
            runs.append([tr.step() for _ in range(5)])
    for a, b in zip(*runs, strict=True):
        assert a.loss == b.loss
        assert (a.h_grad_norm == b.h_grad_norm).all()
        assert a.gates is not None and b.gates is not None
        for k in a.gates:
            assert (a.gates[k] == b.gates[k]).all()


# --- the Jacobian norm (engine/native/jacobian.cpp against engine/diagnostics.py) -----------------


def _jacobian_case(cell: str, hidden: int, w_scale: float, nan_at: int | None = None):
    """Float32 and float64 captures of one layer on the same weights and input."""
    T, B, In = 9, 3, 4
    stack = RecurrentStack(cell, In, hidden, 1).double()
    gen = torch.Generator().manual_seed(hidden + int(10 * w_scale))
    stack.reset_parameters(gen, init="normal", init_scale=w_scale, forget_bias=1.0)
    with torch.no_grad():
        for name, p in stack.named_parameters():
            if name.startswith("bias"):
                p.uniform_(-0.5, 0.5, generator=gen)
    x = torch.randn(T, B, In, generator=gen, dtype=torch.float64)
    if nan_at is not None:
        x[nan_at, 1, 0] = float("nan")
    caps = {}
    for dtype in (torch.float64, torch.float32):
        s = stack.to(dtype)
        cap = Capture()
        with torch.no_grad():
            s(x.to(dtype), captures=[cap])
        caps[dtype] = (cap, s.weight_hh_l0.detach().clone())
    return caps


@pytest.mark.parametrize(
    ("cell", "hidden", "w_scale"), list(itertools.product(CELLS, (1, 13, 48), (0.3, 1.0, 2.5)))
)
def test_native_jacobian_norms_equal_the_reference(cell: str, hidden: int, w_scale: float) -> None:
    """The C++ Lanczos against the torch one in float32 (same algorithm, same stopping
    rule) and against float64 (which tests/engine/test_diagnostics.py holds to the exact
    spectral norm of autograd's Jacobian)."""
    from rnnscope.engine.diagnostics import jacobian_norms

    caps = _jacobian_case(cell, hidden, w_scale)
    cap32, w32 = caps[torch.float32]
    cap64, w64 = caps[torch.float64]
    for b in range(3):
        with native.forced("native"):
            got = jacobian_norms(cell, cap32, b, w32)
            assert torch.equal(got, jacobian_norms(cell, cap32, b, w32))  # repeatable bit for bit
        with native.forced("torch"):
            ref32 = jacobian_norms(cell, cap32, b, w32)
        ref64 = jacobian_norms(cell, cap64, b, w64)
        assert got.dtype == torch.float32 and got.shape == (9,)
        assert float(ref64.min()) > 0.0
        torch.testing.assert_close(got, ref32, rtol=1e-4, atol=0.0)
        torch.testing.assert_close(got.double(), ref64, rtol=1e-3, atol=0.0)


@pytest.mark.parametrize("cell", CELLS)
def test_native_jacobian_rows_on_several_threads_give_the_one_thread_bits(cell: str) -> None:
    """The C++ Lanczos reorthogonalises the timesteps' rows on the intra-op threads: each row is
    computed the same way whichever thread takes it (T = 60, H = 64: the rows do split)."""
    from rnnscope.engine.diagnostics import jacobian_norms

    torch.manual_seed(0)
    s = RecurrentStack(cell, 5, 64, 1)
    s.reset_parameters(torch.Generator().manual_seed(2), init="orthogonal", init_scale=1.0, forget_bias=1.0)
    cap = Capture()
    with torch.no_grad():
        s(torch.randn(60, 3, 5), captures=[cap])
    w = s.weight_hh_l0.detach()
    before = torch.get_num_threads()
    try:
        with native.forced("native"):
            torch.set_num_threads(1)
            one = jacobian_norms(cell, cap, 1, w)
            torch.set_num_threads(2)
            two = jacobian_norms(cell, cap, 1, w)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one, two)


@pytest.mark.parametrize("cell", CELLS)
def test_native_jacobian_norms_of_a_non_finite_sample(cell: str) -> None:
    """NaN from t = 4 on in sample 1: exact before, NaN after, nothing raises; sample 0 intact."""
    from rnnscope.engine.diagnostics import jacobian_norms

    caps = _jacobian_case(cell, 16, 1.0, nan_at=4)
    cap32, w32 = caps[torch.float32]
    with native.forced("native"):
        bad = jacobian_norms(cell, cap32, 1, w32)
        good = jacobian_norms(cell, cap32, 0, w32)
    with native.forced("torch"):
        ref_bad = jacobian_norms(cell, cap32, 1, w32)
        ref_good = jacobian_norms(cell, cap32, 0, w32)
    torch.testing.assert_close(bad[:4], ref_bad[:4], rtol=1e-4, atol=0.0)
    assert torch.isnan(bad[5:]).all() and torch.isnan(ref_bad[5:]).all()
    torch.testing.assert_close(good, ref_good, rtol=1e-4, atol=0.0)


# --- which loops run: per thread, and pinned per trainer -----------------------------------------


def test_forcing_the_loops_holds_on_the_calling_thread_only() -> None:
    """A replay on a background thread pins its loops without switching the live run's."""
    import threading

    seen: dict[str, str] = {}
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with native.forced("torch"):
            seen["other"] = native.variant()
            inside.set()
            release.wait(10)

    th = threading.Thread(target=other)
    with native.forced("native"):
        th.start()
        assert inside.wait(10)
        seen["here"] = native.variant()
        release.set()
        th.join(10)
    assert seen["other"] == "torch"
    assert seen["here"] == f"native/{torch.backends.cpu.get_cpu_capability()}"


def test_a_trainer_pinned_to_the_torch_loops_runs_them_whatever_the_process_default() -> None:
    cfg = TrainConfig(
        cell="gru", task="copy", hidden_size=16, seq_len=10, delay=2, batch_size=4, seed=3, device="cpu"
    )
    with native.forced("torch"):
        ref = Trainer(cfg)
        assert ref.loops() == "torch"
        want = [ref.step(probe=True) for _ in range(3)]
    pinned, default = Trainer(cfg), Trainer(cfg)
    pinned.kernels = "torch"
    with native.forced("native"):
        assert pinned.loops() == "torch" and default.loops().startswith("native/")
        got = [pinned.step(probe=True) for _ in range(3)]
        other = [default.step(probe=True) for _ in range(3)]
        assert native.mode() == "native"  # the pin did not leak out of the trainer's steps
    for a, b in zip(want, got, strict=True):
        assert a.loss == b.loss and (a.h_grad_norm == b.h_grad_norm).all()
        assert a.gates is not None and b.gates is not None
        assert all((a.gates[k] == b.gates[k]).all() for k in a.gates)
    # and the other loops really are different numbers (else this test could not fail)
    assert any(
        not (a.gates[k] == c.gates[k]).all()  # type: ignore[index]
        for a, c in zip(want, other, strict=True)
        for k in a.gates or {}
    )


# The C++ kernels are built per instruction set (AVX512 or AVX2 vectors, engine/native/builder.py).
# Both builds must give the same bits, or a session recorded on one kind of CPU would not
# regenerate exactly on the other (engine.numerics treats "native/AVX2" and "native/AVX512"
# as one). Every op, forward and backward, and the Jacobian Lanczos, on fixed inputs whose H
# has a vector-width tail.
VARIANT_PROBE = r"""
import hashlib, json
import numpy as np, torch
from rnnscope.engine import native
torch.set_num_threads(2)
assert native.load(), native.status()
ops = native.ops()
rng = np.random.default_rng(0)
def R(*s, sc=1.0):
    return torch.from_numpy((rng.standard_normal(s) * sc).astype(np.float32))
def h(ts):
    m = hashlib.sha256()
    for t in ts:
        m.update(t.contiguous().numpy().tobytes())
    return m.hexdigest()[:16]
out = {"variant": native.variant()}
for T, B, H in ((9, 5, 21), (12, 32, 64)):
    for name, G in (("rnn", 1), ("lstm", 4), ("gru", 3)):
        xp, h0, c0 = R(T, B, G * H), R(B, H, sc=0.3), R(B, H, sc=0.3)
        w, b, g = R(G * H, H, sc=H ** -0.5), R(G * H, sc=0.1), R(T, B, H)
        if name == "rnn":
            hs = ops.rnn_forward(xp, h0, w, b)
            res = [hs, *ops.rnn_backward(g, hs, w)]
        elif name == "lstm":
            act, hs, cs, tcs = ops.lstm_forward(xp, h0, c0, w, b)
            res = [act, hs, cs, tcs, *ops.lstm_backward(g, R(T, B, H), act, cs, tcs, c0, w)]
        else:
            act, hp, hs = ops.gru_forward(xp, h0, w, b)
            res = [act, hp, hs, *ops.gru_backward(g, act, hp, hs, h0, w)]
        out[f"{name}/T{T}B{B}H{H}"] = h(res)
        # the probe's Jacobian-norm Lanczos (the LSTM's over the joint (h, c) state)
        if name == "lstm":
            q0 = R(2 * H)
            q0 = q0 / q0.norm()
            args = (act.reshape(T * B, 4 * H)[:T], R(T, 3 * H, sc=0.3), R(T, H, sc=0.5), R(T, H, sc=0.3))
            out[f"jacobian/{name}/H{H}"] = h([ops.lstm_joint_norms(*args, w, q0, 48, 1e-6, 4)])
        else:
            e, a = R(T, G * H, sc=0.5), (R(T, H, sc=0.5) if name == "gru" else None)
            q0 = R(H)
            q0 = q0 / q0.norm()
            out[f"jacobian/{name}/H{H}"] = h([ops.jacobian_norms(e, a, w, q0, 48, 1e-6, 4)])
print(json.dumps(out))
"""


@pytest.mark.slow
def test_the_avx2_and_avx512_builds_of_the_kernels_give_the_same_bits() -> None:
    import json

    from cpu_kinds import producible, run_as

    vector = [c for c in producible() if c in ("AVX2", "AVX512")]
    if len(vector) < 2:
        pytest.skip("this CPU runs one vector instruction set only (no AVX-512): nothing to compare")
    runs = {c: json.loads(run_as(c, VARIANT_PROBE, {native.ENV: "native"}).splitlines()[-1]) for c in vector}
    assert runs["AVX2"].pop("variant") == "native/AVX2" and runs["AVX512"].pop("variant") == "native/AVX512"
    assert runs["AVX2"] == runs["AVX512"]
