"""Cost of rnnscope's instrumented step against a plain PyTorch training loop.

Both sides train the same model on the same task with the same optimizer: an embedding,
a fused nn.RNN/nn.LSTM/nn.GRU (the plain side) or rnnscope's instrumented stack, a linear
read-out, cross-entropy, gradient-norm clipping and Adam. Steps of the two sides are
interleaved so machine noise hits both alike; the table shows medians and their ratio.

    python benchmarks/bench_engine.py [--steps 30] [--threads 2] [--cells rnn,lstm,gru]
                                      [--kernels auto|native|torch]

Modes: "full" records a complete probe frame every step (median of interleaved single
steps); "probe/10" records summaries every step and a frame every 10th (median over
interleaved rounds of 10 steps, so the probed step's cost is included; its ratio is against
the plain rounds of the same run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from torch import nn

from rnnscope.engine import TrainConfig, Trainer, native
from rnnscope.engine.tasks import make_task

SHAPES = ((32, 50, 64), (32, 100, 256))


class PlainLoop:
    """The anchor: what a user would write without rnnscope."""

    def __init__(self, cfg: TrainConfig) -> None:
        torch.manual_seed(cfg.seed)
        self.task = make_task(cfg)
        self.cfg = cfg
        cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cfg.cell]
        self.embed = nn.Embedding(self.task.input_size, cfg.embed_size)
        self.rnn = cls(cfg.embed_size, cfg.hidden_size, cfg.layers, batch_first=True)
        self.read_out = nn.Linear(cfg.hidden_size, self.task.output_size)
        self.params = [*self.embed.parameters(), *self.rnn.parameters(), *self.read_out.parameters()]
        self.opt = torch.optim.Adam(self.params, lr=cfg.lr)
        self.gen = torch.Generator().manual_seed(cfg.seed + 1)

    def step(self) -> float:
        batch = self.task.sample(self.gen, self.cfg.batch_size)
        out, _ = self.rnn(self.embed(batch.x))
        loss = self.task.loss(self.read_out(out), batch)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, self.cfg.clip_threshold)
        self.opt.step()
        return float(loss.detach())


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def measure(cell: str, shape: tuple[int, int, int], steps: int, warmup: int = 5) -> dict[str, float]:
    B, T, H = shape
    cfg = TrainConfig(
        cell=cell,
        task="copy",
        hidden_size=H,
        seq_len=T,
        delay=10,
        batch_size=B,
        seed=0,
        device="cpu",
        clip=True,
        clip_threshold=1.0,
        probe_every=1,
    )
    plain = PlainLoop(cfg)
    full = Trainer(cfg)
    sparse = Trainer(cfg.with_changes(probe_every=10))
    for _ in range(warmup):
        plain.step()
        full.step()
        sparse.step()
    t_plain, t_full = [], []
    for _ in range(steps):  # full: every step probed; interleaved single steps
        t_plain.append(_time(plain.step))
        t_full.append(_time(full.step))
    # probe/10: a probed step is 1 in 10, so time whole rounds of 10 steps (each round holds
    # exactly one probed step) against 10 plain steps; the median round is the cost per step.
    r_plain, r_sparse = [], []
    for _ in range(max(10, steps // 4)):  # enough rounds for a stable median on a shared machine
        r_plain.append(_time(lambda: [plain.step() for _ in range(10)]) / 10)
        r_sparse.append(_time(lambda: [sparse.step() for _ in range(10)]) / 10)
    med = statistics.median
    return {
        "plain": med(t_plain) * 1e3,
        "full": med(t_full) * 1e3,
        "plain10": med(r_plain) * 1e3,
        "sparse": med(r_sparse) * 1e3,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30, help="timed steps per side (after warm-up)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cells", default="rnn,lstm,gru")
    ap.add_argument(
        "--kernels", choices=native.MODES, default="auto", help="rnnscope's time loops: C++ or torch ops"
    )
    args = ap.parse_args()
    os.environ[native.ENV] = args.kernels
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    torch.set_num_threads(args.threads)
    if args.kernels != "torch":
        native.load()
    print(
        f"torch {torch.__version__}, {args.threads} threads, {args.steps} interleaved steps per side, medians; "
        f"rnnscope's loops: {native.status()}"
    )
    head = f"{'shape':<16} {'cell':<5} {'plain ms':>9} {'full ms':>9} {'ratio':>6} {'probe/10 ms':>12} {'ratio':>6}"
    print(head)
    print("-" * len(head))
    for shape in SHAPES:
        for cell in args.cells.split(","):
            r = measure(cell, shape, args.steps)
            B, T, H = shape
            print(
                f"B{B} T{T} H{H:<6} {cell:<5} {r['plain']:9.2f} {r['full']:9.2f} {r['full'] / r['plain']:6.2f} "
                f"{r['sparse']:12.2f} {r['sparse'] / r['plain10']:6.2f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
