"""Paired sequences for Seq2Seq: a TSV with the source in column 1 and the target in column 2.

Further columns are ignored (the PyTorch seq2seq tutorial's eng-fra.txt has them), blank lines
are skipped; a line without a tab, or with an empty source or target, is refused with its
line number. ``read_pairs`` gives the pairs in file order, tokenised (engine.datasets.text).
"""

from __future__ import annotations

from rnnscope.engine.datasets.errors import DataError
from rnnscope.engine.datasets.files import DataFile
from rnnscope.engine.datasets.text import tokens
from rnnscope.engine.datasets.text_bytes import decode


def read_pairs(df: DataFile, level: str) -> list[tuple[list[str], list[str]]]:
    out: list[tuple[list[str], list[str]]] = []
    for n, raw in enumerate(decode(df).split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if "\t" not in line:
            raise DataError(df.name, "no tab in this line: a pair is source<TAB>target", line=n)
        src, tgt = line.split("\t")[:2]
        for what, text in (("source", src), ("target", tgt)):
            if not text.strip():
                raise DataError(
                    df.name, f"the {what} (column {1 if what == 'source' else 2}) is empty", line=n
                )
        out.append((tokens(src.strip(), level), tokens(tgt.strip(), level)))
    if not out:
        raise DataError(df.name, "no pairs in it (every line is blank)")
    return out
