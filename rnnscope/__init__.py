"""rnnscope: a visual debugger for recurrent neural networks.

Installed, rnnscope is one package: ``rnnscope.engine`` (models, tasks, the Trainer),
``rnnscope.sessions`` (the session file), ``rnnscope.gui`` (the window) and
``rnnscope.cli`` (the command line). It squats no generic top-level name.

In a checkout the four live at the repository's top level (engine/, sessions/, gui/, cli/)
and rnnscope/ links to them. Where a checkout has no symbolic links (git on Windows without
``core.symlinks``), the package finds them beside itself instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_here = Path(__file__).resolve().parent
if not (_here / "engine" / "__init__.py").is_file() and (_here.parent / "engine" / "__init__.py").is_file():
    __path__.append(str(_here.parent))  # a checkout without symlinks: the folders beside rnnscope/

__all__ = ["attach"]


def __getattr__(name: str) -> Any:
    """``rnnscope.attach`` (sessions.attached: attach and record), imported on first use: ``import rnnscope`` and the
    command line's --help and --version do not pay for torch."""
    if name == "attach":
        from rnnscope.sessions.attached import attach

        return attach
    raise AttributeError(f"module 'rnnscope' has no attribute {name!r}")
