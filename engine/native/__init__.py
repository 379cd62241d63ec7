"""Which implementation runs the recurrences' time loops: C++ (``recurrence.cpp``) or torch.

engine/cells.py asks :func:`use_native` for each layer call. The C++ loops serve float32
tensors on the CPU; CUDA, float64 and machines where the kernels cannot be built use the
torch loops of engine/loops.py, which compute the same thing and stay the reference the
tests hold the C++ loops to.

Choose with the environment variable ``RNNSCOPE_KERNELS``:
- ``auto`` (default): C++ where it builds, else the torch loops (with one warning saying why);
- ``native``: C++ or an error; ``torch``: never build, always the Python loops.
:func:`forced` overrides it inside a ``with`` block, on the calling thread only (a replay on a
background thread can pin the loops a session was recorded with while live training goes on).

The first use on a machine compiles the kernels (15-30 s; :func:`prepare_in_background`
starts that early); later processes load the cached library in milliseconds.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from rnnscope.engine.native.builder import BuildError, build, compiler, plan

MODES = ("auto", "native", "torch")
ENV = "RNNSCOPE_KERNELS"

_lock = threading.Lock()
_loaded: bool | None = None  # None: not tried yet
_reason = "not loaded yet"


class _PerThread(threading.local):
    forced: str | None = None


_local = _PerThread()


def mode() -> str:
    if _local.forced is not None:
        return _local.forced
    m = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if m not in MODES:
        raise ValueError(f"{ENV}={m!r}: must be one of {', '.join(MODES)}")
    return m


def _load_library() -> tuple[bool, str]:
    cxx = compiler()
    if cxx is None:
        return False, "no C++ compiler found (set CXX, or install g++)"
    try:
        cached = plan(cxx).library.exists()
        path = build(cxx)
        try:
            torch.ops.load_library(str(path))
        except OSError:  # a damaged cached file: build it again, once
            if not cached:  # just built and it does not load: a rebuild would not either
                raise
            path.unlink(missing_ok=True)
            path = build(cxx)
            torch.ops.load_library(str(path))
    except (BuildError, OSError) as e:
        return False, str(e)
    return True, f"C++ kernels ({path})"


def load() -> bool:
    """Build (once per machine) and load the kernels; False if that failed (see :func:`status`)."""
    global _loaded, _reason
    if _loaded is not None:
        return _loaded
    with _lock:
        if _loaded is None:
            _loaded, _reason = _load_library()
            if not _loaded and mode() == "auto":
                warnings.warn(
                    f"rnnscope: the C++ recurrence kernels are not available ({_reason}); "
                    "using the slower torch loops",
                    RuntimeWarning,
                    stacklevel=2,
                )
    return _loaded


def status() -> str:
    """One line for a status bar or log: which loops run on the CPU, and why."""
    m = mode()
    if m == "torch":
        return f"torch loops ({ENV}=torch)"
    if _loaded is None:
        return "C++ kernels not loaded yet"
    if _loaded:
        return _reason
    if m == "native":  # no fallback: each float32 CPU recurrence raises
        return f"C++ kernels not available ({ENV}=native): {_reason}"
    return f"torch loops: {_reason}"


def use_native(t: torch.Tensor) -> bool:
    """Whether the recurrence over ``t`` (the input projection) runs in C++."""
    if t.device.type != "cpu" or t.dtype != torch.float32:
        return False
    m = mode()
    if m == "torch":
        return False
    ok = load()
    if not ok and m == "native":
        raise RuntimeError(f"{ENV}=native but the C++ kernels are not available: {_reason}")
    return ok


def variant() -> str:
    """The loops a float32 CPU recurrence on this thread runs now: ``"torch"`` or
    ``"native/<instruction set>"`` (the two round differently in the last bit). Loads the
    kernels if they are not loaded yet. Sessions record it to replay with the same loops."""
    if mode() == "torch" or not load():
        return "torch"
    return f"native/{torch.backends.cpu.get_cpu_capability()}"


def ops() -> Any:
    """The loaded operators (``rnn_forward``, ``lstm_backward``, ...)."""
    return torch.ops.rnnscope


@contextmanager
def forced(m: str) -> Iterator[None]:
    """Run the block with kernels mode ``m`` ("native" | "torch" | "auto") on this thread."""
    if m not in MODES:
        raise ValueError(f"kernels mode {m!r}: must be one of {', '.join(MODES)}")
    before, _local.forced = _local.forced, m
    try:
        yield
    finally:
        _local.forced = before


def planned_variant() -> str:
    """:func:`variant` without building, loading or waiting for either (a status bar or a report
    may ask while a first build runs): what has loaded, or "native (not loaded yet)" where a
    compiler exists and the kernels have not been tried, or "torch"."""
    if mode() == "torch":
        return "torch"
    if _loaded is not None:
        return f"native/{torch.backends.cpu.get_cpu_capability()}" if _loaded else "torch"
    return "torch" if compiler() is None else "native (not loaded yet)"


def building() -> bool:
    """Whether a build or load is under way right now (on any thread)."""
    return _loaded is None and _lock.locked()


def needs_build() -> bool:
    """Whether the first use in this process will compile (seconds) rather than load."""
    if _loaded is not None or mode() == "torch":
        return False
    cxx = compiler()
    return cxx is not None and not plan(cxx).library.exists()


def prepare_in_background() -> threading.Thread | None:
    """Start building/loading the kernels on a daemon thread (None if nothing to do)."""
    if _loaded is not None or mode() == "torch":
        return None
    th = threading.Thread(target=load, name="rnnscope-kernels", daemon=True)
    th.start()
    return th
