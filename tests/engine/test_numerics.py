"""engine/numerics.py: a cross-entropy whose bits do not depend on the CPU's vector width, the
numerics fingerprint, and which fingerprint differences decide the bits of a step.

The cross-kind tests run children at every ATen capability this CPU can produce
(tests/cpu_kinds.py): on an AVX-512 machine AVX512, AVX2 and DEFAULT; on an AVX2-only one AVX2
and DEFAULT. What they hold bit for bit depends on the capability and nothing else (the same
torch build, threads and BLAS vendor in every child), and says so where it asserts.
"""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from cpu_kinds import producible, run_as

from rnnscope.engine import TrainConfig, Trainer, numerics


def test_cross_entropy_is_torchs_to_rounding_with_the_same_gradient() -> None:
    g = torch.Generator().manual_seed(0)
    for n, v, scale in ((1, 2, 1.0), (37, 10, 3.0), (200, 96, 10.0), (64, 1000, 30.0)):
        logits = (torch.randn(n, v, generator=g, dtype=torch.float64) * scale).requires_grad_()
        target = torch.randint(0, v, (n,), generator=g)
        ours, ref = numerics.cross_entropy(logits, target), F.cross_entropy(logits, target)
        assert abs(ours.item() - ref.item()) <= 1e-12 * max(1.0, abs(ref.item()))
        (g_ours,) = torch.autograd.grad(ours, logits)
        (g_ref,) = torch.autograd.grad(ref, logits)
        torch.testing.assert_close(g_ours, g_ref, rtol=1e-10, atol=1e-14)
        # float32, as training computes it: within a few ulps of torch's
        x32 = logits.detach().float().requires_grad_()
        ours32, ref32 = numerics.cross_entropy(x32, target), F.cross_entropy(x32, target)
        torch.testing.assert_close(ours32, ref32, rtol=4e-7, atol=1e-7)


def test_cross_entropy_is_stable_at_extreme_logits() -> None:
    logits = torch.tensor([[1e30, 0.0, -1e30], [-80.0, 80.0, 0.0]], requires_grad=True)
    target = torch.tensor([0, 0])
    loss = numerics.cross_entropy(logits, target)
    assert torch.isfinite(loss) and loss.item() == pytest.approx(80.0, rel=1e-6)
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_revision_1_is_torchs_own_cross_entropy_bit_for_bit() -> None:
    g = torch.Generator().manual_seed(1)
    logits, target = torch.randn(50, 30, generator=g), torch.randint(0, 30, (50,), generator=g)
    with numerics.pinned(numerics.LEGACY_REVISION):
        assert numerics.revision() == 1
        assert numerics.cross_entropy(logits, target).item() == F.cross_entropy(logits, target).item()
    assert numerics.revision() == numerics.REVISION
    with pytest.raises(ValueError, match="revision 7"), numerics.pinned(7):
        pass


def test_a_trainer_pins_its_revision_and_reports_its_fingerprint() -> None:
    cfg = TrainConfig(cell="gru", task="copy", hidden_size=8, seq_len=8, delay=2, batch_size=4, device="cpu")
    a, b = Trainer(cfg), Trainer(cfg)
    b.numerics = numerics.LEGACY_REVISION
    la, lb = [a.step().loss for _ in range(3)], [b.step().loss for _ in range(3)]
    assert la[0] == pytest.approx(lb[0], rel=1e-6)
    fp = a.fingerprint()
    assert fp["revision"] == numerics.REVISION and b.fingerprint()["revision"] == 1
    assert fp["torch"] == torch.__version__ and fp["device"] == "cpu"
    assert fp["capability"] == torch.backends.cpu.get_cpu_capability()
    assert fp["threads"] == torch.get_num_threads() and fp["kernels"] == a.loops()
    assert json.loads(json.dumps(fp)) == fp  # stored as it is
    assert numerics.differences(fp, fp) == []


def test_differences_name_what_decides_the_bits() -> None:
    here = {
        "revision": 2, "torch": "2.13.0", "device": "cpu", "capability": "AVX512",
        "blas": "MKL 2024.2 on GenuineIntel", "kernels": "native/AVX512", "threads": 2, "cpu": "Xeon",
    }  # fmt: skip
    same_bits = {**here, "capability": "AVX2", "kernels": "native/AVX2", "cpu": "EPYC"}
    assert numerics.differences(same_bits, here) == []  # measured identical (below)
    assert numerics.differences({**here, "capability": "DEFAULT"}, here) == [
        "ATen CPU code path: DEFAULT -> AVX512"
    ]
    assert numerics.differences({**here, "blas": "MKL 2024.2 on AuthenticAMD", "threads": 8}, here) == [
        "BLAS: MKL 2024.2 on AuthenticAMD -> MKL 2024.2 on GenuineIntel",
        "CPU threads: 8 -> 2",
    ]
    assert numerics.differences({**here, "kernels": "torch"}, here) == [
        "recurrence loops: torch -> native/AVX512"
    ]
    # revision 1 used torch's log_softmax: there AVX2 and AVX512 do differ
    old = {**same_bits, "revision": 1}
    assert "ATen CPU code path: AVX2 -> AVX512" in numerics.differences(old, {**here, "revision": 1})
    # a file from before fingerprints: everything but its revision and loops is unknown
    legacy = numerics.differences(
        numerics.legacy_fingerprint("torch"), {**here, "revision": 1, "kernels": "torch"}
    )
    assert "PyTorch version: unknown -> 2.13.0" in legacy and not any("loops" in d for d in legacy)


def test_expected_drift_quotes_the_measured_table() -> None:
    first = numerics.DRIFT[0]
    text = numerics.expected_drift(5)
    assert f"{first[1]:.0e}" in text and f"{first[2]:.0e}" in text and f"{first[0]} replayed steps" in text
    assert "75 replayed steps" in numerics.expected_drift(60)
    assert [n for n, *_ in numerics.DRIFT] == sorted(n for n, *_ in numerics.DRIFT)
    assert "different run" in numerics.expected_drift(5000)


# One child per CPU kind: hashes of what each numerics step computes, on fixed inputs.
PROBE = r"""
import hashlib, json
import numpy as np, torch
from rnnscope.engine import TrainConfig, Trainer, numerics
torch.set_num_threads(2)
rng = np.random.default_rng(0)
def h(*ts):
    m = hashlib.sha256()
    for t in ts:
        m.update(np.ascontiguousarray(t.detach().numpy() if hasattr(t, "detach") else t).tobytes())
    return m.hexdigest()[:16]
out = {"capability": torch.backends.cpu.get_cpu_capability()}
for v in (10, 96, 1000):
    x = torch.from_numpy((rng.standard_normal((300, v)) * 4).astype(np.float32)).requires_grad_()
    y = torch.from_numpy(rng.integers(0, v, 300))
    loss = numerics.cross_entropy(x, y)
    loss.backward()
    out[f"ce{v}"] = h(loss, x.grad)
for cell, task, H, B in (("lstm", "copy", 16, 8), ("gru", "reverse", 13, 5), ("rnn", "adding", 16, 8), ("lstm", "charlm", 5, 3)):
    tr = Trainer(TrainConfig(cell=cell, task=task, hidden_size=H, batch_size=B, seed=3, device="cpu", probe_every=2))
    tr.kernels = "torch"
    recs = [tr.step() for _ in range(6)]
    parts = [p for r in recs for p in r.parts.values()]
    out[f"train/{cell}/{task}"] = h(np.array([r.loss for r in recs]), np.array([r.grad_norm for r in recs]),
                             *[p.h_grad_norm for p in parts], *[p.hidden for p in parts if p.hidden is not None])
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def by_kind() -> dict[str, dict[str, str]]:
    return {cap: json.loads(run_as(cap, PROBE).splitlines()[-1]) for cap in producible()}


def test_every_producible_cpu_kind_runs_as_asked(by_kind: dict[str, dict[str, str]]) -> None:
    assert {k: v["capability"] for k, v in by_kind.items()} == {k: k for k in by_kind}
    assert "DEFAULT" in by_kind and "AVX2" in by_kind  # every x86-64 CI machine has AVX2


def test_revision_2_gives_the_same_bits_on_avx2_and_avx512(by_kind: dict[str, dict[str, str]]) -> None:
    """Depends on the ATen capability only (the children share torch, threads and BLAS). On an
    AVX2-only machine there is one vector kind to run, and this compares it with itself; the
    DEFAULT kind is compared in the next test."""
    vector = [v for k, v in by_kind.items() if k in ("AVX2", "AVX512")]
    keys = [k for k in vector[0] if k != "capability"]
    for other in vector[1:]:
        assert {k: other[k] for k in keys} == {k: vector[0][k] for k in keys}


def test_a_cpu_without_avx2_computes_other_bits_and_its_fingerprint_says_so(
    by_kind: dict[str, dict[str, str]],
) -> None:
    """Why DEFAULT is a decisive difference: its sigmoid, normal_ and Adam round otherwise. If
    this starts to fail because the bits became equal, `numerics._same` may treat DEFAULT as a
    vector kind too."""
    default, avx2 = by_kind["DEFAULT"], by_kind["AVX2"]
    assert any(default[k] != avx2[k] for k in default if k.startswith("train/"))
    fp = {**numerics.fingerprint(kernels="torch"), "capability": "AVX2"}
    assert numerics.differences(fp, {**fp, "capability": "DEFAULT"}) == [
        "ATen CPU code path: AVX2 -> DEFAULT"
    ]


# The process's first vector-math call of ATen on two threads (engine.numerics.settle_vector_math).
FIRST_CALL = r"""
import numpy as np, torch
import rnnscope.engine.numerics  # settles MKL's vector math on one thread, as any rnnscope import does
torch.set_num_threads(2)
a = torch.from_numpy((np.random.default_rng(0).standard_normal((300, 10)) * 4).astype(np.float32))
two = a.exp()  # split over the two intra-op threads
torch.set_num_threads(1)
print(int((two != a.exp()).sum()))
"""


def test_the_first_vector_math_call_computes_the_bits_of_every_later_one() -> None:
    """Without the settling call, the first exp over two threads took another code path in its
    second half in about one fresh process in six on an Intel Xeon (none pinned to one CPU): a
    recording's first step would then not be what its replay computes. Eight fresh processes
    catch that with a probability above 3/4; on CPUs without the race they simply agree."""
    differing = [int(run_as(None, FIRST_CALL).split()[-1]) for _ in range(8)]
    assert differing == [0] * 8
