"""The stored sample of every format version opens with today's code and holds its known values.

The samples were written once by make_sample.py (format 1: a tiny LSTM on the copy task,
branch "main" with 12 steps and an lr edit at step 6, branch "alt" forked at step 3 with
clipping switched on; checkpoints every 5 steps, frames stored every 4).
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from cpu_kinds import producible, run_as

from rnnscope.engine import numerics
from rnnscope.engine.config import TrainConfig
from rnnscope.sessions import RegenerationMismatch, Session
from rnnscope.sessions.provenance import summary_deviation
from rnnscope.sessions.record_codec import diff_records

SAMPLE_V1 = Path(__file__).parent / "data" / "session_v1.rnnscope"

MAIN_LOSS = [
    2.3710620403289795, 2.3495192527770996, 2.353590726852417, 2.368185043334961,
    2.383524179458618, 2.2786083221435547, 2.3665709495544434, 2.277545690536499,
    2.31585431098938, 2.233471632003784, 2.3387839794158936, 2.276108980178833,
]  # fmt: skip


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    copy = tmp_path / SAMPLE_V1.name  # never touch the committed file, even by accident
    shutil.copy(SAMPLE_V1, copy)
    return copy


def test_v1_sample_stored_values(sample: Path) -> None:
    with Session.open(sample) as s:
        assert s.format == 1
        assert s.integrity_check() == "ok"
        assert [(b.id, b.name, b.parent, b.fork_step) for b in s.branches()] == [
            (0, "main", None, 0),
            (1, "alt", 0, 3),
        ]
        assert s.branch.name == "alt" and len(s) == 7
        assert s.branches()[0].config["hidden_size"] == 8 and s.branches()[0].config["model"] == "lstm"
        assert TrainConfig.from_dict(s.branches()[0].config).cell == "lstm"  # the old key is read
        main = s.summaries(branch="main")
        assert main.loss.tolist() == MAIN_LOSS
        assert main.grad_norm[3] == 0.5207455158233643
        assert main.lr.tolist() == [1e-3] * 6 + [2e-3] * 6
        assert main.h_grad_norm.shape == (12, 1, 8)
        alt = s.summaries(branch="alt")
        assert alt.loss.tolist() == MAIN_LOSS[:7]  # clipping at 1.0 never bit: same losses
        assert np.isnan(alt.clip_threshold[:3]).all() and (alt.clip_threshold[3:] == 1.0).all()
        assert [(e.step, e.kind, e.name, e.old, e.new) for e in s.timeline(branch="main")] == [
            (3, "branch", "alt", None, 1),
            (6, "edit", "lr", 0.001, 0.002),
        ]
        assert [(e.step, e.kind, e.name, e.old, e.new) for e in s.timeline()] == [
            (3, "fork", "main", None, 0),
            (3, "edit", "clip", False, True),
        ]
        assert float(s.summary(5).h_grad_norm.sum()) == 0.1815546751022339
        rec = s.record(4, branch="main")  # a stored frame
        assert s.has_stored_frame(4, branch="main") and rec.has_frame
        hidden = rec.parts["rnn"].hidden
        assert hidden is not None and hidden.shape == (1, 8, 8) and hidden.dtype == np.float32
        assert float(hidden.sum()) == -0.16510647535324097
        assert rec.probe is not None and rec.probe.input.tolist() == [1, 0, 4, 8, 9, 8, 8, 8]
        assert rec.gates is not None and sorted(rec.gates) == ["f", "g", "i", "o"]


TRAINING_STATE = ("gates", "hidden", "cell", "h_grad", "c_grad")  # not derived diagnostics (SVD, Jacobian)

# The v1 sample was recorded on the torch loops with torch's own log_softmax (numerics revision 1)
# by a process running ATen's AVX512 code path: it regenerates bit for bit at AVX512 and nowhere
# else (issue 10: that log_softmax reduces rows in 16 lanes at AVX512, 8 at AVX2). Elsewhere the
# replay is within rounding of the record: over the sample's 12 steps the largest deviations
# measured at AVX2 and DEFAULT were 2.2e-7 (relative, summaries) and 2.4e-7 (absolute, gates and
# states of magnitude <= 1); the tolerances below are 4x that, and engine.numerics.DRIFT puts a
# last-bit difference at <= 1e-6 within 10 replayed steps. A real change of training numerics
# moves losses by far more (a changed learning rate, init or loss: >= 1e-3 within these steps).
# The bits depend on the BLAS code path too: MKL picks its kernels by CPU vendor (engine.numerics
# fingerprints it as "MKL ... on AuthenticAMD"), so an Intel CPU at AVX512 is "elsewhere" for this
# sample as much as an AMD one at AVX2. Measured on an Intel Xeon (2026-12-08), steps 0, 4, 8:
# summaries within 2.1e-7 (relative) at AVX512 and 1.9e-7 at AVX2, gates and states within 1.2e-7
# (absolute) at both: rounding, inside the tolerances below. A vendor cannot be emulated: on an AMD
# machine the exact check runs at AVX512 and the approximate one at AVX2 and DEFAULT; on an Intel
# one the approximate check runs at every capability.
RECORDED_CAPABILITY = "AVX512"
RECORDED_BLAS_ON = "on AuthenticAMD"  # the sample was recorded on an AMD EPYC, MKL_CBWR unset
SUMMARY_RTOL = 1e-6
FRAME_ATOL = 1e-6


def recorded_path(capability: str) -> bool:
    """Whether a process at ``capability`` on this machine runs the sample's recorded code path."""
    blas = numerics.fingerprint(kernels="torch")["blas"]
    return capability == RECORDED_CAPABILITY and blas.endswith(RECORDED_BLAS_ON)


def _frame_gap(stored, regen) -> float:
    gap = 0.0
    for name, a in stored.parts.items():
        b = regen.parts[name]
        arrays = [(getattr(a, f), getattr(b, f)) for f in TRAINING_STATE[1:]]
        arrays += [(a.gates[g], b.gates[g]) for g in a.gates or {}]
        for x, y in arrays:
            if x is not None:
                assert y is not None and x.shape == y.shape and x.dtype == y.dtype
                gap = max(gap, float(np.max(np.abs(x.astype(np.float64) - y))))
    return gap


def check_v1_regeneration(sample: Path, exact: bool) -> None:
    """Old files replay the same training with today's engine: bit for bit where this process
    runs the code path the sample was recorded on, within the tolerances above elsewhere, and
    never silently: a regenerated frame carries its provenance (a v1 file has no fingerprint, so
    it is never claimed identical) and its measured deviation. Diagnostics computed from the
    weights (singular values, Jacobian norms) may change algorithm and are not compared."""
    with Session.open(sample) as s:
        assert s.revision == 1 and s.kernels == "torch"
        for k in (0, 4, 8):
            stored, regen = s.record(k, branch="main"), s.regenerate(k, branch="main")
            if exact:
                diffs = diff_records(stored, regen, frames=True)
                assert [
                    d for d in diffs if d.split(".")[-1].split("[")[0].split()[0] in TRAINING_STATE
                ] == [], k
                assert diff_records(stored, regen, frames=False) == [], k
            else:
                assert summary_deviation(stored, regen) <= SUMMARY_RTOL, k
                assert _frame_gap(stored, regen) <= FRAME_ATOL, k
        for k in (1, 2, 9, 10):  # not stored: regenerated through record(), which measures itself
            rec = s.record(k, branch="main")
            prov = s.provenance(k, branch="main")
            assert prov is not None and prov.elsewhere and prov.checked >= 1
            assert prov.exact if exact else prov.deviation <= SUMMARY_RTOL
            assert "regenerated on another machine kind" in rec.provenance
        if exact:
            assert s.mismatches == []
        for k in (5, 6):  # alt's own steps, replaying its clip edit
            regen = s.record(k, branch="alt")
            assert not s.has_stored_frame(k, branch="alt") and regen.has_frame
            assert regen.clip_threshold == 1.0


def test_v1_sample_regenerates_its_stored_frames(sample: Path) -> None:
    exact = recorded_path(torch.backends.cpu.get_cpu_capability())
    with warnings.catch_warnings():
        if not exact:
            warnings.simplefilter("ignore", RegenerationMismatch)
        check_v1_regeneration(sample, exact=exact)


CHILD = """
import sys, warnings
from pathlib import Path
sys.path[:0] = ["tests/sessions", "tests"]
from test_session_backcompat import check_v1_regeneration
warnings.simplefilter("ignore")
check_v1_regeneration(Path(sys.argv[1] if len(sys.argv) > 1 else SAMPLE), exact=EXACT)
print("ok")
"""


@pytest.mark.parametrize("capability", ["AVX512", "AVX2", "DEFAULT"])
def test_v1_sample_regenerates_on_every_cpu_kind_this_machine_can_run(sample: Path, capability: str) -> None:
    """The same check in a child process per CPU kind, so that CI exercises both the exact and
    the approximate path whatever CPU it lands on."""
    if capability not in producible():
        pytest.skip(f"this CPU cannot run ATen's {capability} code path")
    code = f"SAMPLE = {str(sample)!r}\nEXACT = {recorded_path(capability)}\n" + CHILD
    assert run_as(capability, code).strip().endswith("ok")
