"""`python main.py info FILE` and `python main.py export FILE --step K --format npz|csv`.

A bad file (missing, truncated, foreign, newer format) prints one line naming the file
and the problem and exits with code 2; nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def run_info(args: argparse.Namespace) -> int:
    from rnnscope.sessions import SessionError
    from rnnscope.sessions.cli import info

    try:
        print(info(args.path))
    except SessionError as exc:
        print(f"rnnscope: error: {exc}", file=sys.stderr)
        return 2
    return 0


def run_export(args: argparse.Namespace) -> int:
    from rnnscope.sessions import SessionError
    from rnnscope.sessions.cli import export_step

    path = Path(args.path)
    if args.format in ("state_dict", "safetensors"):
        return _export_weights(args, path)
    out = Path(args.output) if args.output else Path.cwd() / f"{path.stem}.step{args.step}.{args.format}"
    try:
        written = export_step(path, args.step, args.format, out, branch=args.branch)
    except (SessionError, ValueError) as exc:
        print(f"rnnscope: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {written}")
    return 0


def _export_weights(args: argparse.Namespace, path: Path) -> int:
    """The weights at the start of step K (K = the step count: after the last step)."""
    from rnnscope.sessions import Session, SessionError
    from rnnscope.sessions.weights_export import write_step_weights

    base = Path(args.output) if args.output else Path.cwd() / f"{path.stem}.step{args.step}"
    try:
        with Session.open(path, branch=args.branch) as s:
            written = write_step_weights(s, args.step, base, args.format)
    except (SessionError, ValueError, OSError) as exc:
        print(f"rnnscope: error: {exc}", file=sys.stderr)
        return 2
    for p in written:
        print(f"wrote {p}")
    return 0
