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
import zipfile
from dataclasses import dataclass
from itertools import repeat

import numpy as np

from rnnscope.engine.datasets.errors import DataError
from rnnscope.engine.datasets.files import DataFile
from rnnscope.engine.datasets.text_bytes import decode

CHUNK = 16 * 2**20


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
def _header(df: DataFile, text: str) -> tuple[list[str], int]:
    first = text.split("\n", 1)[0].rstrip("\r")
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
    return names, len(first.encode("utf-8"))


def _check_named(df: DataFile, names: list[str], wanted: list[str]) -> None:
    for w in wanted:
        if w not in names:
            raise DataError(df.name, f"no such column; the file has {', '.join(names)}", column=w)


def _read_csv(
    df: DataFile, columns: tuple[str, ...], time_column: str, series_column: str, drop: bool
) -> SeriesData:
    text = decode(df)
    names, _ = _header(df, text)
    _check_named(df, names, [c for c in (time_column, series_column) if c])
    use = list(columns) or [n for n in names if n not in (time_column, series_column)]
    _check_named(df, names, use)
    if not use:
        raise DataError(df.name, "no column to read besides the time and series-id columns")
    labels = [c for c in (series_column, time_column) if c]
    if '"' in text or "\r" in text.replace("\r\n", ""):
        values, extra, dropped = _scan(df, text, names, use, labels, drop)
    else:
        values, extra, dropped = _fast(df, text, names, use, labels, drop)
    if len(values) == 0:
        raise DataError(
            df.name, "no data rows after the header" + (f" ({dropped} dropped)" if dropped else "")
        )
    ids = extra[0] if series_column else None
    times = extra[-1] if time_column else None
    return _group(df, values, ids, times, tuple(use), tuple(names), dropped, time_column)


def _fast(
    df: DataFile, text: str, names: list[str], use: list[str], labels: list[str], drop: bool
) -> tuple[np.ndarray, list[np.ndarray], int]:
    _check_ragged(df, names)
    idx = [names.index(c) for c in use]
    if not text.split("\n", 1)[-1].strip() or "\n" not in text:
        return np.empty((0, len(idx))), [np.empty(0, dtype=str) for _ in labels], 0
    try:
        values = np.loadtxt(
            io.StringIO(text),
            delimiter=",",
            skiprows=1,
            usecols=idx,
            ndmin=2,
            comments=None,
            dtype=np.float64,
        )
        extra = [
            np.loadtxt(
                io.StringIO(text),
                delimiter=",",
                skiprows=1,
                usecols=(names.index(c),),
                dtype=str,
                comments=None,
                ndmin=1,
            )
            for c in labels
        ]
    except ValueError:
        return _scan(df, text, names, use, labels, drop)  # names the line, the column and what is wrong
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        if not drop:
            return _scan(df, text, names, use, labels, drop)
        keep = ~bad
        return values[keep], [e[keep] for e in extra], int(bad.sum())
    return values, extra, 0


def _check_ragged(df: DataFile, names: list[str]) -> None:
    """Every line has as many cells as the header (files without quotes: commas per line)."""
    want = len(names) - 1
    data = df.data
    line = 1
    start = 0
    while start < len(data):
        end = data.find(b"\n", min(start + CHUNK, len(data)))
        end = len(data) if end < 0 else end + 1
        lines = data[start:end].split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        counts = list(map(bytes.count, lines, repeat(b",")))
        for i, n in enumerate(counts):
            if n != want and (line + i > 1) and lines[i].strip():
                raise DataError(
                    df.name, f"{n + 1} cells where the header has {len(names)} (a ragged row)", line=line + i
                )
        line += len(lines)
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
                raise DataError(df.name, f"not a number: {cell!r}", line=line, column=names[i]) from None
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
        groups = [(str(uniq[k]), np.flatnonzero(inverse == k)) for k in order]
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
def _read_numpy(df: DataFile, columns: tuple[str, ...], drop: bool) -> SeriesData:
    try:
        loaded = np.load(io.BytesIO(df.data), allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                keys = list(loaded.files)
                if len(keys) != 1:
                    raise DataError(
                        df.name,
                        f"holds {len(keys)} arrays ({', '.join(keys) or 'none'}): save one array (T, F) or (N, T, F)",
                    )
                array = loaded[keys[0]]
        else:
            array = loaded
    except DataError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise DataError(
                df.name, "holds Python objects (a pickle payload): refused, nothing was unpickled"
            ) from None
        raise DataError(df.name, f"not a readable NumPy file: {exc}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(df.name, f"not a readable NumPy file: {exc}") from None
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
