"""`train --weights FILE [--inspect]` and `export --format state_dict|safetensors`."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from rnnscope.cli.main import main
from rnnscope.sessions import Session

SMALL = ["--hidden-size", "16", "--seq-len", "6", "--delay", "2", "--batch-size", "4", "--threads", "1"]


def test_train_from_weights_then_export_them_back(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    lstm = nn.LSTM(32, 16)
    torch.save({"rnn": lstm.state_dict()}, tmp_path / "mine.pt")
    out = tmp_path / "run.rnnscope"
    assert (
        main(["train", "--weights", "mine.pt", "--inspect", "--steps", "4", "--out", str(out), *SMALL]) == 0
    )
    err = capsys.readouterr().err
    assert "weights from mine.pt:" in err and "rnn.weight_hh_l0 -> rnn.weight_hh_l0" in err
    with Session.open(out) as s:
        assert s.branch.config["inspect"] is True and len(s) == 4
    assert main(["export", str(out), "--step", "4", "--format", "state_dict"]) == 0
    assert capsys.readouterr().out.split() == [
        "wrote",
        str(tmp_path / "run.step4.pt"),
        "wrote",
        str(tmp_path / "run.step4.model.pt"),
    ]
    back = nn.LSTM(32, 16)
    back.load_state_dict(torch.load(tmp_path / "run.step4.pt", weights_only=True), strict=True)
    assert all(
        torch.equal(a, b) for a, b in zip(back.state_dict().values(), lstm.state_dict().values(), strict=True)
    )
    assert (
        main(["export", str(out), "--step", "4", "--format", "safetensors", "-o", str(tmp_path / "w")]) == 0
    )
    assert (tmp_path / "w.safetensors").stat().st_size > 0


def test_weights_that_do_not_fit_are_one_line_and_nothing_is_recorded(tmp_path: Path, capsys) -> None:
    torch.save(nn.GRU(32, 16).state_dict(), tmp_path / "gru.pt")
    out = tmp_path / "run.rnnscope"
    assert main(["train", "--weights", str(tmp_path / "gru.pt"), "--out", str(out), *SMALL]) == 2
    err = capsys.readouterr().err
    assert "gru.pt: weight_ih_l0: expected shape (64, 32) for the run's lstm rnn, found (48, 32)" in err
    assert err.count("\n") == 1 and not out.exists()
    assert main(["export", str(tmp_path / "nothing.rnnscope"), "--step", "0", "--format", "state_dict"]) == 2
