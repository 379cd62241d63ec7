"""DataError: what is wrong with a user's data file, naming the file, the line and the column."""

from __future__ import annotations

import os
from pathlib import Path


class DataError(ValueError):
    """``file: line L, column 'c': problem`` (the parts that are known)."""

    def __init__(
        self,
        file: str | os.PathLike[str] | None,
        problem: str,
        *,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = None if file is None else Path(file).name
        self.problem, self.line, self.column = problem, line, column
        where = [w for w in (self.file, None if line is None else f"line {line}") if w]
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {problem}" if where else problem)
