"""Bytes to text for the text formats (CSV, TXT, TSV): UTF-8 or a message naming where it is not."""

from __future__ import annotations

from rnnscope.engine.datasets.errors import DataError
from rnnscope.engine.datasets.files import DataFile


def decode(df: DataFile) -> str:
    """The file as text (a UTF-8 byte-order mark dropped); refuses binary and non-UTF-8 files."""
    data = df.data
    head = data[:4096]
    if b"\x00" in head:
        raise DataError(df.name, "a binary file, not text (it holds NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            df.name,
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} (save it as UTF-8)",
            line=line,
        ) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise DataError(df.name, "a binary file, not text (a NUL character)", line=line)
    return text[1:] if text.startswith("\ufeff") else text
