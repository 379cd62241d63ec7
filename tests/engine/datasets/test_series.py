"""Time series from CSV and NumPy files, and each way such a file can be wrong."""

from __future__ import annotations

import io

import numpy as np
import pytest

from rnnscope.engine.datasets import DataError, DataFile, read_series


def csv(text: str, name: str = "s.csv") -> DataFile:
    return DataFile.of(name, text.encode())


def npy(array: np.ndarray, name: str = "a.npy", **kw) -> DataFile:
    buf = io.BytesIO()
    np.save(buf, array, **kw)
    return DataFile.of(name, buf.getvalue())


def test_columns_rows_and_series_ids() -> None:
    s = read_series(
        csv("t,id,a,b\n1,x,1,10\n1,y,5,50\n2,x,2,20\n2,y,6,60\n3,x,3,30\n"),
        time_column="t",
        series_column="id",
    )
    assert s.columns == ("a", "b") and s.series_names == ("x", "y") and s.rows == 5
    assert s.series[0].tolist() == [[1, 10], [2, 20], [3, 30]] and s.series[1].tolist() == [[5, 50], [6, 60]]
    assert read_series(csv("a,b\n1,2\n3,4\n"), ("b",)).series[0].tolist() == [[2], [4]]


def test_the_fast_and_the_exact_reader_agree() -> None:
    plain = read_series(csv("a,b\n1.5,2\n\n3,4e-3\n"))  # numpy's parser (a blank line skipped)
    quoted = read_series(csv('a,b\n"1.5",2\n\n3,"4e-3"\n'))  # quotes: the line-by-line reader
    assert plain.series[0].tolist() == quoted.series[0].tolist() == [[1.5, 2.0], [3.0, 0.004]]
    crlf = read_series(csv("a,b\r\n1,2\r\n3,4\r\n"))
    assert crlf.series[0].tolist() == [[1, 2], [3, 4]]


@pytest.mark.parametrize(
    ("text", "kw", "says"),
    [
        ("a,b,c\n1,2,3\n4,5\n", {}, "s.csv, line 3: 2 cells where the header has 3 (a ragged row)"),
        ('a,b\n"1",2\n3,4,5\n', {}, "s.csv, line 3: 3 cells where the header has 2 (a ragged row)"),
        ("a,b\n1,2\n3,x7\n", {}, "s.csv, line 3, column 'b': not a number: 'x7'"),
        ("a,b\n1,2\n3,\n", {}, "s.csv, line 3, column 'b': an empty cell (a missing value)"),
        ("a,b\n1,nan\n3,inf\n", {}, "s.csv, line 2, column 'b': nan is not a finite number"),
        ("a,b\n1,2\n", {"columns": ("a", "c")}, "s.csv, column 'c': no such column; the file has a, b"),
        ("a,b\n1,2\n", {"time_column": "time"}, "s.csv, column 'time': no such column"),
        ("a,a\n1,2\n", {}, "s.csv, line 1, column 'a': this column name appears twice in the header"),
        ("a,\n1,2\n", {}, "s.csv, line 1: header cell 2 is empty"),
        ("\n1,2\n", {}, "s.csv, line 1: the first line is empty"),
        ("a,b\n", {}, "s.csv: no data rows after the header"),
        (
            "t,a\n1,1\n3,2\n2,3\n",
            {"time_column": "t"},
            "s.csv, column 't': time goes back (3 then 2): sort the rows by time",
        ),
    ],
)
def test_each_bad_csv_is_named_by_line_and_column(text: str, kw: dict, says: str) -> None:
    with pytest.raises(DataError) as err:
        read_series(csv(text), **kw)
    assert says in str(err.value)


def test_not_text_at_all() -> None:
    with pytest.raises(DataError, match=r"s.csv, line 2: a binary file, not text \(a NUL byte\)"):
        read_series(DataFile.of("s.csv", b"a,b\n\x00\x01\x02"))
    with pytest.raises(DataError, match=r"s.csv, line 2: not UTF-8 text: byte 0xe9 at offset 7"):
        read_series(DataFile.of("s.csv", "a,b\ncaf\u00e9,1\n".encode("latin-1")))


def test_rows_with_missing_or_nonfinite_values_can_be_dropped_and_are_counted() -> None:
    for text in ("a,b\n1,2\n3,nan\n5,\n7,8\n", 'a,b\n"1",2\n3,nan\n5,\n7,8\n'):
        s = read_series(csv(text), drop_nonfinite=True)
        assert s.series[0].tolist() == [[1, 2], [7, 8]] and s.dropped == 2
    with pytest.raises(DataError, match="not a number: 'x'"):  # text is never a missing value
        read_series(csv("a,b\n1,x\n"), drop_nonfinite=True)


def test_numpy_arrays_one_or_several_series() -> None:
    one = read_series(npy(np.arange(6.0).reshape(3, 2)))
    assert one.columns == ("0", "1") and one.series[0].tolist() == [[0, 1], [2, 3], [4, 5]]
    many = read_series(npy(np.arange(12, dtype=np.int32).reshape(2, 3, 2)), ("1",))
    assert [s.tolist() for s in many.series] == [[[1], [3], [5]], [[7], [9], [11]]]
    buf = io.BytesIO()
    np.savez(buf, series=np.ones((4, 1)))
    assert read_series(DataFile.of("z.npz", buf.getvalue())).rows == 4


@pytest.mark.parametrize(
    ("df", "says"),
    [
        (
            npy(np.array([{"a": 1}], dtype=object), allow_pickle=True),
            "a.npy: holds Python objects (a pickle payload): refused",
        ),
        (npy(np.array(["a", "b"])), "a.npy: its values are <U1, not numbers"),
        (npy(np.ones(5)), "a.npy: shape (5,): expected (T, F) or (N, T, F)"),
        (npy(np.array([[1.0], [np.nan]])), "a.npy, column '0': step 1: nan is not a finite number"),
        (DataFile.of("a.npy", b"\x93NUMPY broken"), "a.npy: not a readable NumPy file"),
    ],
)
def test_bad_numpy_files(df: DataFile, says: str) -> None:
    with pytest.raises(DataError) as err:
        read_series(df)
    assert says in str(err.value)


def test_an_npz_with_several_arrays_says_which() -> None:
    buf = io.BytesIO()
    np.savez(buf, x=np.ones((4, 1)), y=np.ones((4, 1)))
    with pytest.raises(DataError, match=r"z.npz: holds 2 arrays \(x, y\): save one array"):
        read_series(DataFile.of("z.npz", buf.getvalue()))
    buf = io.BytesIO()
    np.savez(buf, x=np.array([None, 1], dtype=object))
    with pytest.raises(DataError, match="pickle payload"):
        read_series(DataFile.of("z.npz", buf.getvalue()))
