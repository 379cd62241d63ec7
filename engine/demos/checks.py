"""Measurements on StepRecords and the claim checks of the demos.

Every check takes (demo, records_by_run, trainers | None) and returns (ok, message); the
message quotes the measured values whether the claim held or not.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from statistics import median

import numpy as np
import torch

from rnnscope.engine.breakpoints import Breakpoint
from rnnscope.engine.config import TrainConfig
from rnnscope.engine.demos.base import Demo, RecordsByRun, TrainersByRun
from rnnscope.engine.record import StepRecord
from rnnscope.engine.trainer import Trainer

FAR = 100.0  # "far below": at least this factor
EXPLODED_NORM = 1e3
_NONFINITE = Breakpoint("nonfinite", id="check-nonfinite")


# -- measurements ---------------------------------------------------------------
def grad_ratio(record: StepRecord, layer: int = -1, cell: bool = False) -> float:
    """||dL/dx_first|| / ||dL/dx_last|| of one layer (default top) for x = h (or c), over
    the finite entries of the batch-mean norms (NaN when undefined)."""
    arr = record.c_grad_norm if cell else record.h_grad_norm
    if arr is None:
        return math.nan
    row = np.asarray(arr[layer], dtype=np.float64)
    ok = np.flatnonzero(np.isfinite(row))
    if ok.size < 2 or row[ok[-1]] <= 0.0:
        return math.nan
    return float(row[ok[0]] / row[ok[-1]])


def backward_factor(row: np.ndarray, lo: int, hi: int) -> tuple[float, float]:
    """Per-step factor of a gradient-norm profile going back in time from t = hi to t = lo,
    (row[lo] / row[hi]) ** (1 / (hi - lo)) (< 1: vanishing, > 1: growing), and the R^2 of a
    straight-line fit of log10(row[lo..hi]) against t (near 1: geometric)."""
    seg = np.asarray(row[lo : hi + 1], dtype=np.float64)
    if hi <= lo or not np.all(np.isfinite(seg)) or np.any(seg <= 0.0):
        return math.nan, math.nan
    factor = float((seg[0] / seg[-1]) ** (1.0 / (hi - lo)))
    y = np.log10(seg)
    t = np.arange(seg.size, dtype=np.float64)
    fit = np.polyval(np.polyfit(t, y, 1), t)
    ss = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(((y - fit) ** 2).sum()) / ss if ss > 0 else 1.0
    return factor, r2


def copy_quiet_end(cfg: TrainConfig) -> int:
    """Copy task: the last timestep before the recall (no loss term at or before it)."""
    pattern = (cfg.seq_len - cfg.delay) // 2
    return cfg.seq_len - pattern - 1


def is_nonfinite(record: StepRecord) -> bool:
    return _NONFINITE.hit(record) is not None


def tail(records: Sequence[StepRecord], n: int = 5) -> Sequence[StepRecord]:
    return records[-n:]


def _med(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(median(finite)) if finite else math.nan


def _counts(demo: Demo, label: str, trainers: TrainersByRun | None) -> tuple[int, int]:
    tr = trainers[label] if trainers is not None and label in trainers else Trainer(demo.runs[label])
    return tr.param_count(), tr.recurrent_param_count()


def _finite_losses(records_by_run: RecordsByRun) -> list[str]:
    return [label for label, recs in records_by_run.items() if not all(math.isfinite(r.loss) for r in recs)]


# -- the checks -------------------------------------------------------------------
def check_lstm_copy(demo: Demo, records: RecordsByRun, trainers: TrainersByRun | None) -> tuple[bool, str]:
    """ "Learns it within a couple of hundred steps": by the step hint the accuracy of the last
    ten steps is far above chance (more than three times 1/8) and the loss has fallen; "the
    forget gate f staying high across the blanks": the probe's mean f over the blank steps
    between the symbols and GO is above one half at the last frame."""
    label = next(iter(demo.runs))
    cfg, recs = demo.runs[label], records[label]
    chance = 1.0 / 8.0
    n = min(10, len(recs))
    acc = float(np.mean([r.metric for r in recs[-n:]]))
    first, last = recs[0].loss, float(np.mean([r.loss for r in recs[-n:]]))
    framed = [r for r in recs if r.gates is not None and "f" in r.gates]
    pattern = (cfg.seq_len - cfg.delay) // 2
    quiet = slice(pattern, copy_quiet_end(cfg) + 1)
    f_blank = float(np.mean(framed[-1].gates["f"][-1][quiet])) if framed and framed[-1].gates else math.nan
    enough = recs[-1].step + 1 >= demo.steps_hint
    msg = (
        f"after {recs[-1].step + 1} steps (hint {demo.steps_hint}): accuracy {acc:.3f} over the last {n} "
        f"steps (chance {chance:.3f}), loss {first:.3g} -> {last:.3g}, mean f over the blanks {f_blank:.2f}"
    )
    return enough and acc > 3 * chance and last < first and f_blank > 0.5, msg


def check_vanishing(demo: Demo, records: RecordsByRun, trainers: TrainersByRun | None) -> tuple[bool, str]:
    hi = copy_quiet_end(demo.runs["RNN"])
    out = {}
    for label in ("RNN", "LSTM"):
        last = tail(records[label])
        ratio = _med([grad_ratio(r) for r in last])
        factor, r2 = backward_factor(last[-1].h_grad_norm[-1], 0, hi)
        out[label] = (ratio, factor, r2)
    (r_rnn, f_rnn, r2_rnn), (r_lstm, f_lstm, _) = out["RNN"], out["LSTM"]
    step = records["RNN"][-1].step
    msg = (
        f"after step {step}: ||dL/dh_first||/||dL/dh_last|| RNN {r_rnn:.3g}, LSTM {r_lstm:.3g} "
        f"({r_lstm / r_rnn:.3g}x); per step back over t=0..{hi}: RNN x{f_rnn:.3f} "
        f"(straight line in log scale, R^2 {r2_rnn:.3f}), LSTM x{f_lstm:.3f}"
    )
    ok = r_rnn * FAR <= r_lstm and f_rnn < 1.0 and r2_rnn > 0.9
    return ok, msg


def norm_growth(norms: Sequence[float]) -> tuple[float, int]:
    """Median factor by which a gradient norm grows from one step to the next, over the leading
    run of finite, positive norms, and that run's length (NaN when it is shorter than three)."""
    n = 0
    while n < len(norms) and math.isfinite(norms[n]) and norms[n] > 0:
        n += 1
    if n < 3:
        return math.nan, n
    a = np.asarray(norms[:n], dtype=np.float64)
    return float(np.median(a[1:] / a[:-1])), n


def check_exploding(demo: Demo, records: RecordsByRun, trainers: TrainersByRun | None) -> tuple[bool, str]:
    """The claims of the exploding text, each checked: ||g|| is a few hundred at step 0; the
    norm grows geometrically (a median of more than x2 a step) until float32 overflows within
    the demo's step hint; the non-finite breakpoint locates it; the loss stays non-finite from
    then on while the weights stay finite (the trainer skips those updates); and after a
    rewind to step 0 with clipping on, every step is finite and capped, the loss falls to
    under a third and R^2 rises above 0.5."""
    every = [r for recs in records.values() for r in recs]
    free = [r for r in every if r.clip_threshold is None]
    clipped = [r for r in every if r.clip_threshold is not None]
    if not free:
        return False, "no unclipped steps: the explosion needs clipping off"
    blown = next((r for r in free if is_nonfinite(r) or r.grad_norm > EXPLODED_NORM), None)
    peak = max(r.grad_norm for r in free)
    if blown is None:
        return False, f"no explosion in {len(free)} unclipped steps (largest gradient norm {peak:.3g})"
    g0 = free[0].grad_norm
    growth, _ = norm_growth([r.grad_norm for r in itertools.takewhile(lambda r: not is_nonfinite(r), free)])
    first_bad = next((r for r in free if is_nonfinite(r)), None)
    located = first_bad is not None and first_bad.nonfinite is not None
    lost = first_bad is not None and all(not math.isfinite(r.loss) for r in free if r.step >= first_bad.step)
    weights = True
    if trainers is not None:
        weights = all(
            bool(torch.isfinite(p).all()) for tr in trainers.values() for p in tr.model.parameters()
        )
    msg = (
        f"unclipped: gradient norm {g0:.3g} at step {free[0].step} (a few hundred: {100 <= g0 < 1000}), "
        f"> {EXPLODED_NORM:g} at step {blown.step}, median growth x{growth:.3g} per step"
    )
    if first_bad is None:
        msg += f"; no NaN/Inf in {len(free)} steps (peak {peak:.3g})"
    else:
        where = first_bad.nonfinite.describe() if first_bad.nonfinite is not None else "not located"
        msg += (
            f"; first non-finite at step {first_bad.step} ({where}; within the step hint "
            f"{demo.steps_hint}: {first_bad.step < demo.steps_hint}), loss non-finite from then on: {lost}"
        )
    msg += f", weights finite: {weights}"
    exploded = (
        100 <= g0 < 1000
        and growth > 2.0
        and first_bad is not None
        and first_bad.step < demo.steps_hint
        and located
        and lost
        and weights
    )
    if not clipped:
        return exploded, msg + "; now rewind to step 0, turn clipping on and continue"
    losses = [r.loss for r in clipped]
    thr = clipped[0].clip_threshold or 0.0
    capped = all(
        r.grad_norm_clipped <= r.clip_threshold * (1 + 1e-4) + 1e-6 for r in clipped if r.clip_threshold
    )
    q = max(1, len(losses) // 4)
    first, last = float(np.mean(losses[:q])), float(np.mean(losses[-q:]))
    r2 = float(np.mean([r.metric for r in clipped[-q:]]))
    finite = all(math.isfinite(v) for v in losses) and not any(is_nonfinite(r) for r in clipped)
    msg += (
        f"; clipped (threshold {thr:g}): {len(clipped)} steps, all finite: {finite}, "
        f"norm after clipping <= threshold: {capped}, loss {first:.3g} -> {last:.3g}, R^2 {r2:.3g}"
    )
    trains = finite and capped and len(losses) >= 40 and last < first / 3 and r2 > 0.5
    return exploded and trains, msg


def check_init_scale(demo: Demo, records: RecordsByRun, trainers: TrainersByRun | None) -> tuple[bool, str]:
    rows = []
    for label, cfg in demo.runs.items():
        framed = [r for r in records[label] if r.whh_singular_values is not None]
        if not framed:
            return False, f"run {label}: no step with a frame (singular values are a frame field)"
        rec = framed[0]
        assert rec.whh_singular_values is not None
        smax = float(rec.whh_singular_values[-1, 0])
        factor, _ = backward_factor(rec.h_grad_norm[-1], 0, cfg.seq_len - 2)
        rows.append((cfg.init_scale, smax, factor, rec.step))
    rows.sort()
    factors = [f for _, _, f, _ in rows]
    ordered = all(a < b for a, b in itertools.pairwise(factors))
    bounded = all(f <= s * 1.02 for _, s, f, _ in rows)
    near_init = all(abs(s - scale) <= 0.05 * scale for scale, s, _, step in rows if step == 0)
    ends = factors[0] < 1.0 < factors[-1]
    edge = [f for sc, _, f, _ in rows if sc == 1.0]  # the edge case tips into vanishing (tanh' < 1)
    ends = ends and all(f < 1.0 for f in edge)
    parts = [f"init_scale {sc:g}: sigma_max {s:.3f}, x{f:.3f} per step back" for sc, s, f, _ in rows]
    msg = "; ".join(parts) + f" (step {rows[0][3]}); factor <= sigma_max: {bounded}"
    return ordered and bounded and near_init and ends, msg


def check_highway(demo: Demo, records: RecordsByRun, trainers: TrainersByRun | None) -> tuple[bool, str]:
    rows = []
    for label, cfg in demo.runs.items():
        last = tail(records[label])
        c_ratio = _med([grad_ratio(r, cell=True) for r in last])
        h_ratio = _med([grad_ratio(r) for r in last])
        framed = [r for r in records[label] if r.gates is not None and "f" in r.gates]
        f_mean = float(np.mean(framed[-1].gates["f"][-1])) if framed and framed[-1].gates else math.nan
        rows.append((cfg.forget_bias, c_ratio, h_ratio, f_mean))
    rows.sort()
    c = [r[1] for r in rows]
    ordered = all(a < b for a, b in itertools.pairwise(c))
    far = c[-1] >= FAR * c[0]
    top_c_beats_h = rows[-1][1] > rows[-1][2]
    msg = "; ".join(
        f"forget bias {b:g}: ||dL/dc_first||/||dL/dc_last|| {cr:.3g} (h: {hr:.3g}), mean f {fm:.2f}"
        for b, cr, hr, fm in rows
    )
    return ordered and far and top_c_beats_h, msg


def check_gru_vs_lstm(demo: Demo, records: RecordsByRun, trainers: TrainersByRun | None) -> tuple[bool, str]:
    gru_total, gru_rec = _counts(demo, "GRU", trainers)
    lstm_total, lstm_rec = _counts(demo, "LSTM", trainers)
    bad = _finite_losses(records)
    parts = []
    for label in ("GRU", "LSTM"):
        recs = records[label]
        n = max(1, len(recs) // 10)
        acc = float(np.mean([r.metric for r in recs[-n:]]))
        t = median(r.step_time for r in recs)
        parts.append(f"{label}: accuracy {acc:.2f} (last {n} steps), median step {1000 * t:.1f} ms")
    msg = (
        f"recurrent parameters GRU {gru_rec} / LSTM {lstm_rec} = {gru_rec / lstm_rec:.4f}; "
        f"total {gru_total} / {lstm_total}; " + "; ".join(parts)
    )
    if bad:
        msg += f"; non-finite loss in {', '.join(bad)}"
    return gru_rec * 4 == lstm_rec * 3 and not bad, msg


def _token_accuracies(record: StepRecord) -> tuple[float, float] | None:
    p = record.probe
    if p is None or p.free_running is None or p.mask is None:
        return None
    m = np.asarray(p.mask, dtype=bool)
    if not m.any():
        return None
    tf = float(np.mean(np.asarray(p.prediction)[m] == np.asarray(p.target)[m]))
    fr = float(np.mean(np.asarray(p.free_running)[m] == np.asarray(p.target)[m]))
    return tf, fr


def check_seq2seq(demo: Demo, records: RecordsByRun, trainers: TrainersByRun | None) -> tuple[bool, str]:
    bad = _finite_losses(records)
    gaps = {}
    lengths: set[int] = set()
    for label in demo.runs:
        recs = records[label]
        accs = [a for a in (_token_accuracies(r) for r in recs[len(recs) // 2 :]) if a is not None]
        lengths.update(
            int(np.sum(r.probe.mask)) for r in recs if r.probe is not None and r.probe.mask is not None
        )
        if not accs:
            return False, f"run {label}: no probe sample with a free-running output"
        gaps[label] = (float(np.mean([a[0] for a in accs])), float(np.mean([a[1] for a in accs])))
    full = next(label for label, cfg in demo.runs.items() if cfg.teacher_forcing == 1.0)
    tf, fr = gaps[full]
    # p = 0: "both outputs are the same" (it feeds its own predictions in training too)
    own = [label for label, cfg in demo.runs.items() if cfg.teacher_forcing == 0.0]
    same = all(
        np.array_equal(np.asarray(r.probe.prediction), np.asarray(r.probe.free_running))
        for label in own
        for r in records[label]
        if r.probe is not None and r.probe.free_running is not None
    )
    msg = "; ".join(
        f"{label}: teacher-forced {a:.2f} vs free-running {b:.2f}" for label, (a, b) in gaps.items()
    )
    msg += f" (token accuracy of the probe sample, second half of the steps); target lengths seen: {sorted(lengths)}"
    msg += f"; p = 0: teacher-forced output == free-running output on every probe: {same}"
    if bad:
        msg += f"; non-finite loss in {', '.join(bad)}"
    return tf > fr and same and not bad and len(lengths) >= 2, msg


def check_language_model(
    demo: Demo, records: RecordsByRun, trainers: TrainersByRun | None
) -> tuple[bool, str]:
    counts = {label: _counts(demo, label, trainers)[0] for label in demo.runs}
    tied = next(label for label, cfg in demo.runs.items() if cfg.tie_weights)
    plain = next(label for label, cfg in demo.runs.items() if not cfg.tie_weights)
    cfg = demo.runs[tied]
    tr = trainers[tied] if trainers is not None and tied in trainers else Trainer(cfg)
    vh = tr.task.output_size * cfg.hidden_size
    saved = counts[plain] - counts[tied]
    msg = f"parameters: {', '.join(f'{k} {v}' for k, v in counts.items())}; tying saves {saved} (V*H = {vh})"
    finite = True
    if trainers is not None and all(label in trainers for label in demo.runs):
        ppl = {label: trainers[label].evaluate()[1] for label in demo.runs}
        finite = all(math.isfinite(v) for v in ppl.values())
        msg += "; validation perplexity " + ", ".join(f"{k} {v:.2f}" for k, v in ppl.items())
    else:
        last = {label: records[label][-1].metric for label in demo.runs}
        finite = all(math.isfinite(v) for v in last.values())
        msg += "; training perplexity " + ", ".join(f"{k} {v:.2f}" for k, v in last.items())
    return saved == vh and finite and not _finite_losses(records), msg


def check_sunspots(demo: Demo, records: RecordsByRun, trainers: TrainersByRun | None) -> tuple[bool, str]:
    """Both runs forecast the years they never saw (1947-2008) with R^2 > 0.5; the LSTM's
    validation error is the lower. Without trainers: the training figures only."""
    bad = _finite_losses(records)
    step = records["RNN"][-1].step
    if trainers is None or not all(label in trainers for label in ("RNN", "LSTM")):
        r2 = {label: _med([r.metric for r in tail(records[label], 10)]) for label in ("RNN", "LSTM")}
        msg = f"after step {step}: training R^2 RNN {r2['RNN']:.3f}, LSTM {r2['LSTM']:.3f}"
        return not bad and min(r2.values()) > 0.5, msg
    val = {label: trainers[label].evaluate() for label in ("RNN", "LSTM")}
    (mse_rnn, r2_rnn), (mse_lstm, r2_lstm) = val["RNN"], val["LSTM"]
    msg = (
        f"after step {step}, on the validation years: R^2 RNN {r2_rnn:.3f}, LSTM {r2_lstm:.3f}; "
        f"MSE (normalised) RNN {mse_rnn:.3f}, LSTM {mse_lstm:.3f} ({mse_lstm / mse_rnn:.2f}x)"
    )
    if bad:
        msg += f"; non-finite loss in {', '.join(bad)}"
    return not bad and min(r2_rnn, r2_lstm) > 0.5 and mse_lstm < mse_rnn, msg
