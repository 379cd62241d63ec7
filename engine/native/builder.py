"""Compile the C++ kernels (recurrence.cpp, jacobian.cpp) once per machine and load it as ``torch.ops.rnnscope``.

Not torch.utils.cpp_extension.load: that needs ninja, builds Python bindings nobody
uses here (the functions are registered as torch operators), and guards its build
directory with a lock file that a build killed half-way leaves behind, so every later
start waits on it forever. This builds with the same compiler flags PyTorch's helpers
give (include and library paths, the C++ ABI), into a file named by a hash of
everything that changes the binary, written under a temporary name and renamed into
place: two processes building at once both succeed, and a killed build leaves only a
temporary file, never a half-written library.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import shlex
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

UNIT = Path(__file__).with_name("kernels.cpp")  # includes the others: headers parsed once
SOURCES = tuple(Path(__file__).with_name(n) for n in ("kernels.cpp", "recurrence.cpp", "jacobian.cpp"))
NAMES = ", ".join(p.name for p in SOURCES[1:])
BUILD_TIMEOUT_S = 600.0
_VECTOR_FLAGS = {
    # torch.backends.cpu.get_cpu_capability() -> flags that let ATen's Vectorized<float> use
    # that instruction set (and SLEEF's exp/tanh for it, which libtorch_cpu exports). AVX512's
    # 16 lanes make the LSTM's element-wise pass ~1.6x faster than AVX2's 8 on such a CPU.
    "AVX2": ["-mavx2", "-mfma", "-DCPU_CAPABILITY_AVX2", "-DCPU_CAPABILITY=AVX2"],
    "AVX512": [
        "-mavx512f",
        "-mavx512bw",
        "-mavx512vl",
        "-mavx512dq",
        "-mfma",
        "-mf16c",
        "-DCPU_CAPABILITY_AVX512",
        "-DCPU_CAPABILITY=AVX512",
    ],
}


class BuildError(RuntimeError):
    """The kernels could not be compiled or loaded; ``log`` holds the compiler's output."""

    def __init__(self, message: str, log: Path | None = None) -> None:
        super().__init__(message if log is None else f"{message} (compiler output: {log})")
        self.log = log


@dataclass(frozen=True)
class Build:
    command: list[str]
    library: Path


def cache_dir() -> Path:
    """$RNNSCOPE_CACHE_DIR, else $XDG_CACHE_HOME/rnnscope, else ~/.cache/rnnscope."""
    env = os.environ.get("RNNSCOPE_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rnnscope"


def compiler() -> str | None:
    """$CXX (a command line, e.g. "ccache g++"), else c++ or g++ on the PATH."""
    return os.environ.get("CXX", "").strip() or shutil.which("c++") or shutil.which("g++")


def _argv(cxx: str) -> list[str]:
    """``cxx`` as the start of a command: one program if that names one (a path with spaces),
    else split like a shell would ("ccache g++", "g++-13 -fuse-ld=gold"), as make does."""
    if shutil.which(cxx):
        return [cxx]
    try:
        return shlex.split(cxx) or [cxx]
    except ValueError:
        return [cxx]


def plan(cxx: str) -> Build:
    """The compile command and the library it produces (named by what determines it)."""
    from torch.utils import cpp_extension

    capability = torch.backends.cpu.get_cpu_capability()
    abi = int(torch._C._GLIBCXX_USE_CXX11_ABI)
    flags = ["-O3", "-std=c++20", "-fPIC", "-shared", "-w", f"-D_GLIBCXX_USE_CXX11_ABI={abi}"]
    flags += _VECTOR_FLAGS.get(capability, [])
    includes = [f"-I{p}" for p in cpp_extension.include_paths()[:1]]
    libs = [f"-L{p}" for p in cpp_extension.library_paths()]
    rpath = [f"-Wl,-rpath,{p}" for p in cpp_extension.library_paths()]
    key = hashlib.sha256()
    for part in (
        *(p.read_bytes() for p in SOURCES),
        cxx.encode(),
        " ".join(flags).encode(),
        torch.__version__.encode(),
        platform.machine().encode(),
        " ".join(includes).encode(),
    ):
        key.update(part)
        key.update(b"\0")
    out = cache_dir() / "kernels" / f"rnnscope-{key.hexdigest()[:16]}.so"
    command = [*_argv(cxx), *flags, *includes, str(UNIT), *libs, *rpath, "-lc10", "-ltorch_cpu", "-o"]
    return Build(command=command, library=out)


def build(cxx: str, timeout: float = BUILD_TIMEOUT_S) -> Path:
    """The library for this machine: the cached one, or compiled now (~15-30 s, once)."""
    b = plan(cxx)
    if b.library.exists():
        return b.library
    b.library.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=b.library.stem + ".", suffix=".tmp.so", dir=b.library.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    log = b.library.with_suffix(".log")
    try:
        with tempfile.TemporaryFile(dir=b.library.parent) as output:
            # Output to a file, not a pipe: nothing to decode or hold in memory, and no pipe a
            # leftover subprocess keeps open. Its own process group: g++ is a driver, the work
            # runs in its children (cc1plus, as, ld), and a timeout must stop those too.
            try:
                proc = subprocess.Popen(
                    [*b.command, str(tmp)],
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as e:
                raise BuildError(f"cannot run the C++ compiler {cxx!r}: {e}") from e
            try:
                returncode = proc.wait(timeout=timeout)
            except BaseException as e:
                _kill_group(proc)
                if isinstance(e, subprocess.TimeoutExpired):
                    raise BuildError(f"compiling {NAMES} took over {timeout:.0f} s") from e
                raise
            if returncode != 0 or tmp.stat().st_size == 0:
                output.seek(0)
                text = output.read().decode(errors="replace")
                log.write_text(" ".join(b.command) + "\n\n" + text)
                raise BuildError(f"{cxx} failed to compile {NAMES} (exit {returncode})", log)
        os.replace(tmp, b.library)
    finally:
        tmp.unlink(missing_ok=True)
    return b.library


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop the compiler and every process it started (they share its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
