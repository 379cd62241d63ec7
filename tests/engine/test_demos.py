"""Teaching demos: every demo is well formed, runs headless, and the claim it teaches holds
on real training records (with the demo's own configs, fewer steps where that suffices)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from rnnscope.engine.breakpoints import BreakpointSet
from rnnscope.engine.config import LIVE_FIELDS, TrainConfig
from rnnscope.engine.demos import DEMOS, PANELS, Demo, get_demo, run_demo
from rnnscope.engine.demos.checks import backward_factor, copy_quiet_end, grad_ratio
from rnnscope.engine.trainer import Trainer

HANGUL = re.compile("[\uac00-\ud7a3]")
REQUIRED = ("vanishing", "exploding", "init-scale", "highway", "gru-vs-lstm", "seq2seq", "language-model")


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """These models are tiny: one intra-op thread is faster, and on a shared CPU (CI, other
    test runs) two spinning OpenMP threads per process can make a step 10x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_the_required_demos_exist() -> None:
    assert set(REQUIRED) <= set(DEMOS)


def test_get_demo_unknown_names_the_known_demos() -> None:
    assert get_demo("vanishing") is DEMOS["vanishing"]
    with pytest.raises(ValueError) as info:
        get_demo("vanishin")
    assert "vanishin" in str(info.value)
    for name in DEMOS:
        assert name in str(info.value)


@pytest.mark.parametrize("demo", DEMOS.values(), ids=list(DEMOS))
def test_demo_is_well_formed(demo: Demo) -> None:
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", demo.name)
    assert demo.title and HANGUL.search(demo.title_ko)
    assert demo.title_for("ko") == demo.title_ko and demo.title_for("en") == demo.title
    for cfg in demo.runs.values():
        assert isinstance(cfg, TrainConfig)
        assert TrainConfig.from_dict(cfg.to_dict()) == cfg  # validates
        assert cfg.device == "auto"
    assert len(set(demo.runs)) == len(demo.runs) >= 1
    assert demo.layout and all(p in PANELS for p in demo.layout)
    assert demo.steps_hint > 0
    en, ko = demo.explanation_for("en"), demo.explanation_for("ko")
    assert len(en) > 300 and len(ko) > 200
    assert HANGUL.search(ko) and not HANGUL.search(en)
    with pytest.raises(ValueError):
        demo.explanation_for("fr")
    bps = demo.breakpoint_set()
    assert isinstance(bps, BreakpointSet)
    assert any(b.kind == "nonfinite" and b.enabled for b in bps)
    bps.get("nonfinite").enabled = False
    assert demo.breakpoint_set().get("nonfinite").enabled  # a copy: the demo is untouched
    for s in demo.suggestions:
        assert s.run is None or s.run in demo.runs
        assert s.field in TrainConfig.__dataclass_fields__
        assert set(s.note) == {"en", "ko"}
        base = demo.runs[s.run] if s.run is not None else next(iter(demo.runs.values()))
        assert base.with_changes(**{s.field: s.value}) != base  # a valid, real change
        assert s.live == (s.field in LIVE_FIELDS)


def test_gru_demo_says_which_formulation_is_shown() -> None:
    text = DEMOS["gru-vs-lstm"].explanation_for("en")
    assert "nn.GRU" in text
    assert "h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}" in text  # PyTorch's, the one shown
    assert "h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ tanh(W x_t + U (r_t ⊙ h_{t-1}) + b)" in text  # the course's
    assert "nn.GRU" in DEMOS["gru-vs-lstm"].explanation_for("ko")


def test_lstm_limits_are_stated_honestly() -> None:
    assert "does not remove" in DEMOS["vanishing"].explanation_for("en")
    assert "없애지는 못합니다" in DEMOS["vanishing"].explanation_for("ko")


@pytest.mark.parametrize("demo", DEMOS.values(), ids=list(DEMOS))
def test_every_demo_runs_headless(demo: Demo) -> None:
    seen: list[str] = []
    result = run_demo(demo, steps=2, on_record=lambda label, rec: seen.append(label))
    assert set(result.records) == set(demo.runs)
    for label, recs in result.records.items():
        assert 1 <= len(recs) <= 2
        assert all(math.isfinite(r.loss) for r in recs)
        assert result.trainers[label].step_count == len(recs)
    assert len(seen) == sum(len(r) for r in result.records.values())
    with pytest.raises(ValueError, match="no run"):
        run_demo(demo, steps=1, runs=["nope"])


def test_check_refuses_missing_runs() -> None:
    ok, message = DEMOS["vanishing"].check({"RNN": []})
    assert not ok and "LSTM" in message


# -- the claims ----------------------------------------------------------------------------
def test_vanishing_rnn_ratio_far_below_lstm() -> None:
    demo = DEMOS["vanishing"]
    result = run_demo(demo, steps=30)
    ok, message = result.check()
    assert ok, message
    rnn, lstm = (result.records[k][-1] for k in ("RNN", "LSTM"))
    assert grad_ratio(rnn) * 100 < grad_ratio(lstm)
    # geometric decay: a straight line in log scale, each step back multiplies by < 1
    factor, r2 = backward_factor(rnn.h_grad_norm[0], 0, copy_quiet_end(demo.runs["RNN"]))
    assert factor < 0.9 and r2 > 0.95


def test_exploding_pauses_on_nonfinite_then_rewind_with_clipping_trains() -> None:
    demo = DEMOS["exploding"]
    cfg = demo.runs["RNN"]
    assert not cfg.clip and cfg.init_scale > 1
    tr = Trainer(cfg)
    start = tr.state_dict()
    result = run_demo(demo, trainers={"RNN": tr})
    free = result.records["RNN"]
    hits = result.hits["RNN"]
    assert [h.kind for h in hits] == ["nonfinite"], "the run should pause on the non-finite breakpoint"
    assert hits[0].step == free[-1].step < demo.steps_hint - 1
    assert free[0].grad_norm > 100 and max(r.grad_norm for r in free) > 1e3
    ok, message = demo.check({"RNN": free})
    assert ok, message
    assert "rewind" in message

    # rewind to step 0, turn clipping on, continue
    tr.load_state_dict(start)
    tr.set_param("clip", True)
    clipped = [tr.step() for _ in range(40)]
    assert all(math.isfinite(r.loss) and r.nonfinite is None for r in clipped)
    assert all(r.grad_norm_clipped <= cfg.clip_threshold * (1 + 1e-4) for r in clipped)
    assert clipped[0].grad_norm == pytest.approx(free[0].grad_norm, rel=1e-5)  # same step, now clipped
    first, last = np.mean([r.loss for r in clipped[:10]]), np.mean([r.loss for r in clipped[-10:]])
    assert last < 0.5 * first
    ok, message = demo.check({"RNN": [*free, *clipped]})
    assert ok, message


def test_exploding_check_fails_without_explosion() -> None:
    demo = DEMOS["exploding"]
    tame = run_demo(demo, steps=3, trainers={"RNN": Trainer(demo.runs["RNN"].with_changes(init_scale=0.5))})
    ok, message = demo.check(tame.records)
    assert not ok and "no explosion" in message


def test_init_scale_sets_sigma_max_and_the_gradient_growth_rate() -> None:
    demo = DEMOS["init-scale"]
    result = run_demo(demo, steps=1)
    ok, message = result.check()
    assert ok, message
    factors = {}
    for label, cfg in demo.runs.items():
        rec = result.records[label][0]
        assert rec.whh_singular_values is not None
        sigma = float(rec.whh_singular_values[0, 0])
        assert sigma == pytest.approx(cfg.init_scale, rel=0.05)
        factors[cfg.init_scale], _ = backward_factor(rec.h_grad_norm[0], 0, cfg.seq_len - 2)
        assert factors[cfg.init_scale] <= sigma * 1.02
    assert factors[0.5] < 1.0 < factors[2.0]
    assert factors[0.5] < factors[1.0] < factors[2.0]


def test_highway_forget_bias_carries_dl_dc_back() -> None:
    demo = DEMOS["highway"]
    result = run_demo(demo, steps=5)
    ok, message = result.check()
    assert ok, message
    by_bias = {cfg.forget_bias: result.records[label][-1] for label, cfg in demo.runs.items()}
    low, high = by_bias[min(by_bias)], by_bias[max(by_bias)]
    assert grad_ratio(high, cell=True) > 100 * grad_ratio(low, cell=True)
    assert low.c_grad_norm is not None and high.c_grad_norm is not None
    assert high.c_grad_norm[0, 0] > 100 * low.c_grad_norm[0, 0]  # dL/dc_0 itself, not only the ratio


def test_gru_has_three_quarters_of_the_lstm_recurrent_parameters() -> None:
    demo = DEMOS["gru-vs-lstm"]
    result = run_demo(demo, steps=3)
    ok, message = result.check()
    assert ok, message
    gru, lstm = result.trainers["GRU"], result.trainers["LSTM"]
    assert 4 * gru.recurrent_param_count() == 3 * lstm.recurrent_param_count()
    assert "0.7500" in message and "step" in message
    assert demo.runs["GRU"].task == demo.runs["LSTM"].task


def test_seq2seq_teacher_forced_ahead_of_free_running() -> None:
    demo = DEMOS["seq2seq"]
    assert sorted(cfg.teacher_forcing for cfg in demo.runs.values()) == [0.0, 0.5, 1.0]
    result = run_demo(demo, steps=100)
    ok, message = result.check()
    assert ok, message
    # with p = 0 the model is fed its own predictions: teacher-forced output == free-running
    zero = next(label for label, cfg in demo.runs.items() if cfg.teacher_forcing == 0.0)
    probe = result.records[zero][-1].probe
    assert probe is not None and probe.free_running is not None
    assert np.array_equal(probe.prediction, probe.free_running)


def test_language_model_tying_and_validation_perplexity() -> None:
    demo = DEMOS["language-model"]
    cfgs = list(demo.runs.values())
    assert all(c.layers == 2 and c.cell == "lstm" for c in cfgs)
    assert any(c.dropout > 0 and not c.variational_dropout for c in cfgs)
    assert any(c.dropout > 0 and c.variational_dropout for c in cfgs)
    assert any(c.tie_weights for c in cfgs) and any(c.dropout == 0 and not c.tie_weights for c in cfgs)
    result = run_demo(demo, steps=2)
    ok, message = result.check()
    assert ok, message
    tied = next(label for label, c in demo.runs.items() if c.tie_weights)
    plain = next(label for label, c in demo.runs.items() if not c.tie_weights)
    tr_tied, tr_plain = result.trainers[tied], result.trainers[plain]
    vocab, hidden = tr_tied.task.output_size, demo.runs[tied].hidden_size
    assert tr_plain.param_count() - tr_tied.param_count() == vocab * hidden
    for tr in result.trainers.values():
        _, ppl = tr.evaluate()
        assert math.isfinite(ppl) and 1.0 < ppl < 10 * vocab
