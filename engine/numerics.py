"""What decides a training step's float32 bits on this machine, and the one operation rnnscope
computes its own way so that those bits do not depend on the CPU's vector width.

Measured (torch 2.13 CPU wheel, AMD EPYC with AVX-512, every ATen capability this CPU can run,
``ATEN_CPU_CAPABILITY=avx512|avx2|default`` in separate processes; benchmarks/bench_drift.py and
tests/engine/test_numerics.py repeat it):

- Between AVX2 and AVX512, ``torch.log_softmax`` / ``softmax`` differ in the last bit for rows
  of 10 classes or more: ATen's vectorised kernel reduces each row in 8 or 16 lanes, in a
  different order. Cross-entropy is built on it, so its loss and its gradient differ, and
  from the second step on so does everything the weights touch. ``torch.sigmoid`` differs on
  rows whose length is not a multiple of 16 (its SIMD tail rounds otherwise), and so did the
  C++ kernels' own scalar tails (now partial vectors). Elementwise tanh and exp (SLEEF), sums
  and norms, Adam, clipping, ``randn``, MKL's sgemm give identical bits, at 1 and 2 threads.
- A log-softmax composed of ``amax``, ``exp``, ``sum`` and ``log`` gives identical bits at
  AVX2 and AVX512, forward and backward (the reductions along a row do not depend on the vector
  width). :func:`cross_entropy` is that composition. Its cost is within noise of
  ``F.cross_entropy`` at rnnscope's sizes (the read-out is a few hundred classes at most).
- ``ATEN_CPU_CAPABILITY=default`` (a CPU without AVX2) changes sigmoid, ``normal_`` and Adam:
  no cheap fix exists there, so such a run is told apart by its fingerprint.
- MKL picks its gemm code by CPU vendor (on AMD, ``MKL_ENABLE_INSTRUCTIONS`` changes nothing);
  only ``MKL_CBWR=COMPATIBLE`` makes gemm identical on every x86 CPU, and it costs 1.3-2.1x of
  the step (LSTM/GRU, B32 T50 H64 and B32 T100 H256). That is far above a default's budget, so
  the BLAS vendor is part of the fingerprint and a different one is detected, not hidden.

``REVISION`` numbers the engine's numerics: 1 is torch's own cross-entropy and sigmoid (sessions
recorded before fingerprints, which replay on them), 2 is :func:`cross_entropy` and
:func:`sigmoid_`. A Trainer pins the
revision it runs (``Trainer.numerics``), as it pins its loops, so an old session still replays
bit for bit where it was recorded.
"""

from __future__ import annotations

import functools
import os
import platform
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

REVISION = 2
LEGACY_REVISION = 1  # files without a fingerprint: torch's F.cross_entropy
REVISIONS = (LEGACY_REVISION, REVISION)


class _PerThread(threading.local):
    revision: int = REVISION


_local = _PerThread()


def settle_vector_math() -> None:
    """Make MKL's vector math library choose its code path now, on one thread.

    ATen computes exp, log, tanh ... of float tensors with MKL's VML, split over the intra-op
    threads. When the process's first such call runs on two threads at once, one of them can
    take another code path for that call (measured on an Intel Xeon, torch 2.13 with MKL
    2024.2, 2 threads: exp of a (300, 10) tensor gave other last bits in the second thread's
    half in 4 of 24 fresh processes; 0 of 24 pinned to one CPU, 0 of 48 after one
    single-threaded call of any VML function first). A tiny call here, below the
    parallel grain, settles it before any step is computed, so the first recorded step is
    computed as its replay will be."""
    torch.ones(8).exp_()


settle_vector_math()


def revision() -> int:
    """The numerics revision the calling thread computes with now."""
    return _local.revision


@contextmanager
def pinned(rev: int) -> Iterator[None]:
    """Compute with numerics revision ``rev`` inside the block, on this thread only."""
    if rev not in REVISIONS:
        raise ValueError(f"numerics revision {rev!r}: this engine knows {', '.join(map(str, REVISIONS))}")
    before, _local.revision = _local.revision, rev
    try:
        yield
    finally:
        _local.revision = before


def sigmoid_(x: Tensor) -> Tensor:
    """In-place logistic sigmoid whose bits do not depend on the vector width (revision 2):
    1 / (1 + exp(-x)) from elementwise ops. ATen's own sigmoid rounds the elements of a row's
    SIMD tail differently from the rest, and which elements are the tail depends on 8 or 16
    lanes (measured: rows of 18, 22 and 26 differ between AVX2 and AVX-512). Revision 1 keeps
    ``Tensor.sigmoid_``."""
    if _local.revision == LEGACY_REVISION or x.device.type != "cpu":  # one kernel launch on a GPU
        return x.sigmoid_()
    return x.neg_().exp_().add_(1.0).reciprocal_()


def log_softmax(logits: Tensor) -> Tensor:
    """log_softmax over the last dimension, with bits that do not depend on the vector width."""
    m = logits.detach().amax(dim=-1, keepdim=True)
    shifted = logits - m
    return shifted - shifted.exp().sum(dim=-1, keepdim=True).log()


def cross_entropy(logits: Tensor, target: Tensor) -> Tensor:
    """Mean cross-entropy of ``logits`` (N, V) against class ids ``target`` (N,): the same
    value as ``F.cross_entropy`` to rounding, identical on AVX2 and AVX-512 CPUs (revision 2);
    under revision 1 it is ``F.cross_entropy`` itself."""
    if _local.revision == LEGACY_REVISION:
        return F.cross_entropy(logits, target)
    picked = log_softmax(logits).gather(-1, target.unsqueeze(-1)).squeeze(-1)  # (N,)
    return -picked.mean()


# ------------------------------------------------------------------ fingerprint
# The fields of a fingerprint that decide the bits of a step (``threads`` among them: reductions
# over large tensors split by thread). ``cpu`` and ``host`` say where it ran, for people.
DECISIVE = ("revision", "torch", "device", "capability", "blas", "kernels", "threads")
LABELS = {
    "revision": "engine numerics revision",
    "torch": "PyTorch version",
    "device": "device",
    "capability": "ATen CPU code path",
    "blas": "BLAS",
    "kernels": "recurrence loops",
    "threads": "CPU threads",
    "cpu": "CPU",
}


@functools.lru_cache(maxsize=1)
def _cpu_info() -> tuple[str, str]:
    """(vendor id, model name) of this CPU, from /proc/cpuinfo where there is one."""
    vendor, model = "", ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "vendor_id" and not vendor:
                    vendor = value.strip()
                elif key == "model name" and not model:
                    model = value.strip()
                if vendor and model:
                    break
    except OSError:
        pass
    return vendor or platform.machine(), model or platform.processor() or platform.machine()


@functools.lru_cache(maxsize=1)
def _blas() -> str:
    """The BLAS torch's CPU matmuls run and the code path it picks: MKL chooses by CPU vendor,
    and ``MKL_CBWR`` (when set) fixes the path."""
    config = torch.__config__.show()
    name = "unknown BLAS"
    for line in config.splitlines():
        line = line.strip(" -")
        if "Math Kernel Library Version" in line:
            name = "MKL " + line.split("Version", 1)[1].split()[0].removesuffix("-Product")
            break
        if line.startswith("Build settings:") and "BLAS_INFO=" in line:
            name = line.split("BLAS_INFO=", 1)[1].split(",", 1)[0]
    vendor, _ = _cpu_info()
    cbwr = os.environ.get("MKL_CBWR", "").strip()
    return f"{name} on {vendor}" + (f", MKL_CBWR={cbwr}" if cbwr and name.startswith("MKL") else "")


def fingerprint(*, kernels: str, device: str = "cpu", rev: int | None = None) -> dict[str, Any]:
    """What produced (or would now produce) a step's numbers in this process.

    ``kernels``: the loops (``engine.native.variant()`` or "torch"); ``device``: the torch device
    the trainer runs on. Plain JSON values only: sessions store it as it is."""
    _, model = _cpu_info()
    dev = str(device)
    if dev.startswith("cuda") and torch.cuda.is_available():
        dev = f"{dev} ({torch.cuda.get_device_name(torch.device(dev))})"
    return {
        "revision": REVISION if rev is None else rev,
        "torch": torch.__version__,
        "device": dev,
        "capability": torch.backends.cpu.get_cpu_capability(),
        "blas": _blas(),
        "kernels": kernels,
        "threads": torch.get_num_threads(),
        "cpu": model,
    }


def legacy_fingerprint(kernels: str) -> dict[str, Any]:
    """A file recorded before fingerprints: only its revision and loops are known."""
    return {"revision": LEGACY_REVISION, "kernels": kernels}


def _same(field: str, a: Any, b: Any) -> bool:
    if field == "kernels":  # the AVX2 and AVX512 builds of the C++ loops give identical bits
        return str(a).split("/")[0] == str(b).split("/")[0]
    if field == "capability":  # AVX2 and AVX512 differ only in log_softmax, which revision 2 avoids
        vector = ("AVX2", "AVX512")
        return a == b or (a in vector and b in vector)
    return bool(a == b)


def differences(recorded: Mapping[str, Any], here: Mapping[str, Any]) -> list[str]:
    """The decisive fields in which ``here`` cannot be trusted to reproduce ``recorded``, each as
    "label: recorded -> here" (an unknown recorded value counts as different). Empty: the same
    bits are expected."""
    out = []
    rev = recorded.get("revision", LEGACY_REVISION)
    for field in DECISIVE:
        a, b = recorded.get(field), here.get(field)
        if field == "capability" and rev == LEGACY_REVISION and a != b:
            pass  # revision 1's log_softmax depends on the vector width: any change counts
        elif a is not None and _same(field, a, b):
            continue
        out.append(f"{LABELS[field]}: {'unknown' if a is None else a} -> {b}")
    return out


def describe(fp: Mapping[str, Any]) -> list[str]:
    """The fingerprint as "label: value" lines, for ``main.py info`` and File > Properties."""
    return [f"{LABELS.get(k, k)}: {v}" for k, v in fp.items()]


# ------------------------------------------------------------------ how far last bits travel
# benchmarks/bench_drift.py, 2026-12-07 (AMD EPYC, 2 threads, seeds 0-2): LSTMs on the copy task,
# two runs one ulp apart at step 0 (the size of difference another CPU's rounding makes; torch's
# log_softmax on AVX-512 against AVX2 drifted the same within a factor of 2). Per number of steps
# replayed, the largest relative difference of loss or gradient norm and of any gate value, the
# larger of two configs: the lstm-copy demo (H64 T14, Adam lr 1e-2), which drifts fastest, and the
# defaults (H64 T30, lr 1e-3), which stay within 1e-6 for 100 steps. Chaotic: the difference
# stays near float32 rounding for ~10-25 steps, then grows by an order of magnitude every ~10
# steps, and after ~100 steps (75 with lr 1e-2) the two are different runs. Sessions checkpoint
# every 75 steps by default, so a replay runs at most 74.
DRIFT = (
    (10, 1e-6, 1e-5),
    (25, 6e-5, 2e-4),
    (50, 6e-2, 6e-1),
    (75, 6e-2, 1.0),
    (100, 1e-1, 2.0),
    (200, 5e-1, 2.0),
    (1000, 2.0, 2.0),
)


def expected_drift(steps: int) -> str:
    """What a last-bit difference is known to grow to over ``steps`` replayed steps (one sentence)."""
    for n, summary, gate in DRIFT:
        if steps <= n:
            return (
                f"Over up to {n} replayed steps a last-bit difference was measured to reach {summary:.0e} "
                f"(relative) in loss and gradient norm and {gate:.0e} in gate values (LSTM copy task)."
            )
    return (
        f"Past {DRIFT[-1][0]} replayed steps a last-bit difference was measured to make a different "
        "run altogether: treat this frame as another run's."
    )


# Read the static parts once, at import, on the importing thread: torch.__config__.show() asks
# MKL and oneDNN for their versions, which is best not done first from a worker thread while
# another runs MKL (0.3 ms here).
_blas()
_cpu_info()
