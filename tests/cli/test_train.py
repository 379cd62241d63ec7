"""`python main.py train ...` (cli/train.py): progress, final figures, and one-line errors
with exit code 2 for every kind of bad argument."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from rnnscope.cli.main import main
from rnnscope.sessions import Session

SMALL = ["--hidden-size", "8", "--seq-len", "6", "--delay", "2", "--batch-size", "4", "--threads", "1"]


def test_train_prints_progress_and_the_final_loss_and_metric(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "--model", "gru", "--task", "adding", "--steps", "12", *SMALL])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "training gru on adding (H=8, layers=1, T=6, B=4) on cpu" in err
    assert re.search(r"12/12 \[", err)  # tqdm's progress bar reached the end
    m = re.fullmatch(r"step 12: loss (\S+), (\w+) (\S+)\n", out)
    assert m is not None, out
    assert math.isfinite(float(m.group(1))) and m.group(2) == "accuracy"


def test_train_reports_where_the_first_nan_appeared(capsys: pytest.CaptureFixture[str]) -> None:
    """The exploding demo's set-up: orthogonal W_hh times 2, SGD, no clipping."""
    argv = [
        "--model",
        "rnn",
        "--task",
        "sine",
        "--hidden-size",
        "32",
        "--seq-len",
        "50",
        "--batch-size",
        "32",
        "--optimizer",
        "sgd",
        "--lr",
        "0.1",
        "--init",
        "orthogonal",
        "--init-scale",
        "2",
        "--threads",
        "1",
    ]
    code = main(["train", "--steps", "60", *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert re.search(r"first NaN/Inf at step \d+: non-finite value in (loss|gradient)", out), out


def test_train_records_a_session_that_opens(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "run.rnnscope"
    assert main(["train", "--steps", "5", "--out", str(path), *SMALL]) == 0
    assert f"recorded to {path}" in capsys.readouterr().out
    with Session.open(path) as s:
        assert len(s) == 5
        assert s.record(4).loss == pytest.approx(s.summary(4).loss)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--hidden-size", "0"], "hidden_size"),
        (["--lr", "-1"], "lr"),
        (["--model", "transformer"], "--model: invalid choice: 'transformer'"),
        (["--teacher-forcing", "1.5", "--task", "reverse"], "teacher_forcing"),
        (["--seq-len", "100000"], "seq_len"),
        (["--steps", "0"], "--steps must be at least 1"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--hidden-size", "ten"], "--hidden-size: invalid int value: 'ten'"),
        (["--checkpoint-every", "0", "--out", "x.rnnscope"], "--checkpoint-every must be at least 1"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_code_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(["train", "--steps", "2", "--threads", "1", *argv]))
    out, err = capsys.readouterr()
    assert exc.value.code == 2
    assert err.count("\n") == 1 and "error" in err and message in err, err
    assert out == ""
    assert not (tmp_path / "x.rnnscope").exists()


def test_a_bad_kernels_setting_is_a_one_line_error(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.setenv("RNNSCOPE_KERNELS", "fastest")
    assert main(["train", "--steps", "2", *SMALL]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "RNNSCOPE_KERNELS='fastest'" in err


def test_train_never_overwrites_a_recording_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run.rnnscope"
    assert main(["train", "--steps", "7", "--out", str(out), *SMALL]) == 0
    before = out.read_bytes()
    capsys.readouterr()
    assert main(["train", "--steps", "3", "--out", str(out), *SMALL]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{out} exists (an rnnscope session with 7 recorded steps)" in err
    assert "nothing was changed" in err and "--force" in err
    assert out.read_bytes() == before
    with Session.open(out) as s:
        assert len(s) == 7
    other = tmp_path / "notes.txt"
    other.write_text("my notes")
    assert main(["train", "--steps", "3", "--out", str(other), *SMALL]) == 2
    assert "(not an rnnscope session)" in capsys.readouterr().err and other.read_text() == "my notes"
    assert main(["train", "--steps", "3", "--out", str(out), "--force", *SMALL]) == 0
    with Session.open(out) as s:
        assert len(s) == 3
