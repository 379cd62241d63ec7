"""Text for a language model, and the vocabularies of the text and pair tasks.

``tokens(text, level)``: characters, or whitespace-separated words. ``vocabulary(tokens,
specials, cap)``: the specials first, then (characters) every character sorted, or (words)
the ``cap`` most frequent words, the more frequent first, ties in order of first appearance.
A vocabulary is built from the training part only; anything else reads as ``<unk>``.
"""

from __future__ import annotations

from collections import Counter

from rnnscope.engine.datasets.errors import DataError
from rnnscope.engine.datasets.files import DataFile
from rnnscope.engine.datasets.text_bytes import decode

UNK = "<unk>"
LEVELS = ("char", "word")


def unit_of(level: str) -> str:
    """What one token is called in messages: "character" or "word"."""
    return "character" if level == "char" else "word"


def tokens(text: str, level: str) -> list[str]:
    if level == "char":
        return list(text)
    if level == "word":
        return text.split()
    raise ValueError(f"tokens must be one of {', '.join(LEVELS)}; got {level!r}")


def vocabulary(train: list[str], specials: tuple[str, ...], level: str, cap: int) -> tuple[str, ...]:
    if level == "char":
        kept = sorted(set(train) - set(specials))
    else:
        counts = Counter(train)
        first: dict[str, int] = {}
        for i, t in enumerate(train):
            first.setdefault(t, i)
        ranked = sorted(counts, key=lambda t: (-counts[t], first[t]))
        kept = [t for t in ranked if t not in specials][: max(0, cap - len(specials))]
    return (*specials, *kept)


def read_text(df: DataFile, level: str) -> list[str]:
    """The tokens of a text file; refuses an empty or blank text."""
    text = decode(df)
    out = tokens(text, level)
    if not out or not text.strip():
        raise DataError(df.name, "no text in it (only white space)")
    return out
