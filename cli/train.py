"""`python main.py train ...`: headless training with a progress bar, optionally recorded.

Prints the final loss and metric (and where a NaN/Inf appeared, if one did). With
``--out run.rnnscope`` every step is recorded into a session file that the window opens
later; Ctrl-C stops early and keeps everything recorded so far.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from rnnscope.engine import native


def _fmt(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else str(v)


def _describe_existing(path: Path) -> str:
    """What replacing ``path`` would lose, in a few words."""
    from rnnscope.sessions import Session, SessionError

    try:
        with Session.open(path) as s:
            return f"an rnnscope session with {s.stats()['steps']} recorded steps"
    except SessionError:
        return "not an rnnscope session"
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"


def run_train(args: argparse.Namespace) -> int:
    from rnnscope.cli.options import config_from_args
    from rnnscope.engine import Trainer

    if args.steps < 1:
        print("rnnscope: error: --steps must be at least 1", file=sys.stderr)
        return 2
    if args.threads is not None:
        if args.threads < 1:
            print("rnnscope: error: --threads must be at least 1", file=sys.stderr)
            return 2
        torch.set_num_threads(args.threads)
    try:
        native.mode()  # a bad RNNSCOPE_KERNELS is an argument error too
        if native.needs_build():
            print(
                "rnnscope: compiling the C++ recurrence kernels (once per machine, ~15-30 s)", file=sys.stderr
            )
        cfg = config_from_args(args)
        if args.probe_every is None:
            # Headless, nothing shows a frame: the recorder asks for the frames it stores and
            # the rest are regenerated on demand, so no step computes one for nothing.
            cfg = cfg.with_changes(probe_every=0)
        trainer = Trainer(cfg)
        if args.weights is not None:
            plan = trainer.import_weights(args.weights)
            print(f"rnnscope: weights from {Path(args.weights).name}:", file=sys.stderr)
            for line in plan.describe().splitlines():
                print(f"  {line}", file=sys.stderr)
    except ValueError as exc:
        print(f"rnnscope: error: {exc}", file=sys.stderr)
        return 2

    live = None
    if args.out:
        from rnnscope.sessions import SessionError
        from rnnscope.sessions.live import LiveSession
        from rnnscope.sessions.writer import RecordSettings

        settings = RecordSettings()
        if args.checkpoint_every is not None:
            if args.checkpoint_every < 1:
                print("rnnscope: error: --checkpoint-every must be at least 1", file=sys.stderr)
                return 2
            settings = RecordSettings(**{**settings.to_dict(), "checkpoint_every": args.checkpoint_every})
        out = Path(args.out)
        if out.exists() and not args.force:
            what = _describe_existing(out)
            print(
                f"rnnscope: error: {out} exists ({what}); nothing was changed. Choose another --out, "
                f"open it in the window (python main.py {out}), or add --force to replace it",
                file=sys.stderr,
            )
            return 2
        try:
            live = LiveSession.create(out, trainer, settings=settings, overwrite=True)
        except (SessionError, OSError) as exc:
            print(f"rnnscope: error: {exc}", file=sys.stderr)
            return 2

    print(
        f"training {cfg.cell} on {cfg.task} (H={cfg.hidden_size}, layers={cfg.layers}, T={cfg.seq_len}, "
        f"B={cfg.batch_size}) on {trainer.device}, {trainer.param_count():,} parameters",
        file=sys.stderr,
    )
    rec = None
    first_nonfinite = None
    status = 0
    bar = tqdm(total=args.steps, unit="step", file=sys.stderr, dynamic_ncols=True, mininterval=0.25)
    try:
        for _ in range(args.steps):
            rec = live.step() if live is not None else trainer.step()
            if rec.nonfinite is not None and first_nonfinite is None:
                first_nonfinite = rec
            # the figures of the step the bar counts (set before the update that may redraw it)
            bar.set_postfix(loss=_fmt(rec.loss), **{rec.metric_name: _fmt(rec.metric)}, refresh=False)
            bar.update(1)
    except KeyboardInterrupt:
        status = 130
        print("\ninterrupted: stopping (everything recorded so far is kept)", file=sys.stderr)
    except Exception as exc:  # a recording failure (disk full ...) ends the run with its reason
        status = 1
        print(f"\nrnnscope: error: {exc}", file=sys.stderr)
    finally:
        bar.close()
        if live is not None:
            live.close()
    if rec is not None:
        print(f"step {rec.step + 1}: loss {_fmt(rec.loss)}, {rec.metric_name} {_fmt(rec.metric)}")
    if first_nonfinite is not None and first_nonfinite.nonfinite is not None:
        print(f"first NaN/Inf at step {first_nonfinite.step}: {first_nonfinite.nonfinite.describe()}")
    if live is not None:
        print(f"recorded to {args.out}")
    return status
