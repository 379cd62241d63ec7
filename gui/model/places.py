"""Where the application model records and what it remembers: the Places protocol.

The window passes gui.shell.settings (unsaved runs in the user's data folder, the recent
files in QSettings); a headless user of AppModel passes ``Folder(dir)`` (the same, in memory
and in ``dir``), so the model itself needs no Qt.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Protocol


class Places(Protocol):
    def new_unsaved_path(self) -> Path: ...  # a fresh file for a run not saved yet

    def is_unsaved(self, path: str | os.PathLike[str] | None) -> bool: ...

    def add_recent(self, path: str | os.PathLike[str]) -> object: ...  # File > Open Recent


class Folder:
    """Unsaved runs in ``root``; recent files in ``recent`` (newest first)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.recent: list[Path] = []

    def new_unsaved_path(self) -> Path:
        base = self.root / f"untitled-{time.strftime('%Y%m%d-%H%M%S')}"
        path, i = base.with_suffix(".rnnscope"), 1
        while path.exists():
            path, i = Path(f"{base}-{i}.rnnscope"), i + 1
        return path

    def is_unsaved(self, path: str | os.PathLike[str] | None) -> bool:
        return path is not None and Path(path).resolve().parent == self.root.resolve()

    def add_recent(self, path: str | os.PathLike[str]) -> None:
        p = Path(path).resolve()
        self.recent = [p, *(q for q in self.recent if q != p)]
