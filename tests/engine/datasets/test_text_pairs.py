"""Texts and pairs: tokens, vocabularies from the training part, and each bad line named."""

from __future__ import annotations

import pytest

from rnnscope.engine.datasets import DataError, DataFile
from rnnscope.engine.datasets.pairs import read_pairs
from rnnscope.engine.datasets.text import UNK, read_text, tokens, vocabulary


def test_tokens_and_vocabularies() -> None:
    assert tokens("ab a", "char") == ["a", "b", " ", "a"] and tokens(" the cat\nthe  dog ", "word") == [
        "the",
        "cat",
        "the",
        "dog",
    ]
    assert vocabulary(list("banana"), (UNK,), "char", 99) == (UNK, "a", "b", "n")
    words = ["b", "a", "a", "c", "c", "c", "d"]
    assert vocabulary(words, (UNK,), "word", 3) == (UNK, "c", "a")  # the most frequent first, then first seen
    assert vocabulary(words, (UNK,), "word", 99) == (UNK, "c", "a", "b", "d")


def test_a_blank_text_is_refused() -> None:
    with pytest.raises(DataError, match=r"t\.txt: no text in it"):
        read_text(DataFile.of("t.txt", b" \n\n "), "char")


def test_pairs_read_two_columns_and_name_bad_lines() -> None:
    df = DataFile.of("p.tsv", b"Go.\tVa !\tCC-BY 2.0 (France) Attribution\n\nHi.\tSalut !\n")
    assert read_pairs(df, "word") == [(["Go."], ["Va", "!"]), (["Hi."], ["Salut", "!"])]
    assert read_pairs(df, "char")[1] == (list("Hi."), list("Salut !"))
    for text, says in (
        ("a\tb\nno tab here\n", "p.tsv, line 2: no tab in this line: a pair is source<TAB>target"),
        ("a\t \n", "p.tsv, line 1: the target (column 2) is empty"),
        ("\tb\n", "p.tsv, line 1: the source (column 1) is empty"),
        ("\n\n", "p.tsv: no pairs in it"),
    ):
        with pytest.raises(DataError) as err:
            read_pairs(DataFile.of("p.tsv", text.encode()), "char")
        assert says in str(err.value)
