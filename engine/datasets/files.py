"""A user's data file as rnnscope keeps it: its bytes, name and content id, read once.

``read_file(path)`` refuses what cannot be used before anything runs: no such file, a folder,
an empty file, a file over ``MAX_BYTES`` (the data goes into the session), a Python pickle
(never unpickled), a file that changes while it is read. The bytes are kept as they were, so a
session stores exactly the file the run trained on and its id (``sha256:<hex>`` of the bytes)
proves it. The kind of data (``series``, ``text``, ``pairs``) follows the suffix unless given.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from rnnscope.engine.datasets.errors import DataError

MAX_BYTES = 256 * 2**20  # the largest file a session stores
SUFFIX_KINDS = {".csv": "series", ".npy": "series", ".npz": "series", ".txt": "text", ".tsv": "pairs"}
KINDS = ("series", "text", "pairs")
PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def data_id(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class DataFile:
    name: str  # the original file name (no folder)
    data: bytes
    id: str  # sha256:<hex> of data

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def suffix(self) -> str:
        return Path(self.name).suffix.lower()

    @classmethod
    def of(cls, name: str, data: bytes) -> DataFile:
        return cls(Path(name).name, bytes(data), data_id(data))


def kind_of(name: str, kind: str | None = None) -> str:
    """The kind of data in file ``name`` (``kind`` overrides the suffix)."""
    if kind:
        if kind not in KINDS:
            raise DataError(name, f"unknown data kind {kind!r}; choose {', '.join(KINDS)}")
        return kind
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIX_KINDS:
        known = ", ".join(f"{s} ({k})" for s, k in SUFFIX_KINDS.items())
        raise DataError(
            name, f"cannot tell the kind of data from {suffix or 'no suffix'}: {known}; or give the kind"
        )
    return SUFFIX_KINDS[suffix]


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def read_file(path: str | os.PathLike[str], max_bytes: int = MAX_BYTES) -> DataFile:
    p = Path(path)
    try:
        before = p.stat()
    except FileNotFoundError:
        raise DataError(p, "no such file") from None
    except OSError as exc:
        raise DataError(p, f"cannot read: {exc.strerror or exc}") from None
    if p.is_dir():
        raise DataError(p, "a folder, not a data file")
    if before.st_size == 0:
        raise DataError(p, "empty file (0 bytes)")
    if before.st_size > max_bytes:
        raise DataError(
            p,
            f"{_mb(before.st_size)} is more than a session stores ({_mb(max_bytes)}): "
            "use a part of it (fewer rows or columns, e.g. with head or tail)",
        )
    try:
        data = p.read_bytes()
        after = p.stat()
    except OSError as exc:
        raise DataError(p, f"cannot read: {exc.strerror or exc}") from None
    if len(data) != after.st_size or (after.st_mtime_ns, after.st_size) != (
        before.st_mtime_ns,
        before.st_size,
    ):
        raise DataError(
            p,
            "the file changed while it was read (is it still being written?): try again when it is complete",
        )
    if data.startswith(PICKLE_MAGIC):
        raise DataError(
            p, "a Python pickle: rnnscope never unpickles a file (save arrays with numpy.save, or as CSV)"
        )
    return DataFile.of(p.name, data)
