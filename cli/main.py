"""rnnscope's command line: the window (the default command), train, info, export.

    rnnscope                               # the debugger window, with the default demo (LSTM, copy task)
    rnnscope run.rnnscope                  # open a recorded session in the window
    rnnscope open run.rnnscope --follow    # the same; --follow: a file another process writes
    rnnscope --demo exploding              # start a teaching demo
    rnnscope --screenshot out.png --steps 200 [--demo NAME]   # offscreen picture of the window
    rnnscope train --cell gru --task adding --steps 300 [--out run.rnnscope]
    rnnscope info run.rnnscope
    rnnscope export run.rnnscope --step 120 --format npz|csv [-o PATH]

``python main.py ...`` is the same command from a checkout. Bad arguments print one line and
exit with code 2.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

from rnnscope.cli.options import add_config_options

COMMANDS = {
    "gui": "open the debugger window (the default command)",
    "open": "open a session file in the window (a run of your own loop is followed live)",
    "train": "train headless with a progress bar (and record with --out)",
    "info": "print a session file's config, kernels, steps, branches and size",
    "export": "write one step's arrays to NPZ or CSV",
}
DEFAULT_STEPS = 300


def version() -> str:
    try:
        return metadata.version("rnnscope")
    except metadata.PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (no usage dump) with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _count(what: str, lo: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number of {what}, got {text!r}") from None
        if n < lo:
            least = "cannot be negative" if lo == 0 else f"must be at least {lo}"
            raise argparse.ArgumentTypeError(f"the number of {what} {least}, got {n}")
        return n

    return parse


def _positive_seconds(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not x > 0:
        raise argparse.ArgumentTypeError(f"the timeout must be more than 0 seconds, got {text}")
    return x


def _demo_names() -> str:
    from rnnscope.engine.demos import DEFAULT_DEMO, DEMOS

    return ", ".join(f"{n} (default)" if n == DEFAULT_DEMO else n for n in DEMOS)


def _add_gui_args(p: argparse.ArgumentParser, *, session: bool = False) -> None:
    if session:
        p.add_argument("session", help="the session file (.rnnscope) to open")
    else:
        p.add_argument("session", nargs="?", default=None, help="a session file (.rnnscope) to open")
    p.add_argument(
        "--follow",
        action="store_true",
        help="keep showing the steps another process writes into the session (a run of your own "
        "training loop, rnnscope.attach, is always followed; this also follows `train --out`)",
    )
    p.add_argument("--demo", default=None, metavar="NAME", help=f"start a teaching demo: {_demo_names()}")
    p.add_argument(
        "--screenshot",
        default=None,
        metavar="PNG",
        help="run offscreen, save the window, exit (a demo with several runs trains them all and "
        "also saves NAME-compare.png of its first and last runs)",
    )
    p.add_argument(
        "--steps",
        type=_count("steps", 0),
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
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")


def _add_train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--steps", type=int, default=DEFAULT_STEPS, help=f"optimizer steps to run; default {DEFAULT_STEPS}"
    )
    p.add_argument(
        "--out",
        default=None,
        help="record the run into this session file (.rnnscope); an existing file is kept unless --force",
    )
    p.add_argument(
        "--force", action="store_true", help="with --out: replace an existing file (its recording is lost)"
    )
    from rnnscope.sessions.writer import RecordSettings

    every = RecordSettings().checkpoint_every
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        help=f"steps between checkpoints when recording; default {every}",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument(
        "--weights",
        default=None,
        metavar="FILE",
        help="start from your trained weights: a state_dict of an nn.RNN/LSTM/GRU (or a model holding one) "
        "saved with torch.save, or a .safetensors file; the embedding and read-out are taken where names "
        "and shapes fit; with --inspect nothing is updated",
    )
    add_config_options(p)


def build_parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """(the whole command line, the window's own parser: its options are the top level's too)."""
    gui_help = _Parser(prog="rnnscope", add_help=False)
    _add_gui_args(gui_help)
    window = gui_help.format_help().split("\n\n", 1)[1].strip("\n").replace("options:", "window options:")
    parser = _Parser(
        prog="rnnscope",
        description="A visual debugger for recurrent neural networks: watch gates, states and gradients "
        "while an RNN, LSTM, GRU or Seq2Seq model trains; pause, rewind, branch, replay.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="With no command, rnnscope opens the window (the gui command):\n"
        "  rnnscope [SESSION [--follow]] [--demo NAME] [--screenshot PNG [--steps N] [--timeout SECONDS]] "
        "[--threads N]\n\n"
        f"{window}\n\n"
        "`python main.py ...` runs the same command from a checkout. "
        "Each command has its own --help (rnnscope train --help lists every run setting).",
    )
    parser.add_argument("--version", action="version", version=f"rnnscope {version()}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, title="commands", metavar="COMMAND")
    train = sub.add_parser("train", help=COMMANDS["train"], description=COMMANDS["train"])
    _add_train_args(train)
    info = sub.add_parser("info", help=COMMANDS["info"], description=COMMANDS["info"])
    info.add_argument("path", help="the session file")
    export = sub.add_parser("export", help=COMMANDS["export"], description=COMMANDS["export"])
    export.add_argument("path", help="the session file")
    export.add_argument("--step", type=int, required=True, help="the step to write (0-based)")
    export.add_argument(
        "--format",
        choices=("npz", "csv", "state_dict", "safetensors"),
        default="npz",
        help="npz or csv: the step's arrays (default npz); state_dict: the weights at the start of the "
        "step as .pt files an nn.RNN/LSTM/GRU loads with strict=True (one per recurrent part), plus the "
        "whole model; safetensors: the whole model's weights",
    )
    export.add_argument("--branch", default=None, help="branch name or id (default: the last used)")
    export.add_argument(
        "-o",
        "--output",
        default=None,
        help="where to write (default: SESSION.stepK.FORMAT in this directory)",
    )
    gui = sub.add_parser("gui", help=COMMANDS["gui"], description=COMMANDS["gui"])
    _add_gui_args(gui)
    opener = sub.add_parser("open", help=COMMANDS["open"], description=COMMANDS["open"])
    _add_gui_args(opener, session=True)
    return parser, gui


def _unknown_command(word: str) -> str | None:
    """Why ``word`` (the first argument, not a command) is neither a command nor a session to open."""
    if (
        word.startswith("-")
        or Path(word).exists()
        or word.endswith(".rnnscope")
        or "/" in word
        or "\\" in word
    ):
        return None
    close = difflib.get_close_matches(word, list(COMMANDS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"unknown command {word!r}{hint}; commands: {', '.join(COMMANDS)}. "
        "To open a session, give its file (e.g. run.rnnscope)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    top = ("-h", "--help", "--version")
    if not argv or (argv[0] not in COMMANDS and argv[0] not in top):
        if argv:
            reason = _unknown_command(argv[0])
            if reason is not None:
                sys.stderr.write(f"rnnscope: error: {reason}\n")
                return 2
        argv = ["gui", *argv]
    parser, _ = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        from rnnscope.cli.train import run_train

        return run_train(args)
    if args.command in ("info", "export"):
        from rnnscope.cli.sessions import run_export, run_info

        return run_info(args) if args.command == "info" else run_export(args)
    from rnnscope.gui.shell.app import run_gui

    return run_gui(args)
