"""The command line a newcomer meets first: --help, --version, mistakes named as such."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rnnscope.cli.main import main
from rnnscope.cli.options import help_text
from rnnscope.engine.config import KNOBS
from rnnscope.engine.demos import DEMOS

SMALL = ["--hidden-size", "8", "--seq-len", "6", "--delay", "2", "--batch-size", "4", "--threads", "1"]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_top_level_help_lists_commands_window_options_and_every_demo(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(["--help"], capsys)
    assert code == 0
    for word in (
        "train",
        "info",
        "export",
        "gui",
        "--demo",
        "--screenshot",
        "--steps",
        "--timeout",
        "--version",
    ):
        assert word in out, word
    flat = " ".join(out.split())
    for name in DEMOS:
        assert name in flat, name
    assert "lstm-copy (default)" in flat and "python main.py" in flat


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["--version"], capsys)
    assert code == 0 and re.fullmatch(r"rnnscope \d+\.\d+\.\d+\n", out), out


def test_every_run_setting_has_a_help_with_its_default_and_range(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["train", "--help"], capsys)
    assert code == 0
    flat = " ".join(out.split())
    assert "--hidden-size HIDDEN_SIZE units per recurrent layer; an integer in [1, 1024]; default 64" in flat
    assert (
        "--lr LR learning rate (step size); a number in (0, 10]; default 0.001; adding, copy suggest their own (live)"
        in flat
    )
    assert (
        "--probe-index PROBE_INDEX which sample of the batch the frame shows; an integer in [0, batch_size-1]"
        in flat
    )
    assert "--cell {rnn,lstm,gru}, --model {rnn,lstm,gru}" in flat
    for name in KNOBS:
        if name not in ("clip", "clip_threshold") and KNOBS[name].shown:
            assert "--" + name.replace("_", "-") in out, name
            assert "".join(help_text(name).split()) in "".join(out.split()), name  # (wrapped anywhere)
    assert "--clip THRESHOLD" in flat
    assert "--data FILE train on your own data file: a time series (.csv, .npy, .npz), a text (.txt)" in flat


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["trian"],
            "unknown command 'trian' (did you mean 'train'?); commands: gui, open, train, info, export",
        ),
        (["inof", "x.rnnscope"], "unknown command 'inof' (did you mean 'info'?)"),
        (["missing.rnnscope"], "missing.rnnscope: no such session file"),
        (
            ["train", "--model", "seq2seq"],
            "'seq2seq' is not a cell: Seq2Seq is a task (--task reverse, translate or pairs)",
        ),
        (["train", "--cell", "transformer"], "invalid choice: 'transformer' (choose from rnn, lstm, gru)"),
        (["--demo", "nope"], "unknown demo 'nope'; demos: lstm-copy"),
        (["open"], "the following arguments are required: session"),
        (["open", "missing.rnnscope", "--follow"], "missing.rnnscope: no such session file"),
        (["--follow"], "--follow needs the session file to follow"),
    ],
)
def test_mistakes_are_named_in_one_line(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(argv, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


def test_the_progress_bar_shows_the_loss_of_the_step_it_counts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["train", "--steps", "7", *SMALL], capsys)
    assert code == 0
    final = re.fullmatch(r"step 7: loss (\S+), accuracy (\S+)\n", out)
    assert final is not None, out
    last_bar = err.replace("\r", "\n").strip().splitlines()[-1]
    assert "7/7" in last_bar and f"loss={final.group(1)}" in last_bar, last_bar


def test_export_writes_into_the_current_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    session = runs / "run.rnnscope"
    assert main(["train", "--steps", "3", "--out", str(session), *SMALL]) == 0
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    capsys.readouterr()
    assert main(["export", str(session), "--step", "2"]) == 0
    assert capsys.readouterr().out == f"wrote {work / 'run.step2.npz'}\n"
    assert sorted(p.name for p in runs.iterdir()) == ["run.rnnscope"]
