"""The figures a demo's text refers to, measured on the run being shown.

Demo texts state only what holds on every machine (and engine/demos/checks.py checks each of
those claims); the numbers of a particular run (the step at which a gradient overflows, the
accuracy at step 200) depend on the CPU kind, the thread count and the loops, so the
explanation panel quotes them from the run on screen instead: ``figures(demo, facts)`` gives
its lines, in English and Korean.

``RunFacts`` is what a figure may read: the shown run's config and label, its per-step
scalars so far (loss, metric, grad_norm ... as in the History), the steps with a NaN/Inf and
where the first one was, and the shown step's record (its summary, and its frame when it has
one). No Qt: the GUI builds the facts from its History, a test from a Trainer's records.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rnnscope.engine.config import TrainConfig
from rnnscope.engine.demos.checks import backward_factor, copy_quiet_end, grad_ratio, norm_growth
from rnnscope.engine.record import StepRecord

Line = tuple[str, str]  # (English, Korean)


@dataclass
class RunFacts:
    label: str  # the demo's run label ("RNN", "forget bias 1" ...), or "" for another run
    config: TrainConfig
    series: Mapping[str, np.ndarray]  # name -> (N,) per step: loss, metric, grad_norm ...
    record: StepRecord | None  # the step shown
    nonfinite_steps: Sequence[int] = ()
    first_nonfinite: str = ""  # where the first NaN/Inf appeared (NonFinite.describe())
    metric_name: str = ""

    @property
    def steps(self) -> int:
        loss = self.series.get("loss")
        return 0 if loss is None else len(loss)

    def at(self, name: str, step: int) -> float:
        a = self.series.get(name)
        return float(a[step]) if a is not None and 0 <= step < len(a) else math.nan


def from_records(label: str, config: TrainConfig, records: Sequence[StepRecord], shown: int = -1) -> RunFacts:
    """The facts of a run given as its records (a headless run, a test)."""
    names = ("loss", "metric", "grad_norm", "grad_norm_clipped")
    series = {n: np.array([getattr(r, n) for r in records], dtype=np.float64) for n in names}
    bad = [r for r in records if r.nonfinite is not None or not math.isfinite(r.loss)]
    return RunFacts(
        label=label,
        config=config,
        series=series,
        record=records[shown] if records else None,
        nonfinite_steps=[r.step for r in bad],
        first_nonfinite=next((r.nonfinite.describe() for r in bad if r.nonfinite is not None), ""),
        metric_name=records[0].metric_name if records else "",
    )


def _g(x: float) -> str:
    if not math.isfinite(x):
        return "inf" if x > 0 else ("−inf" if x < 0 else "NaN")
    return f"{x:.2g}" if abs(x) < 1e-3 or abs(x) >= 1e4 else f"{x:.3g}"


def _step(facts: RunFacts) -> int:
    return facts.record.step if facts.record is not None else max(facts.steps - 1, 0)


# -- per demo ------------------------------------------------------------------------
def _accuracy(facts: RunFacts) -> list[Line]:
    k = _step(facts)
    m = facts.series.get("metric")
    if m is None or not len(m):
        return []
    name = facts.metric_name or "metric"
    best = float(np.nanmax(m[: k + 1])) if np.isfinite(m[: k + 1]).any() else math.nan
    return [
        (
            f"{name} at step {k}: {_g(facts.at('metric', k))} (step 0: {_g(facts.at('metric', 0))}, best so far {_g(best)})",
            f"{k} 스텝의 {name}: {_g(facts.at('metric', k))} (0번째 스텝: {_g(facts.at('metric', 0))}, 지금까지 최고 {_g(best)})",
        )
    ]


def _ratio_lines(facts: RunFacts, cell: bool = False) -> list[Line]:
    rec = facts.record
    if rec is None:
        return []
    T = rec.h_grad_norm.shape[1]
    x = "c" if cell else "h"
    r = grad_ratio(rec, cell=cell)
    if not math.isfinite(r):
        return []
    return [
        (
            f"‖∂L/∂{x}₀‖ / ‖∂L/∂{x}_{T - 1}‖ at step {rec.step}: {_g(r)}",
            f"{rec.step} 스텝의 ‖∂L/∂{x}₀‖ / ‖∂L/∂{x}_{T - 1}‖: {_g(r)}",
        )
    ]


def _vanishing(facts: RunFacts) -> list[Line]:
    lines = _ratio_lines(facts)
    rec = facts.record
    if rec is not None:
        hi = copy_quiet_end(facts.config)
        factor, r2 = backward_factor(rec.h_grad_norm[-1], 0, hi)
        if math.isfinite(factor):
            lines.append(
                (
                    f"per step back over t = 0…{hi}: ×{factor:.3f} (straight line in log scale: R² {r2:.3f})",
                    f"t = 0…{hi}에서 한 스텝 거슬러 갈 때마다 ×{factor:.3f} (로그 눈금 직선 적합 R² {r2:.3f})",
                )
            )
    return lines


def _exploding(facts: RunFacts) -> list[Line]:
    lines: list[Line] = []
    g0 = facts.at("grad_norm", 0)
    if math.isfinite(g0):
        lines.append((f"‖g‖ at step 0: {_g(g0)}", f"0번째 스텝의 ‖g‖: {_g(g0)}"))
    norms = facts.series.get("grad_norm")
    if norms is not None:
        before = min([len(norms), *facts.nonfinite_steps])  # the steps before the first NaN/Inf
        growth, n = norm_growth(norms[:before].tolist())
        if math.isfinite(growth):
            lines.append(
                (
                    f"median growth of ‖g‖ per step over steps 0…{n - 1}: ×{growth:.3g}",
                    f"0…{n - 1} 스텝에서 ‖g‖의 스텝당 증가율 중앙값: ×{growth:.3g}",
                )
            )
    if facts.nonfinite_steps:
        first = min(facts.nonfinite_steps)
        where = facts.first_nonfinite or "non-finite value"
        lines.append((f"first NaN/Inf: step {first} ({where})", f"첫 NaN/Inf: {first} 스텝 ({where})"))
    loss = facts.series.get("loss")
    if loss is not None and len(loss):
        bad = np.flatnonzero(~np.isfinite(loss))
        if bad.size:
            lines.append((f"loss first inf/NaN: step {bad[0]}", f"손실이 처음 inf/NaN: {bad[0]} 스텝"))
    clipped = facts.series.get("grad_norm_clipped")
    if clipped is not None and norms is not None and len(norms):
        on = np.flatnonzero(np.abs(clipped - norms) > 1e-6 * np.abs(norms))
        if on.size and loss is not None:
            k = _step(facts)
            lines.append(
                (
                    f"clipping at work from step {on[0]}: loss {_g(facts.at('loss', int(on[0])))} → "
                    f"{_g(facts.at('loss', k))} at step {k}, R² {_g(facts.at('metric', k))}",
                    f"{on[0]} 스텝부터 클리핑 작동: 손실 {_g(facts.at('loss', int(on[0])))} → "
                    f"{k} 스텝 {_g(facts.at('loss', k))}, R² {_g(facts.at('metric', k))}",
                )
            )
    return lines


def _init_scale(facts: RunFacts) -> list[Line]:
    rec = facts.record
    if rec is None:
        return []
    hi = facts.config.seq_len - 2
    factor, _ = backward_factor(rec.h_grad_norm[-1], 0, hi)
    lines: list[Line] = []
    sv = rec.whh_singular_values
    smax = f", σ_max(W_hh) {float(sv[-1, 0]):.3f}" if sv is not None else ""
    if math.isfinite(factor):
        lines.append(
            (
                f"step {rec.step}: ×{factor:.3f} per step back over t = 0…{hi}{smax}",
                f"{rec.step} 스텝: t = 0…{hi}에서 한 스텝 거슬러 갈 때마다 ×{factor:.3f}{smax}",
            )
        )
    return lines


def _highway(facts: RunFacts) -> list[Line]:
    lines = _ratio_lines(facts, cell=True) + _ratio_lines(facts)
    rec = facts.record
    if rec is not None and rec.gates is not None and "f" in rec.gates:
        f = float(np.mean(rec.gates["f"][-1]))
        lines.append(
            (f"mean forget gate f of the probe sample: {f:.2f}", f"프로브 샘플의 평균 망각 게이트 f: {f:.2f}")
        )
    return lines


def _seq2seq(facts: RunFacts) -> list[Line]:
    rec = facts.record
    p = rec.probe if rec is not None else None
    if p is None or p.free_running is None or p.mask is None:
        return []
    m = np.asarray(p.mask, dtype=bool)
    if not m.any():
        return []
    tf = float(np.mean(np.asarray(p.prediction)[m] == np.asarray(p.target)[m]))
    fr = float(np.mean(np.asarray(p.free_running)[m] == np.asarray(p.target)[m]))
    assert rec is not None
    return [
        (
            f"probe sample at step {rec.step}: teacher-forced {tf:.2f}, free-running {fr:.2f} token accuracy",
            f"{rec.step} 스텝의 프로브 샘플: 교사 강요 {tf:.2f}, 자유 실행 {fr:.2f} 토큰 정확도",
        )
    ]


def _language_model(facts: RunFacts) -> list[Line]:
    m = facts.series.get("metric")
    if m is None or not len(m):
        return []
    k = _step(facts)
    low = float(np.nanmin(m[: k + 1])) if np.isfinite(m[: k + 1]).any() else math.nan
    return [
        (
            f"training perplexity at step {k}: {_g(facts.at('metric', k))} (lowest so far {_g(low)}); "
            "validation: the Runs panel",
            f"{k} 스텝의 학습 퍼플렉서티: {_g(facts.at('metric', k))} (지금까지 최저 {_g(low)}); 검증: Runs 패널",
        )
    ]


def _sunspots(facts: RunFacts) -> list[Line]:
    m = facts.series.get("metric")
    if m is None or not len(m):
        return []
    k = _step(facts)
    best = float(np.nanmax(m[: k + 1])) if np.isfinite(m[: k + 1]).any() else math.nan
    return [
        (
            f"training R^2 at step {k}: {_g(facts.at('metric', k))} (best so far {_g(best)}); "
            "on the validation years 1947-2008: the Runs panel",
            f"{k} 스텝의 학습 R^2: {_g(facts.at('metric', k))} (지금까지 최고 {_g(best)}); "
            "검증 연도 1947-2008: Runs 패널",
        )
    ]


FIGURES: dict[str, Callable[[RunFacts], list[Line]]] = {
    "lstm-copy": _accuracy,
    "vanishing": _vanishing,
    "exploding": _exploding,
    "init-scale": _init_scale,
    "highway": _highway,
    "gru-vs-lstm": _accuracy,
    "seq2seq": _seq2seq,
    "language-model": _language_model,
    "sunspots": _sunspots,
}
HEADING = {"en": "In the run shown ({run}):", "ko": "지금 보이는 실행({run})에서:"}


def figures(demo_name: str, facts: RunFacts, language: str = "en") -> list[str]:
    """The figure lines of demo ``demo_name`` for the run ``facts`` (``language``: en | ko)."""
    fn = FIGURES.get(demo_name)
    if fn is None or facts.steps == 0:
        return []
    k = 0 if language == "en" else 1
    return [line[k] for line in fn(facts)]
