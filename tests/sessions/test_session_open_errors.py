"""Bad files: a clear SessionError naming the file and the problem, and the file left untouched."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from rnnscope.sessions import LiveSession, Session, SessionError
from rnnscope.sessions.cli import export_step, info

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    + b"\x00" * 64
)


def _snapshot(path: Path) -> tuple[bytes, int, list[str]]:
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(path.parent))


def _good_copy(src: Path, dst: Path) -> Path:
    shutil.copy(src, dst)
    return dst


def _newer(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value='7' WHERE key='format'")
    conn.commit()
    conn.close()
    return path


def _foreign_sqlite(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO photos(name) VALUES ('cat')")
    conn.commit()
    conn.close()
    return path


def _no_steps_table(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE frames")
    conn.commit()
    conn.close()
    return path


@pytest.fixture(scope="module")
def good_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from session_fixtures import tiny_config

    from rnnscope.engine import Trainer

    path = tmp_path_factory.mktemp("good") / "good.rnnscope"
    with LiveSession.create(path, Trainer(tiny_config())) as live:
        live.run(12)
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


CASES = {
    "zero-length": (lambda p, g: _write(p, b""), "empty file \\(0 bytes\\)"),
    "tiny": (lambda p, g: _write(p, b"SQLite fo"), "truncated: only 9 bytes"),
    "png": (lambda p, g: _write(p, PNG), "not an rnnscope session \\(it looks like a PNG image\\)"),
    "text": (
        lambda p, g: _write(p, b"loss,step\n1,2\n"),
        "not an rnnscope session \\(it looks like a text file\\)",
    ),
    "npz": (lambda p, g: _write(p, b"PK\x03\x04" + b"\x00" * 200), "a zip archive"),
    "truncated-half": (
        lambda p, g: _write(p, g.read_bytes()[: g.stat().st_size // 2]),
        "truncated: the header says",
    ),
    "truncated-odd": (lambda p, g: _write(p, g.read_bytes()[:5000]), "truncated: 5000 bytes"),
    "newer": (
        lambda p, g: _newer(_good_copy(g, p)),
        "newer rnnscope \\(session format 7; this version reads up to 1\\)",
    ),
    "wrong-schema": (
        lambda p, g: _foreign_sqlite(p),
        "an SQLite database but not an rnnscope session \\(tables photos\\)",
    ),
    "damaged-schema": (lambda p, g: _no_steps_table(_good_copy(g, p)), "table 'frames' is missing"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_file_is_refused_clearly_and_left_untouched(case: str, tmp_path: Path, good_file: Path) -> None:
    make, message = CASES[case]
    path = make(tmp_path / f"{case}.rnnscope", good_file)
    before = _snapshot(path)
    for opener in (
        Session.open,
        info,
        LiveSession.resume,
        lambda p: export_step(p, 0, "npz", tmp_path / "out.npz"),
    ):
        with pytest.raises(SessionError, match=message) as err:
            opener(path)
        assert str(path) in str(err.value)
        assert "Traceback" not in str(err.value)
    assert _snapshot(path) == before  # same bytes, same mtime, no side files (-wal, -shm, out.npz)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="no such file") as err:
        Session.open(tmp_path / "nope.rnnscope")
    assert str(tmp_path / "nope.rnnscope") in str(err.value)
    with pytest.raises(SessionError, match="not a file"):
        Session.open(tmp_path)


def test_garbage_in_the_middle_is_reported_not_crashed(tmp_path: Path, good_file: Path) -> None:
    path = _good_copy(good_file, tmp_path / "bitrot.rnnscope")
    data = bytearray(path.read_bytes())
    for page in range(1, len(data) // 4096):  # wipe every b-tree page header after the first
        data[page * 4096 : page * 4096 + 16] = b"\xa5" * 16
    path.write_bytes(bytes(data))
    with (
        pytest.raises(SessionError, match=r"bitrot\.rnnscope: .*(corrupt|malformed|damaged)"),
        Session.open(path) as s,
    ):
        s.summaries()
        for k in range(len(s)):
            s.record(k)


def test_creating_over_an_existing_file_needs_overwrite(tmp_path: Path, good_file: Path) -> None:
    from session_fixtures import tiny_config

    from rnnscope.engine import Trainer

    path = _good_copy(good_file, tmp_path / "keep.rnnscope")
    before = _snapshot(path)
    with pytest.raises(SessionError, match="already exists"):
        LiveSession.create(path, Trainer(tiny_config()))
    assert _snapshot(path) == before
    with pytest.raises(SessionError, match="does not exist"):
        LiveSession.create(tmp_path / "no" / "such" / "dir.rnnscope", Trainer(tiny_config()))
