"""A CRC-32 over each stored row, so that damage on disk is an error, not different data.

SQLite notices a damaged page structure but not a changed byte inside a value: a flipped bit
in a float column or an uncompressed array reads back as another number. Every row of
``steps``, ``frames`` and ``checkpoints`` therefore carries ``crc``, the CRC-32 of its values
(branch and step included, so a row that moved is caught too), written with the row and
checked whenever it is read. Files written before the column existed have no ``crc``: their
rows are read unchecked, as they always were.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnscope.sessions.errors import SessionError

TABLES = ("steps", "frames", "checkpoints")


def _bytes(v: Any) -> bytes:
    if v is None:
        return b"N"
    if isinstance(v, bool):
        return b"I1" if v else b"I0"
    if isinstance(v, int):
        return b"I" + str(v).encode()
    if isinstance(v, float):
        return b"F" + v.hex().encode()
    if isinstance(v, str):
        b = v.encode("utf-8", "surrogatepass")
        return b"S" + str(len(b)).encode() + b":" + b
    b = bytes(v)  # bytes, memoryview
    return b"B" + str(len(b)).encode() + b":" + b


def row_crc(values: Sequence[Any]) -> int:
    crc = 0
    for v in values:
        crc = zlib.crc32(_bytes(v), crc)
        crc = zlib.crc32(b"\x1f", crc)
    return crc


def verify(path: Path, what: str, values: Sequence[Any], crc: int | None) -> None:
    """SessionError when ``values`` are not what was written (``crc`` None: nothing to check)."""
    if crc is not None and row_crc(values) != crc:
        raise SessionError(
            path, f"damaged {what}: its checksum does not match (the file was changed on disk)"
        )


def has_crc(conn: sqlite3.Connection, table: str = "steps") -> bool:
    """Whether the file's rows carry checksums (the three tables got the column together)."""
    return any(r[1] == "crc" for r in conn.execute(f"PRAGMA table_info({table})"))


def select(sql: str, checked: bool) -> str:
    """A ``SELECT ..., crc FROM`` for this file: NULL in place of crc where it has no such column."""
    return sql if checked else sql.replace(", crc FROM", ", NULL FROM")
