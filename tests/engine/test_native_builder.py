"""Building and loading the C++ kernels (engine/native/builder.py, engine/native/__init__.py).

A failed, killed or concurrent build must never leave a broken library that later starts
load, and a machine where the kernels cannot be built must still train (on the torch
loops) with one clear warning. Stand-in compilers (shell scripts) play each failure; the
successful one copies the library this machine really built, so no test waits for g++.
Process-wide state (a loaded operator library) is tested in subprocesses.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rnnscope.engine import native
from rnnscope.engine.native import builder as nb

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(nb.compiler() is None, reason="no C++ compiler")


@pytest.fixture(scope="module")
def good_library() -> Path:
    """The library the real compiler built for this machine."""
    assert native.load(), native.status()
    cxx = nb.compiler()
    assert cxx is not None
    return nb.plan(cxx).library


def fake_compiler(tmp_path: Path, body: str, name: str = "fakecxx") -> str:
    """A compiler stand-in; ``$OUT`` is the output file (the command's last argument)."""
    script = tmp_path / name
    script.write_text(f'#!/bin/sh\nfor OUT; do :; done\necho "$@" >> "{tmp_path}/{name}.calls"\n{body}\n')
    script.chmod(0o755)
    return str(script)


def calls(tmp_path: Path, name: str = "fakecxx") -> int:
    f = tmp_path / f"{name}.calls"
    return len(f.read_text().splitlines()) if f.exists() else 0


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("RNNSCOPE_CACHE_DIR", str(d))
    return d


def leftovers(cache: Path) -> list[str]:
    return (
        sorted(p.name for p in (cache / "kernels").glob("*.tmp.so")) if (cache / "kernels").exists() else []
    )


def test_build_compiles_once_then_reuses_the_cached_library(tmp_path, cache, good_library) -> None:
    cxx = fake_compiler(tmp_path, f'cp "{good_library}" "$OUT"')
    first = nb.build(cxx)
    second = nb.build(cxx)
    assert first == second == nb.plan(cxx).library
    assert first.parent == cache / "kernels"
    assert first.read_bytes() == good_library.read_bytes()
    assert calls(tmp_path) == 1
    assert leftovers(cache) == []


def test_the_library_name_changes_with_what_changes_the_binary(tmp_path, cache) -> None:
    a = nb.plan(fake_compiler(tmp_path, "true", "cxx_a")).library
    b = nb.plan(fake_compiler(tmp_path, "true", "cxx_b")).library
    assert a != b and a.parent == b.parent


def test_a_failed_compile_raises_with_the_compilers_output_and_leaves_nothing(tmp_path, cache) -> None:
    cxx = fake_compiler(tmp_path, 'echo "recurrence.cpp:1: error: boom" >&2; echo junk > "$OUT"; exit 1')
    with pytest.raises(
        nb.BuildError, match=r"failed to compile recurrence\.cpp, jacobian\.cpp \(exit 1\)"
    ) as err:
        nb.build(cxx)
    assert err.value.log is not None and "error: boom" in err.value.log.read_text()
    assert str(err.value.log) in str(err.value)
    assert not nb.plan(cxx).library.exists()
    assert leftovers(cache) == []


def test_a_build_killed_by_the_timeout_leaves_no_half_written_library(tmp_path, cache) -> None:
    cxx = fake_compiler(tmp_path, 'echo partial > "$OUT"; sleep 30')
    with pytest.raises(nb.BuildError, match="took over 1 s"):
        nb.build(cxx, timeout=1)
    assert not nb.plan(cxx).library.exists()
    assert leftovers(cache) == []


def test_two_builds_at_once_both_get_a_whole_library(tmp_path, cache, good_library) -> None:
    cxx = fake_compiler(tmp_path, f'sleep 0.5; cp "{good_library}" "$OUT"')
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(nb.build(cxx))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results[0] == results[1]
    assert results[0].read_bytes() == good_library.read_bytes()
    assert leftovers(cache) == []


def test_an_unknown_kernels_mode_is_refused_by_name(monkeypatch) -> None:
    monkeypatch.setenv("RNNSCOPE_KERNELS", "fast")
    with pytest.raises(ValueError, match=r"RNNSCOPE_KERNELS='fast'.*auto, native, torch"):
        native.mode()
    with pytest.raises(ValueError, match="kernels mode 'fast'"), native.forced("fast"):
        pass


# --- whole processes ------------------------------------------------------------------------------

TRAIN_ONE_STEP = """
import warnings, sys
warnings.simplefilter("always")
from rnnscope.engine import native
from rnnscope.engine import TrainConfig, Trainer
tr = Trainer(TrainConfig(cell="lstm", task="copy", hidden_size=8, seq_len=6, delay=1, batch_size=2, device="cpu"))
rec = tr.step()
print("loss", rec.loss)
print("status", native.status())
"""


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=120)


def test_a_damaged_cached_library_is_rebuilt(tmp_path, cache, good_library) -> None:
    cxx = fake_compiler(tmp_path, f'cp "{good_library}" "$OUT"')
    lib = nb.plan(cxx).library
    lib.parent.mkdir(parents=True)
    lib.write_bytes(b"\x7fELF truncated by a full disk")
    proc = run_python(
        TRAIN_ONE_STEP, {"RNNSCOPE_CACHE_DIR": str(cache), "CXX": cxx, "RNNSCOPE_KERNELS": "native"}
    )
    assert proc.returncode == 0, proc.stderr
    assert f"status C++ kernels ({lib})" in proc.stdout
    assert lib.read_bytes() == good_library.read_bytes()
    assert calls(tmp_path) == 1


def test_without_kernels_auto_mode_trains_on_the_torch_loops_and_says_why(tmp_path) -> None:
    cxx = fake_compiler(tmp_path, 'echo "fatal error: torch/library.h: No such file" >&2; exit 1')
    proc = run_python(TRAIN_ONE_STEP, {"RNNSCOPE_CACHE_DIR": str(tmp_path / "c"), "CXX": cxx})
    assert proc.returncode == 0, proc.stderr
    assert "loss " in proc.stdout
    assert "status torch loops:" in proc.stdout and "failed to compile" in proc.stdout
    assert proc.stderr.count("the C++ recurrence kernels are not available") == 1


def test_native_mode_without_kernels_is_an_error_naming_the_cause(tmp_path) -> None:
    cxx = fake_compiler(tmp_path, "exit 3")
    proc = run_python(
        TRAIN_ONE_STEP, {"RNNSCOPE_CACHE_DIR": str(tmp_path / "c"), "CXX": cxx, "RNNSCOPE_KERNELS": "native"}
    )
    assert proc.returncode != 0
    assert "RNNSCOPE_KERNELS=native but the C++ kernels are not available" in proc.stderr
    assert "(exit 3)" in proc.stderr


def test_torch_mode_never_runs_the_compiler(tmp_path) -> None:
    cxx = fake_compiler(tmp_path, "exit 1")
    proc = run_python(
        TRAIN_ONE_STEP, {"RNNSCOPE_CACHE_DIR": str(tmp_path / "c"), "CXX": cxx, "RNNSCOPE_KERNELS": "torch"}
    )
    assert proc.returncode == 0, proc.stderr
    assert "status torch loops (RNNSCOPE_KERNELS=torch)" in proc.stdout
    assert calls(tmp_path) == 0


# --- the compiler process -------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def test_a_timed_out_build_stops_the_compilers_own_subprocesses(tmp_path, cache) -> None:
    # g++ is a driver: the work runs in its children (cc1plus, as, ld). Killing only the
    # driver left a hung cc1plus running (a core busy) long after the fallback.
    pidfile = tmp_path / "child.pid"
    cxx = fake_compiler(tmp_path, f"sh -c 'echo $$ > \"{pidfile}\"; exec sleep 30' & wait")
    try:
        with pytest.raises(nb.BuildError, match="took over 1 s"):
            nb.build(cxx, timeout=1)
        child = int(pidfile.read_text())
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        if pidfile.exists() and _alive(int(pidfile.read_text())):
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
    assert leftovers(cache) == []


def test_compiler_output_that_is_not_utf8_still_fails_as_a_build_error(tmp_path, cache) -> None:
    # A diagnostic quoting a Latin-1 path or source line crashed the decode (UnicodeDecodeError):
    # neither BuildError nor OSError, so auto mode raised instead of falling back.
    cxx = fake_compiler(tmp_path, "printf '/home/ren\\351/x.h:1: error: boom\\n' >&2; exit 1")
    with pytest.raises(nb.BuildError, match=r"\(exit 1\)") as err:
        nb.build(cxx)
    assert err.value.log is not None and "error: boom" in err.value.log.read_text()
    assert leftovers(cache) == []


def test_cxx_with_arguments_runs_as_a_command_line(tmp_path, cache, good_library, monkeypatch) -> None:
    # CXX="ccache g++" is the usual way to put a compiler cache in front (make, setuptools,
    # cpp_extension all split it); it was run as one program named "ccache g++".
    real = fake_compiler(tmp_path, f'cp "{good_library}" "$OUT"')
    monkeypatch.setenv("CXX", f"{real} -DWRAPPED")
    cxx = nb.compiler()
    assert cxx is not None
    assert nb.build(cxx).read_bytes() == good_library.read_bytes()
    assert (tmp_path / "fakecxx.calls").read_text().startswith("-DWRAPPED ")


def test_a_blank_cxx_means_the_default_compiler(monkeypatch) -> None:
    monkeypatch.setenv("CXX", "  ")
    assert nb.compiler() == (shutil.which("c++") or shutil.which("g++"))


def test_a_library_just_built_that_does_not_load_is_not_compiled_again(tmp_path, cache, monkeypatch) -> None:
    # E.g. g++ newer than the libstdc++ the process loaded (conda): rebuilding cannot help, and
    # cost every start a second full compile before the fallback.
    cxx = fake_compiler(tmp_path, 'printf "\\177ELF not really" > "$OUT"')
    monkeypatch.setenv("CXX", cxx)
    ok, reason = native._load_library()
    assert not ok and str(nb.plan(cxx).library) in reason
    assert calls(tmp_path) == 1


def test_status_in_native_mode_without_kernels_does_not_claim_the_torch_loops(monkeypatch) -> None:
    # RNNSCOPE_KERNELS=native never falls back: every float32 CPU recurrence raises instead.
    monkeypatch.setenv("RNNSCOPE_KERNELS", "native")
    monkeypatch.setattr(native, "_loaded", False)
    monkeypatch.setattr(native, "_reason", "g++ failed to compile recurrence.cpp (exit 1)")
    line = native.status()
    assert not line.startswith("torch loops") and "RNNSCOPE_KERNELS=native" in line
    assert line.endswith("g++ failed to compile recurrence.cpp (exit 1)")
    monkeypatch.setenv("RNNSCOPE_KERNELS", "auto")
    assert native.status() == "torch loops: g++ failed to compile recurrence.cpp (exit 1)"
