"""`main.py train --data FILE`: the kind follows the suffix, the session stores the file, and a
bad file is one line naming the file, the line and the column (exit code 2, nothing recorded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnnscope.cli.main import main
from rnnscope.sessions import Session

SMALL = ["--hidden-size", "8", "--batch-size", "4", "--threads", "1", "--steps", "5"]


def series_csv(tmp_path: Path, rows: int = 60) -> Path:
    p = tmp_path / "series.csv"
    p.write_text("day,a,b,c\n" + "".join(f"{i},{i % 7},{(i * 3) % 5},{i % 7 + 1}\n" for i in range(rows)))
    return p


def test_series_columns_horizon_and_the_session_holding_the_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run.rnnscope"
    argv = ["train", "--data", str(series_csv(tmp_path)), "--inputs", "a,b", "--targets", "c", "--horizon", "2",
            "--time-column", "day", "--seq-len", "8", "--out", str(out), *SMALL]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    assert "training lstm on series" in capsys.readouterr().err
    with Session.open(out) as s:
        cfg = s.branch.config
        assert (cfg["task"], cfg["inputs"], cfg["targets"], cfg["horizon"]) == ("series", "a,b", "c", 2)
        assert [d.name for d in s.data_files] == ["series.csv"] and s.data_files[0].id == cfg["data"]
        assert len(s) == 5 and s.record(4).metric_name == "r2"


def test_text_and_pairs_and_the_kind_given(tmp_path: Path, capsys) -> None:
    text = tmp_path / "corpus.txt"
    text.write_text("to be or not to be that is the question " * 20)
    assert main(["train", "--data", str(text), "--seq-len", "10", *SMALL]) == 0
    assert "training lstm on text" in capsys.readouterr().err
    pairs = tmp_path / "eng-fra.txt"  # the tutorial's file: tab-separated, named .txt
    pairs.write_text("".join(f"w{i}\tm{i}\textra\n" for i in range(20)))
    assert main(["train", "--data", str(pairs), "--data-kind", "pairs", "--seq-len", "4", *SMALL]) == 0
    assert "training lstm on pairs" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "extra", "says"),
    [
        ("day,a\n0,1\n1,2,3\n", [], "series.csv, line 3: 3 cells where the header has 2 (a ragged row)"),
        ("day,a\n0,1\n1,oops\n", [], "series.csv, line 3, column 'a': not a number: 'oops'"),
        ("day,a\n0,1\n1,NaN\n", [], "series.csv, line 3, column 'a': NaN is not a finite number"),
        (
            "day,a\n" + "".join(f"{i},{i}\n" for i in range(60)),
            ["--inputs", "speed"],
            "series.csv, column 'speed': no such column; the file has day, a",
        ),
        ("day,a\n0,1\n1,2\n", [], "series.csv: the training part is shorter than one window"),
        ("", [], "series.csv: empty file (0 bytes)"),
    ],
)
def test_a_bad_series_file_is_one_line_and_records_nothing(
    tmp_path: Path, capsys, content: str, extra, says
) -> None:
    p = tmp_path / "series.csv"
    p.write_text(content)
    out = tmp_path / "run.rnnscope"
    assert main(["train", "--data", str(p), "--seq-len", "8", "--out", str(out), *extra, *SMALL]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnscope: error: ") and says in err and err.count("\n") == 1, err
    assert not out.exists()


def test_nan_rows_can_be_dropped_and_other_mistakes_are_named(tmp_path: Path, capsys) -> None:
    p = tmp_path / "series.csv"
    p.write_text("day,a\n" + "".join(f"{i},{'nan' if i == 5 else i}\n" for i in range(60)))
    assert main(["train", "--data", str(p), "--seq-len", "8", "--drop-nonfinite", *SMALL]) == 0
    capsys.readouterr()
    assert main(["train", "--data", str(p), "--task", "charlm", *SMALL]) == 2
    assert (
        "data is read only by the tasks on your own data (series, text, pairs), not charlm"
        in capsys.readouterr().err
    )
    assert main(["train", "--data-kind", "text", *SMALL]) == 2
    assert "--data-kind says the kind of the --data FILE: give the file too" in capsys.readouterr().err
    pickle_file = tmp_path / "weights.npy"
    pickle_file.write_bytes(b"\x80\x04\x95\x00")
    assert main(["train", "--data", str(pickle_file), *SMALL]) == 2
    assert "weights.npy: a Python pickle: rnnscope never unpickles a file" in capsys.readouterr().err
