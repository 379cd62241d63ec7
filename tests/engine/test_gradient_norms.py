"""||dL/dh_t|| and ||dL/dc_t|| are right at every magnitude (issue 11, item 1).

The batch-mean norms used to be float32 sums of squares: below ~1e-19 they lost precision and
below ~3e-23 they were exactly 0, exactly where the vanishing-gradient lesson lives. They are
now summed in float64. Held here to the float64 unrolled-autograd reference of test_trainer.py
(its own cell equations, not the code under test), relatively, in every timestep.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_trainer import masked_mean_norm, reference

from rnnscope.engine import TrainConfig, Trainer
from rnnscope.engine.diagnostics import masked_batch_mean_norm


def _relative_error(got: np.ndarray, want: np.ndarray) -> float:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape
    return float(np.max(np.abs(got - want) / np.abs(want)))


def _step_against_reference(
    cfg: TrainConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    tr = Trainer(cfg)
    state = tr.state_dict()
    rec = tr.step(probe=True)
    _, parts, _, _ = reference(tr, state)
    layers = parts["rnn"]
    want_h = np.stack([masked_mean_norm(ly.stack_grad("h"), None) for ly in layers])
    want_c = None
    if cfg.cell == "lstm":
        want_c = np.stack([masked_mean_norm(ly.stack_grad("c"), None) for ly in layers])
    part = rec.parts["rnn"]
    return part.h_grad_norm, want_h, part.c_grad_norm, want_c


def test_the_issue_repro_no_longer_reads_zero() -> None:
    """RNN on adding, H=8, T=80, B=1, init_scale 0.5: the first norms are ~1e-28 (they were 0)."""
    cfg = TrainConfig(
        cell="rnn", task="adding", hidden_size=8, seq_len=80, batch_size=1, init_scale=0.5, device="cpu"
    )
    got, want, _, _ = _step_against_reference(cfg)
    assert got.dtype == np.float64
    assert (got > 0).all() and float(want.min()) < 1e-25
    assert _relative_error(got, want) < 1e-4  # float32 training against a float64 reference


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_norms_far_below_float32s_normal_range_follow_the_float64_reference(cell: str) -> None:
    """Gradients that vanish through 30+ decades: every timestep whose true norm float32 can
    still hold (its gradient is not exactly zero) is right to float32 rounding of the gradient."""
    cfg = TrainConfig(
        cell=cell, task="adding", hidden_size=8, seq_len=300 if cell == "gru" else 160, batch_size=2, init_scale=0.3,
        forget_bias=-3.0, device="cpu", seed=1,
    )  # fmt: skip
    got_h, want_h, got_c, want_c = _step_against_reference(cfg)
    pairs = [(got_h, want_h)] + ([(got_c, want_c)] if got_c is not None and want_c is not None else [])
    for got, want in pairs:
        assert got is not None and want is not None
        holdable = want > 1e-36  # float32 gradients themselves lose digits in the subnormals
        assert float(want.min()) < 1e-30, "the case must reach below 1e-30"
        assert _relative_error(got[holdable], want[holdable]) < 1e-3
        assert (got[want > 1e-44] > 0).all()  # never a zero where float32 holds a value


def test_the_reduction_is_exact_from_subnormal_to_huge() -> None:
    """Synthetic gradients (T, B, H) at 1e-44 .. 1e37, against numpy's float64 norms."""
    rng = np.random.default_rng(0)
    scales = 10.0 ** np.linspace(-44, 37, 12)  # one timestep per decade range
    g = (rng.standard_normal((12, 3, 7)) * scales[:, None, None]).astype(np.float32)
    want = np.linalg.norm(g.astype(np.float64), axis=2).mean(axis=1)
    got = masked_batch_mean_norm(torch.from_numpy(g), None).numpy()
    assert got.dtype == np.float64 and (got > 0).all() and np.isfinite(got).all()
    assert _relative_error(got, want) < 1e-12
    valid = torch.tensor(rng.random((12, 3)) < 0.6)
    valid[:, 0] = True
    got_v = masked_batch_mean_norm(torch.from_numpy(g), valid).numpy()
    v = valid.numpy()
    want_v = (np.linalg.norm(g.astype(np.float64), axis=2) * v).sum(axis=1) / v.sum(axis=1)
    assert _relative_error(got_v, want_v) < 1e-12
