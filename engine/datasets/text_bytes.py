"""Bytes to text for the text formats (CSV, TXT, TSV): UTF-8 or a message naming where it is not."""

from __future__ import annotations

from rnnscope.engine.datasets.errors import DataError
from rnnscope.engine.datasets.files import DataFile


def _refuse_binary(df: DataFile) -> None:
    nul = df.data.find(b"\x00")
    if nul >= 0:
        raise DataError(
            df.name, "a binary file, not text (a NUL byte)", line=df.data.count(b"\n", 0, nul) + 1
        )


def check_text(df: DataFile) -> None:
    """Refuse a binary or non-UTF-8 file without making a str of it (an ASCII file costs one scan)."""
    if df.data.isascii():
        _refuse_binary(df)
        return
    decode(df)


def decode(df: DataFile) -> str:
    """The file as text (a UTF-8 byte-order mark dropped); refuses binary and non-UTF-8 files."""
    _refuse_binary(df)
    data = df.data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            df.name,
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} (save it as UTF-8)",
            line=line,
        ) from None
    return text[1:] if text.startswith("\ufeff") else text
