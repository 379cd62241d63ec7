"""The user's own data: files read once, kept by content id, parsed into what a task trains on.

files.py (reading and refusing a file; ``DataFile``), store.py (the files of this process, by
id), series.py (CSV and NumPy time series), text.py (a text for a language model), pairs.py
(a TSV of source/target pairs). Every refusal is a ``DataError`` naming the file, the line and
the column. Nothing is fetched and nothing is unpickled.
"""

from rnnscope.engine.datasets import store
from rnnscope.engine.datasets.errors import DataError
from rnnscope.engine.datasets.files import KINDS, MAX_BYTES, DataFile, kind_of, read_file
from rnnscope.engine.datasets.series import SeriesData, read_series, split_names

__all__ = [
    "KINDS", "MAX_BYTES", "DataError", "DataFile", "SeriesData", "kind_of", "read_file", "read_series",
    "split_names", "store",
]  # fmt: skip
