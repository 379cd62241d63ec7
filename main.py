"""rnnscope: a visual debugger for recurrent networks.

    python main.py                         # the debugger window, with the default demo (LSTM, copy task)
    python main.py run.rnnscope            # open a recorded session in the window
    python main.py --screenshot out.png --steps 200 [--demo NAME]   # offscreen picture of the window
    python main.py train --model gru --task adding --steps 300 [--out run.rnnscope]
    python main.py info run.rnnscope
    python main.py export run.rnnscope --step 120 --format npz|csv [-o PATH]

Bad arguments print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.config import CELLS, DEVICES, INITS, OPTIMIZERS, TASKS

if TYPE_CHECKING:
    from engine import TrainConfig

SUBCOMMANDS = ("train", "info", "export", "gui")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (no usage dump) with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _add_train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", choices=CELLS, default="lstm", help="recurrent cell")
    p.add_argument(
        "--decoder-model", choices=CELLS, default=None, help="Seq2Seq decoder cell (default: --model)"
    )
    p.add_argument("--task", choices=TASKS, default="copy")
    p.add_argument("--steps", type=int, default=300, help="optimizer steps to run")
    p.add_argument("--hidden-size", type=int, default=None)
    p.add_argument("--layers", type=int, default=None)
    p.add_argument("--embed-size", type=int, default=None)
    p.add_argument("--seq-len", type=int, default=None)
    p.add_argument("--delay", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--device", choices=DEVICES, default=None)
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--momentum", type=float, default=None)
    p.add_argument(
        "--clip", type=float, default=None, metavar="THRESHOLD", help="clip gradients by global norm"
    )
    p.add_argument("--init", choices=INITS, default=None)
    p.add_argument("--init-scale", type=float, default=None)
    p.add_argument("--forget-bias", type=float, default=None)
    p.add_argument("--dropout", type=float, default=None)
    p.add_argument("--variational-dropout", action="store_true", default=None)
    p.add_argument("--tie-weights", action="store_true", default=None)
    p.add_argument("--teacher-forcing", type=float, default=None)
    p.add_argument("--probe-index", type=int, default=None)
    p.add_argument("--probe-every", type=int, default=None)
    p.add_argument(
        "--out",
        default=None,
        help="record the run into this session file (.rnnscope); an existing file is kept unless --force",
    )
    p.add_argument(
        "--force", action="store_true", help="with --out: replace an existing file (its recording is lost)"
    )
    p.add_argument(
        "--checkpoint-every", type=int, default=None, help="steps between checkpoints when recording"
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    from engine import TrainConfig
    from engine.tasks import TASK_CLASSES

    fields = {
        "model": args.model,
        "decoder_model": args.decoder_model,
        "task": args.task,
        "hidden_size": args.hidden_size,
        "layers": args.layers,
        "embed_size": args.embed_size,
        "seq_len": args.seq_len,
        "delay": args.delay,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "device": args.device,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "momentum": args.momentum,
        "init": args.init,
        "init_scale": args.init_scale,
        "forget_bias": args.forget_bias,
        "dropout": args.dropout,
        "variational_dropout": args.variational_dropout,
        "tie_weights": args.tie_weights,
        "teacher_forcing": args.teacher_forcing,
        "probe_index": args.probe_index,
        "probe_every": args.probe_every,
    }
    if args.clip is not None:
        fields["clip"] = True
        fields["clip_threshold"] = args.clip
    chosen = {k: v for k, v in fields.items() if v is not None}
    defaults = getattr(TASK_CLASSES()[args.task], "default_config", {})
    return TrainConfig(**{**defaults, **chosen})


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rnnscope", description="A visual debugger for recurrent neural networks.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    train = sub.add_parser("train", help="train headless with a progress bar (and record with --out)")
    _add_train_args(train)
    info = sub.add_parser("info", help="print a session file's config, steps, branches and size")
    info.add_argument("path")
    export = sub.add_parser("export", help="write one step's arrays to NPZ or CSV")
    export.add_argument("path")
    export.add_argument("--step", type=int, required=True)
    export.add_argument("--format", choices=("npz", "csv"), default="npz")
    export.add_argument("--branch", default=None)
    export.add_argument("-o", "--output", default=None)
    gui = sub.add_parser("gui", help="open the debugger window (the default)")
    _add_gui_args(gui)
    return parser


def _non_negative(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of steps, got {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"the number of steps cannot be negative, got {n}")
    return n


def _positive_seconds(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not x > 0:
        raise argparse.ArgumentTypeError(f"the timeout must be more than 0 seconds, got {text}")
    return x


def _add_gui_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("session", nargs="?", default=None, help="a session file to open")
    p.add_argument("--demo", default=None, help="start a teaching demo (File > Demos; default lstm-copy)")
    p.add_argument(
        "--screenshot",
        default=None,
        metavar="PNG",
        help="run offscreen, save the window, exit (a demo with several runs trains them all and "
        "also saves NAME-compare.png of its first and last runs)",
    )
    p.add_argument(
        "--steps",
        type=_non_negative,
        default=None,
        help="with --screenshot: steps to train each run first (default: the demo's step hint)",
    )
    p.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=None,
        metavar="SECONDS",
        help="with --screenshot: give up after this long (default 600)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help")):
        argv = ["gui", *argv]
    args = build_parser().parse_args(argv)
    if args.command == "train":
        from cli.train import run_train

        return run_train(args)
    if args.command in ("info", "export"):
        from cli.sessions import run_export, run_info

        return run_info(args) if args.command == "info" else run_export(args)
    from gui.app import run_gui

    return run_gui(args)


if __name__ == "__main__":
    raise SystemExit(main())
