"""How far a last-bit difference travels: two runs of the LSTM copy task that differ by one ulp.

Run A trains as recorded; run B is the same trainer with every parameter moved by one unit in
the last place (``np.nextafter``) before step 0, which is the size of difference another CPU's
rounding makes. Both train side by side; at steps 10, 100 and 1000 the table gives how far
apart they are: the relative difference of the loss and of the gradient norm, and the largest
absolute difference of any gate value of the probe sample. The baseline column is the loss
itself (a plain PyTorch quantity measured in the same run), so a drift reads against it.

    python benchmarks/bench_drift.py [--steps 1000] [--seeds 0,1,2] [--config default|demo]

``--cross-cpu`` also trains the legacy numerics (revision 1, torch's own log_softmax) under
ATEN_CPU_CAPABILITY=avx2 and avx512 in two processes (where this CPU runs both), the real
cross-machine case of issue 10, and prints the same distances.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from rnnscope.engine import TrainConfig, Trainer, numerics

CHECKS = (10, 25, 50, 75, 100, 200, 300, 500, 1000)


def config(kind: str, seed: int) -> TrainConfig:
    if kind == "demo":  # the lstm-copy demo's settings (engine/demos/catalog.py)
        return TrainConfig(
            cell="lstm", task="copy", hidden_size=64, seq_len=14, delay=4, batch_size=32, seed=seed,
            device="cpu", lr=1e-2, forget_bias=1.0, probe_every=0,
        )  # fmt: skip
    return TrainConfig(cell="lstm", task="copy", seed=seed, device="cpu", probe_every=0)


@torch.no_grad()
def nudge(tr: Trainer) -> None:
    """Every parameter one ulp up."""
    for p in tr.model.parameters():
        a = p.detach().cpu().numpy()
        p.copy_(torch.from_numpy(np.nextafter(a, np.float32(np.inf)).astype(np.float32)))


def trace(tr: Trainer, steps: int) -> dict[int, dict[str, object]]:
    out: dict[int, dict[str, object]] = {}
    for k in range(steps):
        probe = (k + 1) in CHECKS
        rec = tr.step(probe=probe)
        if probe:
            gates = np.concatenate([g.ravel() for g in (rec.gates or {}).values()])
            out[k + 1] = {"loss": rec.loss, "grad_norm": rec.grad_norm, "gates": gates}
    return out


def distances(a: dict[str, object], b: dict[str, object]) -> tuple[float, float, float, float]:
    la, lb = float(a["loss"]), float(b["loss"])  # type: ignore[arg-type]
    ga, gb = float(a["grad_norm"]), float(b["grad_norm"])  # type: ignore[arg-type]
    gates = float(np.max(np.abs(np.asarray(a["gates"]) - np.asarray(b["gates"]))))
    return abs(la - lb) / abs(la), abs(ga - gb) / abs(ga), gates, la


def child(rev: int, kind: str, seed: int, steps: int) -> None:
    """--child: train and print the checked steps as JSON (the capability is this process's)."""
    tr = Trainer(config(kind, seed))
    tr.numerics = rev
    res = trace(tr, steps)
    print(json.dumps({str(k): {**v, "gates": np.asarray(v["gates"]).tolist()} for k, v in res.items()}))


def cross_cpu(kind: str, seed: int, steps: int) -> dict[int, dict[str, object]] | None:
    runs = []
    for cap in ("avx512", "avx2"):
        env = {**os.environ, "ATEN_CPU_CAPABILITY": cap, "OPENBLAS_NUM_THREADS": "1"}
        cmd = [
            sys.executable,
            __file__,
            "--child",
            str(numerics.LEGACY_REVISION),
            kind,
            str(seed),
            str(steps),
        ]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        runs.append({int(k): v for k, v in json.loads(out.splitlines()[-1]).items()})
    return runs  # type: ignore[return-value]


def table(rows: list[tuple[int, list[tuple[float, float, float, float]]]], title: str) -> None:
    print(title)
    head = f"{'after steps':>11} {'loss (median)':>14} {'rel. loss diff':>22} {'rel. grad-norm diff':>22} {'max |gate diff|':>20}"
    print(head)
    print("-" * len(head))
    for k, ds in rows:
        med = statistics.median
        loss = med(d[3] for d in ds)
        cols = [(med(d[i] for d in ds), max(d[i] for d in ds)) for i in range(3)]
        print(f"{k:>11} {loss:>14.4g} " + " ".join(f"{m:>10.1e} (max {x:.0e})" for m, x in cols))


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=max(CHECKS))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--config", choices=("default", "demo"), default="default")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cross-cpu", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    checks = [k for k in CHECKS if k <= args.steps]
    cfg = config(args.config, seeds[0])
    print(
        f"torch {torch.__version__}, {args.threads} threads, {torch.backends.cpu.get_cpu_capability()}; "
        f"LSTM copy H{cfg.hidden_size} T{cfg.seq_len} B{cfg.batch_size} lr {cfg.lr}; seeds {seeds}; "
        "median over seeds (max)"
    )
    per_step: dict[int, list[tuple[float, float, float, float]]] = {k: [] for k in checks}
    for seed in seeds:
        a, b = Trainer(config(args.config, seed)), Trainer(config(args.config, seed))
        nudge(b)
        ta, tb = trace(a, args.steps), trace(b, args.steps)
        for k in checks:
            per_step[k].append(distances(ta[k], tb[k]))
    table([(k, per_step[k]) for k in checks], "one ulp on every parameter at step 0:")
    if args.cross_cpu:
        if torch.backends.cpu.get_cpu_capability() != "AVX512":
            print("cross-cpu: this CPU has no AVX-512; skipped")
            return 0
        cross: dict[int, list[tuple[float, float, float, float]]] = {k: [] for k in checks}
        for seed in seeds:
            ra, rb = cross_cpu(args.config, seed, args.steps)  # type: ignore[misc]
            for k in checks:
                cross[k].append(distances(ra[k], rb[k]))
        table([(k, cross[k]) for k in checks], "revision 1 (torch log_softmax), AVX512 against AVX2:")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
