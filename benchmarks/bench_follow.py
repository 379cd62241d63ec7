"""Follow: what a window following the user's run costs that run.

The user loop of bench_attach.py (nn.LSTM, a read-out on every timestep, Adam, clipping),
attached with ``probe_every=10`` and recording, runs its steps three ways, interleaved in rounds
on the same batches: not attached (plain), attached with no window, and attached while the
window (``python -m rnnscope open FILE``, offscreen, every panel) follows it from another
process: reading each new step, redrawing, sending its heartbeat. The figure is the median
step time; ratios are against plain in the same round. On a 2-core machine the window's
redraws share the cores with training, as they would on the user's laptop.

    python benchmarks/bench_follow.py [--steps 150] [--rounds 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from bench_attach import UserNet, run

import rnnscope
from rnnscope.sessions import Session

SHAPES = ((32, 50, 64), (32, 100, 256))


def window(path: Path, config: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "RNNSCOPE_CONFIG_DIR": str(config)}
    return subprocess.Popen(
        [sys.executable, "-m", "rnnscope", "open", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def followed(path: Path, deadline: float = 120.0) -> None:
    """Wait until the window has connected to the file (its first request is written)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with Session.open(path) as s:
            if s.meta_value("control") is not None:
                return
        time.sleep(0.2)
    raise SystemExit("the window did not start following the file")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="bench-follow-"))
    print(
        f"torch {torch.__version__}, {args.threads} threads, median of {args.steps} steps, {args.rounds} rounds"
    )
    print(f"{'model':22s}{'plain ms':>10s}{'attached ms':>13s}{'ratio':>8s}{'+ window ms':>13s}{'ratio':>8s}")
    for B, T, H in SHAPES:
        g = torch.Generator().manual_seed(0)
        batches = [
            (torch.randn(B, T, 16, generator=g), torch.randn(B, T, generator=g)) for _ in range(args.steps)
        ]
        plain, alone, watched = [], [], []
        for r in range(args.rounds):
            torch.manual_seed(0)
            plain.append(statistics.median(run(UserNet(torch.nn.LSTM, H), batches, None)[5:]))
            for into, with_window in ((alone, False), (watched, True)):
                torch.manual_seed(0)
                model = UserNet(torch.nn.LSTM, H)
                path = tmp / f"H{H}-{r}-{with_window}.rnnscope"
                scope = rnnscope.attach(model, path, probe_every=10)
                proc = None
                if with_window:
                    proc = window(path, tmp / "config")
                    followed(path)
                    time.sleep(2.0)  # its first reads and redraws are done
                try:
                    into.append(statistics.median(run(model, batches, scope)[5:]))
                finally:
                    scope.detach()
                    if proc is not None:
                        proc.kill()
                        proc.wait(30)
        p, a, w = (statistics.median(x) * 1000 for x in (plain, alone, watched))
        print(f"{f'LSTM B{B} T{T} H{H}':22s}{p:10.2f}{a:13.2f}{a / p:7.2f}x{w:13.2f}{w / p:7.2f}x")


if __name__ == "__main__":
    main()
