"""Attach: the cost of rnnscope inside the user's own training loop.

The same user loop (its nn.LSTM / nn.GRU / nn.RNN, a linear read-out, Adam, gradient clipping,
``zero_grad; backward; clip; step``) runs plain, and attached with ``rnnscope.attach(model,
path, probe_every=N)`` recording into a session file (every step's summary; a frame every N-th
step; the weights every 100). Rounds are interleaved (plain, probe 10, probe 1, ...) on the same
batches; the figure is the median step time, and the ratio is against the plain loop of the
same round. Also: the cost of the pause check alone (one read of the request per step).

    python benchmarks/bench_attach.py [--steps 40] [--rounds 3] [--threads 2]

Targets (issue 14): probe_every=10 <= 1.2x, probe_every=1 <= 2.0x, CPU, 2 threads.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from torch import nn

import rnnscope
from rnnscope.sessions import control

CELLS = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}
SHAPES = ((32, 50, 64), (32, 100, 256))  # (B, T, H)
INPUTS = 16


class UserNet(nn.Module):
    def __init__(self, cell: type[nn.RNNBase], hidden: int) -> None:
        super().__init__()
        self.rnn = cell(INPUTS, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.rnn(x)
        return self.head(y).squeeze(-1)


def run(
    model: UserNet, batches: list[tuple[torch.Tensor, torch.Tensor]], scope: object | None
) -> list[float]:
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    if scope is not None:
        scope.scope.optimizer = opt  # type: ignore[attr-defined]
    times = []
    for x, y in batches:
        t0 = time.perf_counter()
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if scope is not None:
            scope.step(loss)  # type: ignore[attr-defined]
        times.append(time.perf_counter() - t0)
    return times[2:]  # the first steps warm up allocators and the C++ kernels


def measure(cell: str, B: int, T: int, H: int, steps: int, rounds: int, tmp: Path) -> dict[str, float]:
    g = torch.Generator().manual_seed(0)
    batches = [
        (torch.randn(B, T, INPUTS, generator=g), torch.randn(B, T, generator=g)) for _ in range(steps + 2)
    ]
    medians: dict[str, list[float]] = {"plain": [], "probe 10": [], "probe 1": []}
    for r in range(rounds):
        torch.manual_seed(r)
        medians["plain"].append(statistics.median(run(UserNet(CELLS[cell], H), batches, None)))
        for every, key in ((10, "probe 10"), (1, "probe 1")):
            torch.manual_seed(r)
            model = UserNet(CELLS[cell], H)
            scope = rnnscope.attach(model, tmp / f"{cell}{T}{H}r{r}p{every}.rnnscope", probe_every=every)
            medians[key].append(statistics.median(run(model, batches, scope)))
            scope.detach()
    return {k: statistics.median(v) for k, v in medians.items()}


def pause_check_cost(tmp: Path) -> float:
    model = UserNet(nn.GRU, 8)
    scope = rnnscope.attach(model, tmp / "read.rnnscope")
    listener = control.Listener(tmp / "read.rnnscope")
    control.Requester(tmp / "read.rnnscope").send(pause=False)
    n = 5000
    t0 = time.perf_counter()
    for k in range(n):
        listener.wait(k)
    per = (time.perf_counter() - t0) / n
    listener.close()
    scope.detach()
    return per


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {args.threads} threads, median of {args.steps} steps, {args.rounds} rounds"
    )
    print(f"{'model':<22}{'plain ms':>10}{'probe 10 ms':>13}{'ratio':>8}{'probe 1 ms':>12}{'ratio':>8}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for B, T, H in SHAPES:
            for cell in CELLS:
                m = measure(cell, B, T, H, args.steps, args.rounds, tmp)
                print(
                    f"{f'{cell} B{B} T{T} H{H}':<22}{m['plain'] * 1e3:>10.2f}{m['probe 10'] * 1e3:>13.2f}"
                    f"{m['probe 10'] / m['plain']:>7.2f}x{m['probe 1'] * 1e3:>12.2f}{m['probe 1'] / m['plain']:>7.2f}x",
                    flush=True,
                )
        print(f"pause check (one read of the request per step): {pause_check_cost(tmp) * 1e6:.1f} us")


if __name__ == "__main__":
    main()
