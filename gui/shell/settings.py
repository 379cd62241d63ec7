"""Settings that outlive a window: dock layout, window geometry, recent files, unsaved runs.

Stored with QSettings (the platform's usual place). ``RNNSCOPE_CONFIG_DIR`` moves them, as
INI files, to another directory (the tests point it at a temporary one). Unsaved runs are
recorded into ``unsaved_dir()`` so that a crash never loses one; File > Open starts there.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

MAX_RECENT = 8
KEEP_UNSAVED = 20  # unsaved runs kept; older ones are deleted at start-up
ORG, APP = "rnnscope", "rnnscope"


def _config_dir() -> str | None:
    return os.environ.get("RNNSCOPE_CONFIG_DIR") or None


def qsettings() -> QSettings:
    d = _config_dir()
    if d:
        return QSettings(str(Path(d) / "rnnscope.ini"), QSettings.Format.IniFormat)
    return QSettings(ORG, APP)


def data_dir() -> Path:
    d = _config_dir()
    if d:
        path = Path(d)
    else:
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
        path = Path(base or Path.home() / ".local" / "share") / "rnnscope"
    path.mkdir(parents=True, exist_ok=True)
    return path


def unsaved_dir() -> Path:
    path = data_dir() / "unsaved"
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_unsaved_path() -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = unsaved_dir() / f"untitled-{stamp}"
    path, i = base.with_suffix(".rnnscope"), 1
    while path.exists():
        path, i = Path(f"{base}-{i}.rnnscope"), i + 1
    return path


def prune_unsaved(keep: int = KEEP_UNSAVED) -> None:
    files = sorted(unsaved_dir().glob("*.rnnscope"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[keep:]:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                Path(str(old) + suffix).unlink()


def is_unsaved(path: str | os.PathLike[str] | None) -> bool:
    return path is not None and Path(path).resolve().parent == unsaved_dir().resolve()


# ------------------------------------------------------------------ recent files
def recent_files() -> list[str]:
    value = qsettings().value("recent", [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in (value or []) if v and Path(str(v)).exists()]


def add_recent(path: str | os.PathLike[str]) -> list[str]:
    p = str(Path(path).resolve())
    files = [p] + [f for f in recent_files() if f != p]
    qsettings().setValue("recent", files[:MAX_RECENT])
    return files[:MAX_RECENT]


# ------------------------------------------------------------------ window layout
def save_layout(geometry: QByteArray, state: QByteArray) -> None:
    s = qsettings()
    s.setValue("window/geometry", geometry)
    s.setValue("window/state", state)
    s.sync()


def load_layout() -> tuple[QByteArray | None, QByteArray | None]:
    s = qsettings()
    geometry, state = s.value("window/geometry"), s.value("window/state")
    return (
        geometry if isinstance(geometry, QByteArray) else None,
        state if isinstance(state, QByteArray) else None,
    )


# ------------------------------------------------------------------ language
LANGUAGES = ("en", "ko")  # of the demo explanations (engine.demos)


def language() -> str:
    """The explanation language last chosen ("en" by default)."""
    value = str(qsettings().value("language", "en"))
    return value if value in LANGUAGES else "en"


def set_language(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(LANGUAGES)}")
    s = qsettings()
    s.setValue("language", lang)
    s.sync()
