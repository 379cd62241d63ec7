"""Run code as another kind of x86 CPU would: a child process with ``ATEN_CPU_CAPABILITY``.

CI lands on CPUs of different kinds (AVX-512, AVX2 only). ATen picks its vectorised kernels by
the CPU's capability and lets a process ask for a lower one, so a test can produce, on any
machine, every kind at or below its own: on an AVX-512 machine AVX512, AVX2 and DEFAULT (no
AVX2); on an AVX2 machine AVX2 and DEFAULT. What it cannot produce is MKL's choice of code by
CPU vendor (Intel or AMD): that part of a fingerprint is compared, never emulated.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
ORDER = ("DEFAULT", "AVX2", "AVX512")


def native_capability() -> str:
    """The highest capability of this CPU (the tests' own process may run lower)."""
    if "ATEN_CPU_CAPABILITY" not in os.environ:
        return torch.backends.cpu.get_cpu_capability()
    out = run_as(None, "import torch; print(torch.backends.cpu.get_cpu_capability())")
    return out.strip().splitlines()[-1]


def producible() -> list[str]:
    """Every capability a child process can run on this machine, lowest first."""
    top = native_capability()
    return list(ORDER[: ORDER.index(top) + 1]) if top in ORDER else [top]


def run_as(capability: str | None, code: str, env: dict[str, str] | None = None, timeout: float = 240) -> str:
    """Run ``code`` in a fresh interpreter at ``capability`` ("AVX2" ...; None: the CPU's own);
    return its stdout, failing the test with its stderr when it fails."""
    full = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", **(env or {})}
    full.pop("ATEN_CPU_CAPABILITY", None)
    if capability is not None:
        full["ATEN_CPU_CAPABILITY"] = capability.lower()
    proc = subprocess.run(
        [sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )
    assert proc.returncode == 0, f"child at {capability} failed:\n{proc.stderr[-4000:]}"
    return proc.stdout
