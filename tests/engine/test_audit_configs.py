"""The audit's unusual configurations, each held to the float64 unrolled reference of
test_trainer.py (its own cell equations, not the code under test): the gates, states, per-unit
gradients and batch-mean norms at every timestep, the frame's Jacobian gains and singular
values, at the edges (B = 1, H = 1, T = 1), at length (T = 500), at width (H = 1024) and at
magnitudes from below 1e-30 to above 1e30 (a chaotic tanh RNN some steps into its explosion).

Dropout and teacher forcing below 1 draw random masks and feedings the reference does not
replay; their invariants are held in test_trainer.py and test_models.py instead."""

from __future__ import annotations

import numpy as np
import pytest
from test_trainer import check_against_reference, config

from engine import Trainer
from engine.demos import DEMOS

AUDIT = {
    "B1-H1-T1": dict(model="lstm", task="sine", batch_size=1, hidden_size=1, seq_len=1),
    "B1-H1-gru": dict(model="gru", task="sine", batch_size=1, hidden_size=1, seq_len=2),
    "gru-T500": dict(model="gru", task="copy", seq_len=500, delay=300, batch_size=2, hidden_size=4),
    "rnn-H1024": dict(model="rnn", task="adding", hidden_size=1024, seq_len=6, batch_size=2),
    "lstm-3-layers": dict(model="lstm", task="copy", layers=3, forget_bias=1.0),
    "tied-lstm-lm": dict(model="lstm", task="charlm", layers=2, tie_weights=True),
    "lstm-gru-s2s": dict(model="lstm", decoder_model="gru", task="reverse", layers=2),
}


@pytest.mark.parametrize("name", list(AUDIT))
def test_audit_config_matches_the_float64_reference(name: str) -> None:
    tr = Trainer(config(**AUDIT[name]))
    rec = check_against_reference(tr, diagnostics=True)
    assert rec.has_frame


def test_a_chaotic_rnn_is_right_above_1e30() -> None:
    """The exploding demo's RNN (W_hh = 2 x orthogonal, SGD at lr 0.1, no clipping), some steps
    into its explosion: per-timestep gradient norms above 1e30, still right relatively."""
    cfg = DEMOS["exploding"].runs["RNN"].with_changes(device="cpu")
    tr = Trainer(cfg)
    states = [tr.state_dict()]
    for _ in range(DEMOS["exploding"].steps_hint):
        rec = tr.step()
        states.append(tr.state_dict())
        if not np.isfinite(rec.loss) or float(np.max(rec.h_grad_norm)) > 1e30:
            break
    assert float(np.max(rec.h_grad_norm)) > 1e30 and np.isfinite(rec.h_grad_norm).all(), "must reach 1e30"
    tr.load_state_dict(states[-3])  # check_against_reference steps once, then takes the step that got there
    got = check_against_reference(tr, diagnostics=True)
    assert float(np.max(got.h_grad_norm)) > 1e30
