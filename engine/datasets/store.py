"""The data files of this process, by content id: what a data task reads its data from.

A task is built from a TrainConfig, which names its data by id (``TrainConfig.data``); the
file itself is registered here first: by the command line or the window when the user picks
it, and by ``sessions`` when a session that stores it is opened (so a replay on another
machine trains on the very bytes the run did).
"""

from __future__ import annotations

import threading

from rnnscope.engine.datasets.errors import DataError
from rnnscope.engine.datasets.files import DataFile, data_id

_FILES: dict[str, DataFile] = {}
_LOCK = threading.Lock()


def register(df: DataFile) -> DataFile:
    """Keep ``df`` (its id is checked against its bytes); returns the one kept."""
    if data_id(df.data) != df.id:
        raise DataError(df.name, f"its bytes do not match its id {df.id[:19]}… (a damaged copy)")
    with _LOCK:
        return _FILES.setdefault(df.id, df)


def get(id: str) -> DataFile:
    with _LOCK:
        df = _FILES.get(id)
    if df is None:
        raise DataError(
            None,
            f"the data {id[:19]}… is not loaded: open the session that stores it, or give the file (--data FILE)",
        )
    return df


def known(id: str) -> bool:
    with _LOCK:
        return id in _FILES
