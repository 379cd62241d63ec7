"""Time series from a CSV file or a NumPy array: numeric columns, one row per timestep.

CSV: a header row, then one row per timestep; the columns a run uses must be numbers. An
optional *time* column (its values must not go back within a series when they are numbers)
and an optional *series id* column, which splits the rows into several series (rows of a
series keep their file order). NumPy: ``.npy`` shaped (T, F) (one series) or (N, T, F)
(N series), columns named ``0`` .. ``F-1``; ``.npz`` holding one such array. Loaded with
``allow_pickle=False``: an object array is refused, never unpickled.

NaN, Inf and empty cells are refused with the line and column of the first one, unless the
caller drops such rows (``drop_nonfinite``), which the result counts. Large files take numpy's
C parser; the slow line-by-line scan only runs to name a problem.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from dataclasses import dataclass

import numpy as np

from rnnscope.engine.datasets.errors import DataError
from rnnscope.engine.datasets.files import DataFile
from rnnscope.engine.datasets.text_bytes import check_text, decode

CHUNK = 16 * 2**20
_NOT_SPACE = re.compile(rb"\S")


@dataclass(frozen=True)
class SeriesData:
    name: str  # the file's
    columns: tuple[str, ...]  # the columns read, in the order asked
    series: tuple[np.ndarray, ...]  # each (T_i, len(columns)) float64, in time order
    series_names: tuple[str, ...]
    all_columns: tuple[str, ...]  # every column of the file (CSV header; NumPy 0..F-1)
    dropped: int = 0  # rows dropped for a missing or non-finite value

    @property
    def rows(self) -> int:
        return sum(len(s) for s in self.series)


def split_names(text: str) -> tuple[str, ...]:
    """``"a, b,c"`` -> ("a", "b", "c")."""
    return tuple(n.strip() for n in text.split(",") if n.strip())


def read_series(
    df: DataFile,
    columns: tuple[str, ...] = (),
    *,
    time_column: str = "",
    series_column: str = "",
    drop_nonfinite: bool = False,
) -> SeriesData:
    """The series of ``df`` with ``columns`` (default: every column but the time and id ones)."""
    if df.suffix in (".npy", ".npz"):
        if time_column or series_column:
            raise DataError(
                df.name, "a NumPy array has no named columns: time and series-id columns are for CSV"
            )
        return _read_numpy(df, columns, drop_nonfinite)
    return _read_csv(df, columns, time_column, series_column, drop_nonfinite)


# ---------------------------------------------------------------- CSV
def _header(df: DataFile) -> list[str]:
    first = df.data.split(b"\n", 1)[0].decode("utf-8").lstrip("\ufeff").rstrip("\r")
    if not first.strip():
        raise DataError(df.name, "the first line is empty: it must be the header (the column names)", line=1)
    names = [n.strip() for n in next(csv.reader([first]))]
    for i, n in enumerate(names):
        if not n:
            raise DataError(df.name, f"header cell {i + 1} is empty: every column needs a name", line=1)
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise DataError(df.name, "this column name appears twice in the header", line=1, column=n)
        seen.add(n)
    return names


def _check_named(df: DataFile, names: list[str], wanted: list[str]) -> None:
    for w in wanted:
        if w not in names:
            raise DataError(df.name, f"no such column; the file has {', '.join(names)}", column=w)


def _read_csv(
    df: DataFile, columns: tuple[str, ...], time_column: str, series_column: str, drop: bool
) -> SeriesData:
    check_text(df)
    names = _header(df)
    _check_named(df, names, [c for c in (time_column, series_column) if c])
    use = list(columns) or [n for n in names if n not in (time_column, series_column)]
    _check_named(df, names, use)
    if not use:
        raise DataError(df.name, "no column to read besides the time and series-id columns")
    labels = [c for c in (series_column, time_column) if c]
    data = df.data
    body = data.find(b"\n") + 1 if b"\n" in data else len(data)  # (no copies of a large file)
    if data.find(b'"', body) >= 0 or data.count(b"\r") != data.count(b"\r\n"):
        values, extra, dropped = _scan(df, decode(df), names, use, labels, drop)
    else:
        values, extra, dropped = _fast(df, body, names, use, labels, drop)
    if len(values) == 0:
        raise DataError(
            df.name, "no data rows after the header" + (f" ({dropped} dropped)" if dropped else "")
        )
    ids = extra[0] if series_column else None
    times = extra[-1] if time_column else None
    return _group(df, values, ids, times, tuple(use), tuple(names), dropped, time_column)


def _lines(df: DataFile) -> io.TextIOWrapper:
    """The file's text as numpy's parser reads a file (decoded as it goes: no copy of it all)."""
    return io.TextIOWrapper(io.BytesIO(df.data), encoding="utf-8-sig", newline="")


def _fast(
    df: DataFile, body: int, names: list[str], use: list[str], labels: list[str], drop: bool
) -> tuple[np.ndarray, list[np.ndarray], int]:
    """numpy's C parser: the value columns, and a time column that holds numbers, in one pass
    (``body``: the offset of the line after the header)."""
    _check_ragged(df, names)
    if _NOT_SPACE.search(df.data, body) is None:
        return np.empty((0, len(use))), [np.empty(0, dtype=str) for _ in labels], 0
    idx = [names.index(c) for c in use]
    kw: dict = {"delimiter": ",", "skiprows": 1, "ndmin": 2, "comments": None}
    numeric = [c for c in labels if c not in use]
    try:
        try:  # the time (and id) columns as numbers too, when they are
            both = np.loadtxt(
                _lines(df), usecols=[*idx, *(names.index(c) for c in numeric)], dtype=np.float64, **kw
            )
            values = both[:, : len(idx)]
            extra = [
                both[:, len(idx) + numeric.index(c)] if c in numeric else both[:, use.index(c)]
                for c in labels
            ]
        except ValueError:
            if not labels:
                raise
            values = np.loadtxt(_lines(df), usecols=idx, dtype=np.float64, **kw)
            extra = [
                np.loadtxt(_lines(df), usecols=(names.index(c),), dtype=str, **{**kw, "ndmin": 1})
                for c in labels
            ]
    except ValueError:
        return _scan(df, decode(df), names, use, labels, drop)  # names the line, the column and what is wrong
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        if not drop:
            return _scan(df, decode(df), names, use, labels, drop)
        keep = ~bad
        return values[keep], [e[keep] for e in extra], int(bad.sum())
    return values, extra, 0


def _check_ragged(df: DataFile, names: list[str]) -> None:
    """Every line has as many cells as the header (files without quotes: commas per line,
    counted by numpy a chunk at a time; blank lines are skipped, as the parser skips them)."""
    want = len(names) - 1
    data = df.data
    line, start = 1, 0
    while start < len(data):
        end = data.find(b"\n", min(start + CHUNK, len(data)))
        end = len(data) if end < 0 else end + 1
        chunk = np.frombuffer(data, np.uint8, count=end - start, offset=start)
        newlines = np.flatnonzero(chunk == 10)
        starts = np.concatenate([[0], newlines + 1])
        stops = np.concatenate([newlines, [len(chunk)]])
        if starts[-1] == len(chunk):  # the chunk ends with a newline: no line after it
            starts, stops = starts[:-1], stops[:-1]
        commas = (
            np.add.reduceat(chunk == 44, starts, dtype=np.int64) if len(starts) else np.empty(0, np.int64)
        )
        commas[stops == starts] = want  # an empty line
        for i in np.flatnonzero(commas != want):
            n = line + int(i)
            if n > 1 and data[start + starts[i] : start + stops[i]].strip():
                raise DataError(
                    df.name, f"{commas[i] + 1} cells where the header has {len(names)} (a ragged row)", line=n
                )
        line += len(starts)
        start = end


def _scan(
    df: DataFile, text: str, names: list[str], use: list[str], labels: list[str], drop: bool
) -> tuple[np.ndarray, list[np.ndarray], int]:
    """The slow, exact reader: the first problem is named by line and column."""
    idx = [names.index(c) for c in use]
    lab = [names.index(c) for c in labels]
    reader = csv.reader(io.StringIO(text))
    next(reader)
    rows: list[list[float]] = []
    extra: list[list[str]] = [[] for _ in labels]
    dropped = 0
    for row in reader:
        line = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line
        if len(row) != len(names):
            raise DataError(
                df.name, f"{len(row)} cells where the header has {len(names)} (a ragged row)", line=line
            )
        out: list[float] = []
        skip = False
        for i in idx:
            cell = row[i].strip()
            if not cell:
                if drop:
                    skip = True
                    break
                raise DataError(
                    df.name,
                    "an empty cell (a missing value): fill it in, or drop rows with missing or non-finite values",
                    line=line,
                    column=names[i],
                )
            try:
                v = float(cell)
            except ValueError:
                raise DataError(
                    df.name,
                    f"not a number: {cell!r} (a time or id column? name it as the time or series-id column, "
                    "or choose the inputs)",
                    line=line,
                    column=names[i],
                ) from None
            if not math.isfinite(v):
                if drop:
                    skip = True
                    break
                raise DataError(
                    df.name,
                    f"{cell} is not a finite number: drop rows with missing or non-finite values, or fix it",
                    line=line,
                    column=names[i],
                )
            out.append(v)
        if skip:
            dropped += 1
            continue
        rows.append(out)
        for e, i in zip(extra, lab, strict=True):
            e.append(row[i].strip())
    values = np.array(rows, dtype=np.float64).reshape(len(rows), len(idx))
    return values, [np.array(e, dtype=str) for e in extra], dropped


def _group(
    df: DataFile,
    values: np.ndarray,
    ids: np.ndarray | None,
    times: np.ndarray | None,
    use: tuple[str, ...],
    names: tuple[str, ...],
    dropped: int,
    time_column: str,
) -> SeriesData:
    if ids is None:
        groups = [("all", np.arange(len(values)))]
    else:
        uniq, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
        order = np.argsort(first)
        label = (lambda v: f"{v:g}") if uniq.dtype.kind == "f" else str
        groups = [(label(uniq[k]), np.flatnonzero(inverse == k)) for k in order]
    if times is not None:
        try:
            t = times.astype(np.float64)
        except ValueError:
            t = None  # dates or labels: kept in file order
        if t is not None:
            for name, rows in groups:
                back = np.flatnonzero(np.diff(t[rows]) < 0)
                if len(back):
                    where = f" in series {name}" if ids is not None else ""
                    raise DataError(
                        df.name,
                        f"time goes back{where} ({t[rows][back[0]]:g} then {t[rows][back[0] + 1]:g}): sort the rows by time",
                        column=time_column,
                    )
    return SeriesData(
        df.name, use, tuple(values[rows] for _, rows in groups), tuple(n for n, _ in groups), names, dropped
    )


# ---------------------------------------------------------------- NumPy
def numpy_arrays(df: DataFile) -> dict[str, np.ndarray]:
    """The arrays of a .npy (key "") or .npz file, loaded with ``allow_pickle=False``: an object
    array is refused as a pickle payload, an unreadable file by what numpy says."""
    try:
        loaded = np.load(io.BytesIO(df.data), allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                return {k: loaded[k] for k in loaded.files}
        return {"": loaded}
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise DataError(
                df.name, "holds Python objects (a pickle payload): refused, nothing was unpickled"
            ) from None
        raise DataError(df.name, f"not a readable NumPy file: {exc}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(df.name, f"not a readable NumPy file: {exc}") from None


def _read_numpy(df: DataFile, columns: tuple[str, ...], drop: bool) -> SeriesData:
    arrays = numpy_arrays(df)
    if len(arrays) != 1:
        raise DataError(
            df.name,
            f"holds {len(arrays)} arrays ({', '.join(arrays) or 'none'}): save one array (T, F) or (N, T, F)",
        )
    (array,) = arrays.values()
    if array.dtype.kind not in "biuf":
        raise DataError(df.name, f"its values are {array.dtype}, not numbers")
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or 0 in array.shape:
        raise DataError(df.name, f"shape {tuple(array.shape)}: expected (T, F) or (N, T, F), none of them 0")
    n, _, f = array.shape
    names = tuple(str(i) for i in range(f))
    use = list(columns) or list(names)
    _check_named(df, list(names), use)
    idx = [names.index(c) for c in use]
    data = array[:, :, idx].astype(np.float64)
    series, dropped = [], 0
    for k in range(n):
        s = data[k]
        bad = ~np.isfinite(s).all(axis=1)
        if bad.any():
            if not drop:
                t = int(np.flatnonzero(bad)[0])
                col = use[int(np.flatnonzero(~np.isfinite(s[t]))[0])]
                where = f"series {k}, " if n > 1 else ""
                raise DataError(
                    df.name,
                    f"{where}step {t}: {s[t, use.index(col)]} is not a finite number: "
                    "drop rows with missing or non-finite values, or fix it",
                    column=col,
                )
            dropped += int(bad.sum())
            s = s[~bad]
        series.append(s)
    return SeriesData(df.name, tuple(use), tuple(series), tuple(str(k) for k in range(n)), names, dropped)
