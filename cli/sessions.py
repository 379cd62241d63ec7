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
    out = Path(args.output) if args.output else Path.cwd() / f"{path.stem}.step{args.step}.{args.format}"
    try:
        written = export_step(path, args.step, args.format, out, branch=args.branch)
    except (SessionError, ValueError) as exc:
        print(f"rnnscope: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {written}")
    return 0
