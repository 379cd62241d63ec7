"""Reading a data file: every refusal names the file and the problem; nothing is unpickled."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from rnnscope.engine.datasets import DataError, DataFile, kind_of, read_file, store
from rnnscope.engine.datasets.files import data_id


def test_a_file_is_kept_as_its_bytes_with_its_content_id(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_bytes(b"x\n1\n2\n")
    df = read_file(p)
    assert df.name == "a.csv" and df.data == b"x\n1\n2\n" and df.size == 6
    assert df.id == data_id(b"x\n1\n2\n") and df.id.startswith("sha256:") and len(df.id) == 7 + 64
    assert store.register(df) is store.get(df.id)


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda d: d / "missing.csv", "missing.csv: no such file"),
        (lambda d: d, "a folder, not a data file"),
        (
            lambda d: (d / "empty.csv", (d / "empty.csv").write_bytes(b""))[0],
            "empty.csv: empty file (0 bytes)",
        ),
        (
            lambda d: (d / "p.npy", (d / "p.npy").write_bytes(pickle.dumps([1, 2])))[0],
            "p.npy: a Python pickle: rnnscope never unpickles a file",
        ),
    ],
)
def test_unusable_files_are_refused_by_name(tmp_path: Path, make, says: str) -> None:
    with pytest.raises(DataError) as err:
        read_file(make(tmp_path))
    assert says in str(err.value)


def test_a_file_over_the_limit_is_refused_with_what_to_do(tmp_path: Path) -> None:
    p = tmp_path / "big.csv"
    p.write_bytes(b"x\n" + b"1\n" * 600_000)
    with pytest.raises(
        DataError, match=r"big.csv: 1.1 MB is more than a session stores \(1.0 MB\): use a part of it"
    ):
        read_file(p, max_bytes=2**20)


def test_a_file_that_changes_while_it_is_read_is_refused(tmp_path: Path, monkeypatch) -> None:
    p = tmp_path / "growing.csv"
    p.write_bytes(b"x\n1\n")
    real = Path.read_bytes

    def read_then_append(self: Path) -> bytes:
        data = real(self)
        with open(self, "ab") as fh:  # another program writes on meanwhile
            fh.write(b"2\n")
        return data

    monkeypatch.setattr(Path, "read_bytes", read_then_append)
    with pytest.raises(DataError, match=r"growing\.csv: the file changed while it was read"):
        read_file(p)


def test_the_kind_follows_the_suffix_unless_given() -> None:
    assert [kind_of(n) for n in ("a.CSV", "b.npy", "c.npz", "d.txt", "e.tsv")] == [
        "series", "series", "series", "text", "pairs",
    ]  # fmt: skip
    assert kind_of("eng-fra.txt", "pairs") == "pairs"
    with pytest.raises(DataError, match=r"data.json: cannot tell the kind of data from .json"):
        kind_of("data.json")
    with pytest.raises(DataError, match="unknown data kind 'images'"):
        kind_of("a.csv", "images")


def test_a_registered_file_must_match_its_id_and_an_unknown_id_says_what_to_do() -> None:
    with pytest.raises(DataError, match="do not match its id"):
        store.register(DataFile("x.csv", b"changed", data_id(b"original")))
    with pytest.raises(
        DataError, match=r"is not loaded: open the session that stores it, or give the file \(--data FILE\)"
    ):
        store.get(data_id(np.random.default_rng(1).bytes(16)))
