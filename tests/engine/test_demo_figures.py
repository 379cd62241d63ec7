"""The figures a demo's text refers to are measured on the run shown, and the texts quote no
figure of their own (those vary between machines; see engine/demos/figures.py)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from rnnscope.engine.demos import DEMOS, run_demo
from rnnscope.engine.demos.checks import grad_ratio, norm_growth
from rnnscope.engine.demos.figures import FIGURES, figures, from_records
from rnnscope.engine.trainer import Trainer


def test_no_text_quotes_a_run_of_its_own():
    for name, demo in DEMOS.items():
        for lang in ("en", "ko"):
            text = demo.explanation_for(lang)
            assert not re.search(r"\b[Ii]n our run|우리 실행", text), (name, lang)
            # a step a text names is step 0 or the step hint, the horizon its check runs to
            named = {int(k) for k in re.findall(r"\bstep (\d+)", text)}
            assert named <= {0, demo.steps_hint}, (name, lang, named)
    assert set(FIGURES) == set(DEMOS)


def test_exploding_figures_are_the_runs_own():
    demo = DEMOS["exploding"]
    cfg = demo.runs["RNN"]
    tr = Trainer(cfg)
    records = [tr.step() for _ in range(demo.steps_hint)]
    facts = from_records("RNN", cfg, records)
    lines = figures("exploding", facts)
    first = min(r.step for r in records if r.nonfinite is not None)  # where this machine overflows
    assert f"‖g‖ at step 0: {records[0].grad_norm:.3g}" in lines
    assert any(line.startswith(f"first NaN/Inf: step {first} (") for line in lines)
    growth, _ = norm_growth([r.grad_norm for r in records if r.step < first])
    assert any(f"×{growth:.3g}" in line for line in lines)
    bad = next(r.step for r in records if not math.isfinite(r.loss))
    assert f"loss first inf/NaN: step {bad}" in lines
    ko = figures("exploding", facts, "ko")
    assert len(ko) == len(lines) and any(f"{first} 스텝" in line for line in ko)


@pytest.mark.parametrize("name", ["vanishing", "highway", "init-scale", "lstm-copy"])
def test_figures_quote_the_shown_step(name):
    demo = DEMOS[name]
    label = next(iter(demo.runs))
    result = run_demo(demo, steps=3, runs=[label], stop_on_hit=False)
    records = result.records[label]
    lines = figures(name, from_records(label, demo.runs[label], records, shown=1))
    assert lines and all("step 1" in line or "step 0" in line for line in lines[:1])
    if name in ("vanishing", "highway"):
        cell = name == "highway"
        want = grad_ratio(records[1], cell=cell)
        assert any(f"at step 1: {want:.2g}" in line for line in lines)


def test_no_figures_before_the_first_step():
    demo = DEMOS["exploding"]
    empty = from_records("RNN", demo.runs["RNN"], [])
    assert figures("exploding", empty) == []
    assert np.isnan(empty.at("loss", 0))
