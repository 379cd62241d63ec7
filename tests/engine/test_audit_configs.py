"""The audit's unusual configurations, each held to the float64 unrolled reference of
test_trainer.py (its own cell equations, not the code under test): the gates, states, per-unit
gradients and batch-mean norms at every timestep, the frame's Jacobian gains and singular
values, at the edges (B = 1, H = 1, T = 1), at length (T = 500), at width (H = 1024) and at
magnitudes from below 1e-30 to above 1e30 (a chaotic tanh RNN some steps into its explosion).

Dropout and teacher forcing below 1 draw at random: the step's dropout masks and the decoder
input it fed are recorded while it runs and the reference uses the same ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_trainer import check_against_reference, config

from rnnscope.engine import Trainer
from rnnscope.engine.demos import DEMOS
from rnnscope.engine.models import RunContext, Seq2SeqModel

AUDIT = {
    "B1-H1-T1": dict(cell="lstm", task="sine", batch_size=1, hidden_size=1, seq_len=1),
    "B1-H1-gru": dict(cell="gru", task="sine", batch_size=1, hidden_size=1, seq_len=2),
    "gru-T500": dict(cell="gru", task="copy", seq_len=500, delay=300, batch_size=2, hidden_size=4),
    "rnn-H1024": dict(cell="rnn", task="adding", hidden_size=1024, seq_len=6, batch_size=2),
    "lstm-3-layers": dict(cell="lstm", task="copy", layers=3, forget_bias=1.0),
    "tied-lstm-lm": dict(cell="lstm", task="charlm", layers=2, tie_weights=True),
    "lstm-gru-s2s": dict(cell="lstm", decoder_cell="gru", task="reverse", layers=2),
}


@pytest.mark.parametrize("name", list(AUDIT))
def test_audit_config_matches_the_float64_reference(name: str) -> None:
    tr = Trainer(config(**AUDIT[name]))
    rec = check_against_reference(tr, diagnostics=True)
    assert rec.has_frame


def _recorder(monkeypatch):
    """Records the dropout multipliers and the decoder input of the steps that follow."""
    masks: list[torch.Tensor] = []
    fed: list[torch.Tensor] = []
    drop, forward = RunContext.drop, Seq2SeqModel.forward

    def spy_drop(self, x):
        if not self.training or self.dropout <= 0.0:
            return drop(self, x)
        before = self.gen.get_state()
        out = drop(self, x)  # the model's own dropout ...
        self.gen.set_state(before)  # ... and its mask, drawn again from the same generator state
        shape = (1, *x.shape[1:]) if self.variational else x.shape
        mask = torch.empty(shape, dtype=x.dtype).bernoulli_(1.0 - self.dropout, generator=self.gen)
        mask.div_(1.0 - self.dropout)
        assert torch.equal(out, x * mask), "the recorded mask must be the one the model applied"
        masks.append(mask)
        return out

    def spy_forward(self, batch, ctx, dec_in=None):
        if ctx.training and dec_in is not None:
            fed.append(dec_in.clone())
        return forward(self, batch, ctx, dec_in)

    monkeypatch.setattr(RunContext, "drop", spy_drop)
    monkeypatch.setattr(Seq2SeqModel, "forward", spy_forward)

    def start():
        masks.clear()
        fed.clear()

        def after():
            kw = {"masks": list(masks)} if masks else {}
            if fed:
                kw["dec_in"] = fed[-1]
            return kw

        return after

    return start


RANDOM = {
    "gru-3-layers-variational-dropout": dict(
        cell="gru", task="copy", layers=3, dropout=0.3, variational_dropout=True
    ),
    "lstm-2-layers-dropout": dict(cell="lstm", task="charlm", layers=2, dropout=0.3),
    "lstm-gru-s2s-teacher-forcing-0.5": dict(
        cell="lstm", decoder_cell="gru", task="reverse", teacher_forcing=0.5
    ),
    "lstm-s2s-dropout-teacher-forcing-0.5": dict(
        cell="lstm", task="reverse", layers=2, dropout=0.2, teacher_forcing=0.5
    ),
}


@pytest.mark.parametrize("name", list(RANDOM))
def test_random_draws_match_the_float64_reference_fed_the_same_draws(name: str, monkeypatch) -> None:
    tr = Trainer(config(**RANDOM[name]))
    rec = check_against_reference(tr, diagnostics=True, drawn=_recorder(monkeypatch))
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
