"""sessions/ depends on engine only: no Qt, no pyqtgraph, no gui, no pickle-based loading."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SESSIONS = Path(__file__).resolve().parent.parent.parent / "sessions"


def test_importing_sessions_loads_no_gui_toolkit() -> None:
    code = (
        "import sys, rnnscope.sessions, rnnscope.sessions.cli\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph') "
        "or m.startswith('rnnscope.gui'))\n"
        "print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=SESSIONS.parent, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_no_module_uses_pickle_or_unsafe_torch_load() -> None:
    for path in sorted(SESSIONS.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + (
                    [node.module] if isinstance(node, ast.ImportFrom) else []
                )
                assert not any(
                    n and n.split(".")[0] in ("pickle", "dill", "cloudpickle", "shelve") for n in names
                ), path
            if isinstance(node, ast.Attribute) and node.attr == "load":
                assert not (isinstance(node.value, ast.Name) and node.value.id == "torch"), (
                    f"{path}: torch.load"
                )
            if isinstance(node, ast.keyword) and node.arg == "allow_pickle":
                raise AssertionError(f"{path}: allow_pickle")
