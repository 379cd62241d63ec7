"""The data files a session's runs trained on, stored in the session (a copied file replays anywhere).

Table ``datasets(id TEXT PRIMARY KEY, name, size, data BLOB, crc)``: ``id`` is the file's
content id (``sha256:<hex>``, engine.datasets), ``name`` its original file name, ``size`` its
byte count, ``data`` the bytes zlib-compressed, ``crc`` the CRC-32 of the stored blob. The
table is made by the first run on a data file, so files without one are format 1 as before
(an older reader opens them and refuses only the unknown task). Opening a session registers
its files (engine.datasets.store) after checking the blob, the size and the id.
"""

from __future__ import annotations

import sqlite3
import zlib
from pathlib import Path
from typing import Any

from rnnscope.engine.datasets import DataFile, store
from rnnscope.engine.datasets.files import data_id
from rnnscope.sessions.errors import SessionError

TABLE = (
    "CREATE TABLE IF NOT EXISTS datasets ("
    "id TEXT PRIMARY KEY, name TEXT NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL, crc INTEGER NOT NULL)"
)


def write(conn: sqlite3.Connection, df: DataFile) -> None:
    """Store ``df`` (once per id) with the caller's transaction."""
    blob = zlib.compress(df.data, 6)
    conn.execute(TABLE)
    conn.execute(
        "INSERT OR IGNORE INTO datasets(id, name, size, data, crc) VALUES (?, ?, ?, ?, ?)",
        (df.id, df.name, df.size, blob, zlib.crc32(blob)),
    )


def has_table(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='datasets'").fetchone()
    return row is not None


def load_all(conn: sqlite3.Connection, path: Path) -> list[DataFile]:
    """Every stored file, checked, and registered for the data tasks."""
    if not has_table(conn):
        return []
    out = []
    for id_, name, size, blob, crc in conn.execute("SELECT id, name, size, data, crc FROM datasets"):
        if zlib.crc32(blob) != crc:
            raise SessionError(path, f"damaged data: the stored data file {name} fails its checksum")
        try:
            data = zlib.decompress(blob)
        except zlib.error:
            raise SessionError(
                path, f"damaged data: the stored data file {name} does not decompress"
            ) from None
        if len(data) != size or data_id(data) != id_:
            raise SessionError(
                path, f"damaged data: the stored data file {name} is not the one its runs name"
            )
        out.append(store.register(DataFile(name, data, id_)))
    return out


FACTS_KEY = "data_facts"  # meta: {branch id: what the run's task made of its data file}


def facts_of(trainer: Any) -> dict[str, Any]:
    """The trainer's task's ``data_facts()`` (windows, vocabulary, normalisation), {} for a built-in task."""
    facts = getattr(getattr(trainer, "task", None), "data_facts", None)
    return dict(facts()) if callable(facts) else {}


def data_of(config: dict[str, object]) -> str:
    """The data id a stored config names ("" for a built-in task)."""
    value = config.get("data", "")
    return value if isinstance(value, str) else ""
