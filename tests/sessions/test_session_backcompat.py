"""The stored sample of every format version opens with today's code and holds its known values.

The samples were written once by make_sample.py (format 1: a tiny LSTM on the copy task,
branch "main" with 12 steps and an lr edit at step 6, branch "alt" forked at step 3 with
clipping switched on; checkpoints every 5 steps, frames stored every 4).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from sessions import Session
from sessions.record_codec import diff_records

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


def test_v1_sample_regenerates_its_stored_frames(sample: Path) -> None:
    """Old files replay the same training with today's engine: the summaries and the recorded
    states and gradients come back bit for bit. If this fails, the engine's training numerics
    changed since format 1 was sampled: old sessions would regenerate frames that differ from
    what was recorded (Session flags them with RegenerationMismatch). Format 1 files have no meta
    ``kernels``: they were recorded on the torch loops, and replay pins those even where the C++
    kernels run by default (tests/sessions/test_session_kernels.py). Diagnostics computed from
    the weights (singular values, Jacobian norms) may change algorithm and are not compared."""
    with Session.open(sample) as s:
        for k in (0, 4, 8):
            stored, regen = s.record(k, branch="main"), s.regenerate(k, branch="main")
            diffs = diff_records(stored, regen, frames=True)
            assert [d for d in diffs if d.split(".")[-1].split("[")[0].split()[0] in TRAINING_STATE] == [], k
            assert diff_records(stored, regen, frames=False) == [], k
        assert s.mismatches == []
        for k in (5, 6):  # alt's own steps, replaying its clip edit
            regen = s.record(k, branch="alt")
            assert not s.has_stored_frame(k, branch="alt") and regen.has_frame
            assert regen.clip_threshold == 1.0
