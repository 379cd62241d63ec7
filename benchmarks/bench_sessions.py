"""Session storage against its targets: file size, open and seek times, recording overhead, memory.

    python benchmarks/bench_sessions.py [--steps 10000] [--rss-steps 20000] [--threads 2] [--rebuild]

1. Builds (or reuses, from --cache) a --steps LSTM session, B32 T50 H64 on the copy task,
   recorded with the default RecordSettings.
2. Measures: file size; Session.open (median of 5); loading every step's summary; seeking a
   step whose frame is stored (record cache cleared each time) and one whose frame must be
   regenerated (record and trainer caches cleared: a cold random jump), p50/p95.
3. Recording overhead: a headless trainer and a recorded one (LiveSession, default settings)
   of the same run take turns in blocks of --block steps; medians of steps/s and the median
   of the paired ratios.
4. Memory: --rss-steps recorded steps of a small LSTM; RSS after warm-up and at the end.

Targets (issue 3): size <= 50 MB, open <= 1 s, stored seek p95 <= 50 ms, regenerated seek
p95 <= 1 s, recording costs <= 10% of headless throughput, RSS growth bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from rnnscope.engine import TrainConfig, Trainer
from rnnscope.sessions import LiveSession, RecordSettings, Session, SessionError

SHAPE = {"cell": "lstm", "task": "copy", "hidden_size": 64, "seq_len": 50, "batch_size": 32}


def config(**over: object) -> TrainConfig:
    base: dict[str, object] = {**SHAPE, "seed": 0, "device": "cpu", "probe_every": 0}
    base.update(over)
    return TrainConfig(**base)  # type: ignore[arg-type]


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def build(path: Path, steps: int, settings: RecordSettings, rebuild: bool) -> float:
    """Record the session unless a complete one with the same settings is cached; steps/s or NaN."""
    if path.exists() and not rebuild:
        try:
            with Session.open(path) as s:
                if (
                    len(s) == steps
                    and s.meta.get("settings")
                    and RecordSettings.from_dict(json.loads(s.meta["settings"])) == settings
                ):
                    print(f"reusing {path}")
                    return float("nan")
        except SessionError:
            pass
    print(f"recording {steps} steps into {path} ...", flush=True)
    t0 = time.perf_counter()
    with LiveSession.create(path, Trainer(config()), settings=settings, overwrite=True) as live:
        for i in range(steps):
            live.step()
            if (i + 1) % 1000 == 0:
                rate = (i + 1) / (time.perf_counter() - t0)
                print(f"  {i + 1} steps, {rate:.0f} steps/s", flush=True)
    return steps / (time.perf_counter() - t0)


def seeks(path: Path, settings: RecordSettings, n_stored: int, n_regen: int) -> dict[str, list[float]]:
    rng = random.Random(0)
    out: dict[str, list[float]] = {
        "open": [],
        "summaries": [],
        "summary": [],
        "stored": [],
        "regen": [],
        "next": [],
        "replayed": [],
    }
    for _ in range(5):
        t = time.perf_counter()
        s = Session.open(path)
        len(s)
        s.branches()
        out["open"].append(time.perf_counter() - t)
        s.close()
    with Session.open(path) as s:
        n = len(s)
        t = time.perf_counter()
        s.summaries()
        out["summaries"].append(time.perf_counter() - t)
        every = settings.frame_every
        stored = [k for k in range(0, n, every)] if every else []
        for k in rng.sample(range(n), 50):
            t = time.perf_counter()
            s.summary(k)
            out["summary"].append(time.perf_counter() - t)
        for k in rng.sample(stored, min(n_stored, len(stored))):
            s._records.clear()
            t = time.perf_counter()
            rec = s.record(k)
            out["stored"].append(time.perf_counter() - t)
            assert rec.has_frame
        unstored = [k for k in range(n) if not (every and k % every == 0)]
        s.record(unstored[len(unstored) // 2])  # warm-up: torch's first use in a process is not a seek
        for k in rng.sample(unstored, n_regen):
            s._records.clear()
            s._replayer.clear()
            before = s.replayed_steps
            t = time.perf_counter()
            rec = s.record(k)
            out["regen"].append(time.perf_counter() - t)
            out["replayed"].append(float(s.replayed_steps - before))
            assert rec.has_frame
            if k + 1 < n and (k + 1) % max(every, 1):
                t = time.perf_counter()
                s.record(k + 1)  # scrubbing forward: one step from the cached trainer
                out["next"].append(time.perf_counter() - t)
    return out


def overhead(settings: RecordSettings, block: int, repeats: int) -> tuple[float, float, float, float, float]:
    """(headless steps/s, recorded steps/s, median of the paired ratios recorded/headless).

    The two runs take turns in short blocks (order alternating) and each pair gives one
    ratio, so a neighbour's load that comes and goes hits both sides of a pair alike."""
    headless = Trainer(config())
    with tempfile.TemporaryDirectory() as tmp:
        live = LiveSession.create(Path(tmp) / "o.rnnscope", Trainer(config()), settings=settings)
        for _ in range(20):  # warm-up both
            headless.step()
            live.step()

        def run_headless() -> float:
            t = time.perf_counter()
            for _ in range(block):
                headless.step()
            return block / (time.perf_counter() - t)

        def run_recorded() -> float:
            t = time.perf_counter()
            for _ in range(block):
                live.step()
            return block / (time.perf_counter() - t)

        h, r = [], []
        for i in range(repeats):
            if i % 2:
                r.append(run_recorded())
                h.append(run_headless())
            else:
                h.append(run_headless())
                r.append(run_recorded())
        steps = live.trainer.step_count
        live.close()  # everything recorded is committed (the writer kept up or closing waits)
        submit, writer = live.submit_seconds / steps, live.recorder.cpu_seconds / steps
    ratios = [b / a for a, b in zip(h, r, strict=True)]
    return statistics.median(h), statistics.median(r), statistics.median(ratios), submit, writer


def fastest_step(blocks: int = 7, block: int = 20) -> tuple[float, float]:
    """The least-disturbed step time in seconds (min over blocks): (unprobed, probed)."""
    tr = Trainer(config())
    for _ in range(5):
        tr.step(probe=True)
    plain, probed = [], []
    for _ in range(blocks):
        t = time.perf_counter()
        for _ in range(block):
            tr.step(probe=False)
        plain.append((time.perf_counter() - t) / block)
        t = time.perf_counter()
        for _ in range(block // 4):
            tr.step(probe=True)
        probed.append((time.perf_counter() - t) / (block // 4))
    return min(plain), min(probed)


def memory(steps: int) -> tuple[float, float, float, int]:
    """RSS (MB) after warm-up, at the end, peak in between; the steps/s of the run."""
    cfg = config(hidden_size=16, seq_len=12, batch_size=8, delay=4)
    with tempfile.TemporaryDirectory() as tmp:
        live = LiveSession.create(Path(tmp) / "m.rnnscope", Trainer(cfg))
        warm = min(2000, steps // 5)
        live.run(warm)
        live.flush()
        start, peak = rss_mb(), 0.0
        t = time.perf_counter()
        for i in range(steps - warm):
            live.step()
            if i % 1000 == 0:
                peak = max(peak, rss_mb())
        rate = int((steps - warm) / (time.perf_counter() - t))
        live.flush()
        end = rss_mb()
        live.close()
    return start, end, max(peak, end), rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--rss-steps", type=int, default=20_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--block", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--regen-seeks", type=int, default=12)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "rnnscope-bench")
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    settings = RecordSettings()
    args.cache.mkdir(parents=True, exist_ok=True)
    path = (
        args.cache
        / f"lstm_b32_t50_h64_{args.steps}_k{settings.checkpoint_every}_f{settings.frame_every}.rnnscope"
    )

    load0 = os.getloadavg()[0]
    build_rate = build(path, args.steps, settings, args.rebuild)
    size = path.stat().st_size / 1e6
    with Session.open(path) as s:
        stats = s.stats()
    t = seeks(path, settings, 30, args.regen_seeks)
    h_rate, r_rate, ratio, submit_s, writer_s = overhead(settings, args.block, args.repeats)
    quiet, quiet_probe = fastest_step()
    # a cold regeneration = restore (~ms) + (replayed - 1) plain steps + 1 probed step
    projected = pct(t["replayed"], 0.95) * quiet + (quiet_probe - quiet)
    rss0, rss1, rss_peak, rss_rate = memory(args.rss_steps)

    ms = 1000.0
    rows = [
        (
            "machine load (1-min avg)",
            f"{load0:.1f} at start, {os.getloadavg()[0]:.1f} at end, {os.cpu_count()} CPUs",
            "",
        ),
        ("session", f"LSTM B32 T50 H64 copy, {args.steps} steps, {torch.get_num_threads()} threads", ""),
        ("settings", f"checkpoint_every={settings.checkpoint_every} frame_every={settings.frame_every}", ""),
        (
            "stored",
            f"{stats['steps']} summaries, {stats['frames']} frames, {stats['checkpoints']} checkpoints",
            "",
        ),
        ("file size", f"{size:.1f} MB", "<= 50 MB"),
        ("open (median of 5)", f"{statistics.median(t['open']) * ms:.1f} ms", "<= 1000 ms"),
        ("load all summaries", f"{t['summaries'][0] * ms:.0f} ms", ""),
        (
            "summary seek p50/p95",
            f"{pct(t['summary'], 0.5) * ms:.2f} / {pct(t['summary'], 0.95) * ms:.2f} ms",
            "",
        ),
        (
            "stored-frame seek p50/p95",
            f"{pct(t['stored'], 0.5) * ms:.1f} / {pct(t['stored'], 0.95) * ms:.1f} ms",
            "p95 <= 50 ms",
        ),
        (
            "regenerated seek p50/p95",
            f"{pct(t['regen'], 0.5) * ms:.0f} / {pct(t['regen'], 0.95) * ms:.0f} ms (cold)",
            "p95 <= 1000 ms",
        ),
        (
            "optimizer steps re-run per seek",
            f"mean {statistics.mean(t['replayed']):.0f}, max {max(t['replayed']):.0f} (K={settings.checkpoint_every})",
            "",
        ),
        (
            "regenerated p95, projected",
            f"{projected * ms:.0f} ms at the fastest measured step ({quiet * ms:.1f} ms/step, {quiet_probe * ms:.0f} probed)",
            "p95 <= 1000 ms",
        ),
        ("next step after a regen", f"{pct(t['next'], 0.5) * ms:.0f} ms (cached trainer)", ""),
        ("headless / recorded", f"{h_rate:.1f} / {r_rate:.1f} steps/s", ""),
        (
            "recording overhead",
            f"{(1 - ratio) * 100:+.1f} %  (median paired ratio {ratio:.3f}, {args.repeats} pairs of {args.block})",
            "<= 10 %",
        ),
        (
            "RSS after warm-up / end",
            f"{rss0:.0f} / {rss1:.0f} MB (peak {rss_peak:.0f}) over {args.rss_steps} steps",
            "",
        ),
        (
            "recording work per step",
            f"{submit_s * 1e6:.0f} us on the training thread + {writer_s * 1e6:.0f} us writer CPU "
            f"= {(submit_s + writer_s) / quiet * 100:.1f} % of the fastest step",
            "(load-independent)",
        ),
        ("RSS growth", f"{rss1 - rss0:+.1f} MB  (small LSTM H16 T12 B8, {rss_rate} steps/s)", "bounded"),
    ]
    if build_rate == build_rate:  # not NaN
        rows.insert(3, ("recording rate (build)", f"{build_rate:.1f} steps/s", ""))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print()
    print(f"| {'measure':<{w0}} | {'value':<{w1}} | target |")
    print(f"|{'-' * (w0 + 2)}|{'-' * (w1 + 2)}|--------|")
    for a, b, c in rows:
        print(f"| {a:<{w0}} | {b:<{w1}} | {c} |")


if __name__ == "__main__":
    main()
