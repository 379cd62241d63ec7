"""Responsiveness of the debugger window while it trains (offscreen), printed as ratios.

Three ways to run the same training (LSTM on the copy task, default B=32 T=100 H=256,
a probe frame every step), interleaved round by round so machine noise hits all alike:

- headless:        ``Trainer.step()`` in a loop (no recording, no window)
- recorded:        ``LiveSession.step()`` with the window's recording settings, no window
- window:          the real MainWindow, all panels visible (1600x1000), playing at max speed

For the window it also measures the event loop: a 5 ms QTimer records how late each of
its ticks fires (a stall is a tick later than planned), and the time of one redraw of
all panels as the window itself measures it (``MainWindow.redraw_costs``: from the ~30 Hz
tick that takes new steps until the paint events it caused are through; wall time and
the GUI thread's CPU time). Targets (issue 4): stall p99 <= 50 ms, redraw median <= 33 ms,
window throughput >= 80% of headless. On a shared machine, compare "stall p99 with the
window idle" and the CPU time: they show how much of a number is other processes' load.

Last, with training paused, the window redraws ``--replay`` steps recorded beforehand (fed to
it one per tick as new steps, a few per second like live training): the redraw's own cost,
without a training thread competing for the cores and the GIL, the figure to compare
before/after a change to the views on a busy machine.

    python benchmarks/bench_gui.py [--steps 40] [--rounds 2] [--hidden 256] [--seq-len 100]
                                   [--batch 32] [--threads N] [--window-threads N] [--probe-every 1]
                                   [--replay 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from rnnscope.engine import TrainConfig, Trainer


def headless(cfg: TrainConfig, steps: int) -> float:
    tr = Trainer(cfg)
    tr.step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        tr.step()
    return steps / (time.perf_counter() - t0)


def recorded(cfg: TrainConfig, steps: int, folder: Path) -> float:
    from rnnscope.gui.model.controller import GUI_RECORDING
    from rnnscope.sessions.live import LiveSession

    path = folder / f"recorded-{time.monotonic_ns()}.rnnscope"
    live = LiveSession.create(path, Trainer(cfg), settings=GUI_RECORDING)
    try:
        live.step()
        t0 = time.perf_counter()
        for _ in range(steps):
            live.step()
        live.flush()
        return steps / (time.perf_counter() - t0)
    finally:
        live.close()


class WindowProbe:
    """Runs the window for ``steps`` steps and measures throughput, stalls and redraws."""

    def __init__(self, app, cfg: TrainConfig) -> None:
        from PySide6.QtCore import QTimer

        from rnnscope.gui.shell.main_window import MainWindow

        self.app = app
        self.win = MainWindow(interactive=False)
        self.win.resize(1600, 1000)
        self.win.show()
        self.lateness: list[float] = []
        self.redraws: list[float] = []  # wall time of each redraw (the window measures it, paints included)
        self.redraw_cpu: list[float] = []  # CPU time of the GUI thread in each redraw
        self._probe = QTimer()
        self._probe.setInterval(5)
        self._probe.timeout.connect(self._on_probe)
        self._last = None
        self.win.controller.files.new_run(cfg)
        self._wait(lambda: self.win.controller.mode == "live", 120)
        from rnnscope.gui.shell.app import freeze_startup_heap

        freeze_startup_heap()  # as run_gui does

    def idle_stalls(self, seconds: float) -> list[float]:
        """Event-loop lateness with the window open but not training (the machine's own noise)."""
        self.lateness, self._last = [], None
        self._probe.start()
        self._wait(lambda: False, seconds)
        self._probe.stop()
        out, self.lateness = self.lateness, []
        return out

    def _on_probe(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.lateness.append(max(0.0, now - self._last - 0.005))
        self._last = now

    def _wait(self, cond, timeout: float) -> bool:
        """Run the real event loop (as app.exec does) until ``cond()`` or ``timeout`` seconds."""
        from PySide6.QtCore import QEventLoop, QTimer

        if cond():
            return True
        loop = QEventLoop()
        end = time.monotonic() + timeout
        check = QTimer()
        check.setInterval(20)
        check.timeout.connect(lambda: (cond() or time.monotonic() > end) and loop.quit())
        check.start()
        loop.exec()
        check.stop()
        return bool(cond())

    def run(self, steps: int, threads: int | None = None) -> float:
        c = self.win.controller
        before = torch.get_num_threads()
        if threads:
            torch.set_num_threads(threads)
        start = c.steps + 1  # one step of warm-up after pressing play
        c.run_until(start)
        self._wait(lambda: c.steps >= start and not c.playing, 600)
        self._last = None
        self.win.redraw_costs.clear()
        self.win.redraw_cpu.clear()
        self._probe.start()
        target = c.steps + steps
        t0 = time.perf_counter()
        c.run_until(target)
        self._wait(lambda: c.steps >= target, 1200)
        elapsed = time.perf_counter() - t0
        self._probe.stop()
        torch.set_num_threads(before)
        self.redraws += self.win.redraw_costs
        self.redraw_cpu += self.win.redraw_cpu
        return steps / elapsed

    def replay(self, records: list, count: int, gap: float = 0.15) -> tuple[list[float], list[float]]:
        """Redraws with training paused: ``records`` (StepRecords of this window's config) fed
        to the window as its next steps, one per redraw, ``gap`` s apart (the over-steps plots'
        10 Hz limit is over by then, as between live steps). Returns the window's own redraw
        wall and CPU times."""
        c = self.win.controller
        self._wait(lambda: not c.playing and not c.worker.busy, 60)
        order = records + records[-2:0:-1]  # there and back: no jump from the last to the first
        pending: list = []
        taken = c.worker.take_records
        c.worker.take_records = lambda: [pending.pop()] if pending else []  # the window's only source now
        walls: list[float] = []
        cpus: list[float] = []
        try:
            for i in range(count):
                before = len(self.win.redraw_costs)
                pending.append(dataclasses.replace(order[i % len(order)], step=c.steps))
                self._wait(lambda before=before: len(self.win.redraw_costs) > before, 10)
                walls.append(self.win.redraw_costs[-1])
                cpus.append(self.win.redraw_cpu[-1])
                self._wait(lambda: False, gap)
        finally:
            c.worker.take_records = taken
        return walls, cpus

    def close(self) -> None:
        self.win.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40, help="timed steps per mode and round")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--seq-len", type=int, default=100)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--probe-every", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--window-threads", type=int, default=None, help="torch threads while the window trains")
    ap.add_argument("--replay", type=int, default=60, help="redraws timed with training paused (0: none)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = TrainConfig(
        cell="lstm",
        task="copy",
        hidden_size=args.hidden,
        seq_len=args.seq_len,
        delay=10,
        batch_size=args.batch,
        device="cpu",
        probe_every=args.probe_every,
    )
    with tempfile.TemporaryDirectory(prefix="rnnscope-bench-") as tmp:
        os.environ["RNNSCOPE_CONFIG_DIR"] = tmp
        from rnnscope.gui.shell.app import make_app

        app = make_app()
        probe = WindowProbe(app, cfg)
        idle = probe.idle_stalls(5.0)
        speeds: dict[str, list[float]] = {"headless": [], "recorded": [], "window": []}
        try:
            for r in range(args.rounds):
                speeds["headless"].append(headless(cfg, args.steps))
                speeds["recorded"].append(recorded(cfg, args.steps, Path(tmp)))
                speeds["window"].append(probe.run(args.steps, args.window_threads))
                print(
                    f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} steps/s" for k, v in speeds.items()),
                    flush=True,
                )
            replay_wall: list[float] = []
            replay_cpu: list[float] = []
            if args.replay:
                trainer = Trainer(cfg)
                records = [trainer.step() for _ in range(24)]
                replay_wall, replay_cpu = probe.replay(records, args.replay)
        finally:
            probe.close()
        med = {k: statistics.median(v) for k, v in speeds.items()}
        stall_p99 = float(np.percentile(probe.lateness, 99)) * 1000 if probe.lateness else float("nan")
        stall_max = max(probe.lateness) * 1000 if probe.lateness else float("nan")
        idle_p99 = float(np.percentile(idle, 99)) * 1000 if idle else float("nan")
        redraw_med = statistics.median(probe.redraws) * 1000 if probe.redraws else float("nan")
        redraw_p90 = float(np.percentile(probe.redraws, 90)) * 1000 if probe.redraws else float("nan")
        redraw_cpu = statistics.median(probe.redraw_cpu) * 1000 if probe.redraw_cpu else float("nan")
        paused_med = statistics.median(replay_wall) * 1000 if replay_wall else float("nan")
        paused_cpu = statistics.median(replay_cpu) * 1000 if replay_cpu else float("nan")

    shape = f"LSTM copy B={args.batch} T={args.seq_len} H={args.hidden}, probe every {args.probe_every}"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print()
    window_threads = args.window_threads or torch.get_num_threads()
    print(
        f"{shape}; torch threads {torch.get_num_threads()} (window: {window_threads}); "
        f"{os.cpu_count()} CPUs; load avg {load:.1f}"
    )
    print(f"{'measure':44} {'value':>12} {'target':>10} {'ratio':>8}")
    rows = [
        ("headless Trainer.step (steps/s)", med["headless"], "", ""),
        (
            "recorded LiveSession.step, no window",
            med["recorded"],
            "",
            f"{med['recorded'] / med['headless']:.2f}",
        ),
        (
            "window open, all panels, playing",
            med["window"],
            ">= 0.80",
            f"{med['window'] / med['headless']:.2f}",
        ),
        ("  window vs recorded without window", med["window"], "", f"{med['window'] / med['recorded']:.2f}"),
        ("event-loop stall p99 (ms)", stall_p99, "<= 50", f"{stall_p99 / 50:.2f}"),
        ("event-loop stall max (ms)", stall_max, "", ""),
        ("  stall p99 with the window idle (ms)", idle_p99, "", ""),
        ("redraw of all panels, median (ms)", redraw_med, "<= 33", f"{redraw_med / 33:.2f}"),
        ("redraw of all panels, p90 (ms)", redraw_p90, "", ""),
        ("  redraw CPU time of the GUI thread, median", redraw_cpu, "", ""),
        ("redraw, training paused, median (ms)", paused_med, "", ""),
        ("  its CPU time, median", paused_cpu, "", ""),
    ]
    for name, value, target, ratio in rows:
        print(f"{name:44} {value:12.2f} {target:>10} {ratio:>8}")
    print(
        f"({len(probe.redraws)} redraws while training, {len(replay_wall)} with training paused, "
        f"{len(probe.lateness)} timer ticks measured)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
