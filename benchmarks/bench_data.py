"""Your own data: loading a large CSV, and the step cost of a data task against a built-in one.

1. Loading: a generated CSV of about ``--mb`` MB (a time column and 5 numeric columns), read
   and parsed by rnnscope (``read_file`` + ``read_series``) and, as the plain baseline, by
   ``numpy.loadtxt`` alone; each in a fresh process, so the peak memory (max RSS) is its own.
2. Step cost: the ``series`` task on a file against the built-in ``sine`` task of the same
   shape (1 input, 1 output, B, T, H) on a generated noisy sine CSV, and ``text`` against
   ``charlm`` on the same text (the shipped Coriolanus), full
   Trainer steps (probe frame every 10th step), interleaved; and a plain PyTorch nn.LSTM
   step on the same batch shape for scale. Medians of ``--steps`` steps.

    python benchmarks/bench_data.py [--mb 100] [--steps 60] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch
from torch import nn

from rnnscope.engine import TrainConfig, Trainer
from rnnscope.engine.datasets import DataFile, store
from rnnscope.engine.tasks.charlm import load_corpus

LOAD = """
import json, resource, sys, time
path, how = sys.argv[1], sys.argv[2]
import numpy as np
from rnnscope.engine.datasets import read_file, read_series
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
if how == "rnnscope":
    s = read_series(read_file(path), time_column="t")
    rows = s.rows
else:
    rows = len(np.loadtxt(path, delimiter=",", skiprows=1, usecols=(1, 2, 3, 4, 5), ndmin=2))
dt = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": dt, "rows": rows, "peak_mb": peak / 1024, "base_mb": base / 1024}))
"""


def write_csv(path: Path, mb: float) -> int:
    rng = np.random.default_rng(0)
    rows_per_chunk = 100_000
    n = 0
    with path.open("w") as fh:
        fh.write("t,a,b,c,d,e\n")
        while path.stat().st_size < mb * 2**20:
            t = np.arange(n, n + rows_per_chunk)
            v = rng.normal(size=(rows_per_chunk, 5)).round(6)
            block = np.column_stack([t, v])
            np.savetxt(fh, block, delimiter=",", fmt=["%d", "%.6f", "%.6f", "%.6f", "%.6f", "%.6f"])
            fh.flush()
            n += rows_per_chunk
    return n


def load(path: Path, how: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", LOAD, str(path), how], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


class PlainLSTM:
    """A user's own loop on a continuous (B, T, 1) batch: nn.LSTM, a linear read-out, MSE, Adam."""

    def __init__(self, hidden: int, batch: Trainer) -> None:
        self.rnn = nn.LSTM(1, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)
        self.opt = torch.optim.Adam([*self.rnn.parameters(), *self.out.parameters()], lr=1e-3)
        self.task, self.gen = batch.task, torch.Generator().manual_seed(1)

    def step(self) -> None:
        b = self.task.sample(self.gen, 32)
        y, _ = self.rnn(b.x)
        loss = nn.functional.mse_loss(self.out(y), b.y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def step_costs(steps: int, hidden: int, seq_len: int) -> list[tuple[str, float, float, str]]:
    t = np.arange(20_000)
    wave = np.sin(2 * np.pi * t / 23.0) + 0.05 * np.random.default_rng(0).normal(size=t.size)
    rows = "t,v\n" + "".join(f"{i},{v:.6f}\n" for i, v in zip(t, wave, strict=True))
    sine_id = store.register(DataFile.of("sine.csv", rows.encode())).id
    text = load_corpus().text.encode()  # the characters charlm reads (its '#' header stripped)
    text_id = store.register(DataFile.of("coriolanus.txt", text)).id
    common = dict(hidden_size=hidden, batch_size=32, device="cpu", probe_every=10, cell="lstm")
    pairs = [
        ("series (sine.csv, 20,000 rows)", TrainConfig(task="series", data=sine_id, time_column="t", seq_len=seq_len, **common),
         "sine", TrainConfig(task="sine", seq_len=seq_len, **common)),
        ("text (coriolanus.txt)", TrainConfig(task="text", data=text_id, seq_len=seq_len, **common),
         "charlm", TrainConfig(task="charlm", seq_len=seq_len, **common)),
    ]  # fmt: skip
    rows = []
    for name, cfg, base_name, base_cfg in pairs:
        data_tr, base_tr = Trainer(cfg), Trainer(base_cfg)
        plain = PlainLSTM(hidden, data_tr) if cfg.task == "series" else None
        for _ in range(5):  # warm-up
            data_tr.step()
            base_tr.step()
        d, b, p = [], [], []
        for _ in range(steps):
            d.append(timed(data_tr.step))
            b.append(timed(base_tr.step))
            if plain is not None:
                p.append(timed(plain.step))
        md, mb = statistics.median(d), statistics.median(b)
        rows.append((f"{name} vs {base_name}", md * 1e3, md / mb, f"{base_name} {mb * 1e3:.2f} ms"))
        if p:
            mp = statistics.median(p)
            rows.append(("  series vs a plain nn.LSTM loop", md * 1e3, md / mp, f"plain {mp * 1e3:.2f} ms"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=100.0)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--seq-len", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3, help="step-cost rounds; the table shows their medians")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        n = write_csv(path, args.mb)
        size = path.stat().st_size / 2**20
        ours, plain = load(path, "rnnscope"), load(path, "numpy")
    print(f"CSV {size:.0f} MB, {n:,} rows x 6 columns; {os.cpu_count()} CPUs, torch threads {args.threads}")
    print(f"{'load':<42}{'seconds':>9}{'peak MB':>9}{'ratio':>8}")
    for label, r in (("rnnscope read_file + read_series", ours), ("numpy.loadtxt alone (baseline)", plain)):
        print(
            f"{label:<42}{r['seconds']:>9.2f}{r['peak_mb'] - r['base_mb']:>9.0f}{r['seconds'] / plain['seconds']:>8.2f}"
        )
    print()
    print(
        f"step cost, LSTM B=32 T={args.seq_len} H={args.hidden}, probe every 10: median of {args.steps} "
        f"interleaved steps, then the median of {args.rounds} rounds"
    )
    print(f"{'measure':<42}{'ms':>9}{'ratio':>8}  {'against'}")
    rounds = [step_costs(args.steps, args.hidden, args.seq_len) for _ in range(args.rounds)]
    for i, (label, _, _, _) in enumerate(rounds[0]):
        k = sorted(range(len(rounds)), key=lambda r: rounds[r][i][2])[len(rounds) // 2]  # the median round
        _, ms, ratio, against = rounds[k][i]
        ratios = ", ".join(f"{r[i][2]:.3f}" for r in rounds)
        target = "  (target <= 1.05)" if " vs " in label and "plain" not in label else ""
        print(f"{label:<42}{ms:>9.2f}{ratio:>8.3f}  {against}{target}; rounds {ratios}")


if __name__ == "__main__":
    main()
