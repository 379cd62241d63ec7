"""The helpers behind `main.py info` and `main.py export`."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from rnnscope.engine.record import StepRecord
from rnnscope.sessions import Session, SessionError
from rnnscope.sessions.cli import export_step, info
from rnnscope.sessions.export import record_arrays

SAMPLE = Path(__file__).parent / "data" / "session_v1.rnnscope"


def test_info_reports_config_steps_branches_and_size() -> None:
    text = info(SAMPLE)
    assert f"session   {SAMPLE}" in text
    assert "format    1 (rnnscope)   size 0.2 MB" in text
    assert "stored    16 step summaries, 4 full frames, 5 checkpoints, 4 timeline events" in text
    assert "  hidden_size = 8" in text and "  model = lstm" in text
    assert "    0 main             steps 0..11 (12)  root" in text
    assert " *  1 alt              steps 0..6 (7)  from main at step 3" in text
    assert "edit at step 6: lr 0.001 -> 0.002" in text
    assert "last step 11: loss 2.27611, accuracy" in text
    assert "kernels   torch (the CPU recurrence loops" in text  # written before the C++ loops


def test_export_npz_holds_every_array_of_the_record(
    recorded: tuple[Path, list[StepRecord]], tmp_path: Path
) -> None:
    path, recs = recorded
    out = export_step(path, 12, "npz", tmp_path / "step12.npz")
    with np.load(out) as z:  # allow_pickle is False by default: plain arrays only
        keys = set(z.files)
        assert {"step", "loss", "rnn/h_grad_norm", "rnn/c_grad_norm", "rnn/whh_singular_values"} <= keys
        assert {"rnn/gates/i", "rnn/gates/f", "rnn/gates/g", "rnn/gates/o", "rnn/hidden", "rnn/cell"} <= keys
        assert {"rnn/h_grad", "rnn/c_grad", "rnn/jacobian_norm", "probe/input", "probe/target"} <= keys
        assert int(z["step"]) == 12 and float(z["loss"]) == recs[12].loss
        np.testing.assert_array_equal(z["rnn/gates/f"], recs[12].parts["rnn"].gates["f"])  # type: ignore[index]
        assert z["rnn/hidden"].dtype == np.float32 and z["rnn/hidden"].shape == (1, 8, 8)


def test_export_csv_is_a_long_table(recorded: tuple[Path, list[StepRecord]], tmp_path: Path) -> None:
    path, recs = recorded
    out = export_step(path, 3, "csv", tmp_path / "step3.csv")
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    with Session.open(path) as s:
        arrays = record_arrays(s.record(3))
    assert len(rows) == sum(a.size for k, a in arrays.items() if k != "step")
    assert rows[0] == {
        "step": "3",
        "part": "",
        "array": "loss",
        "layer": "",
        "t": "",
        "unit": "",
        "value": repr(recs[3].loss),
    }
    gate = [
        r
        for r in rows
        if r["array"] == "gates/i" and r["layer"] == "0" and r["t"] == "2" and r["unit"] == "5"
    ]
    assert len(gate) == 1 and float(gate[0]["value"]) == float(recs[3].parts["rnn"].gates["i"][0, 2, 5])  # type: ignore[index]
    sv = [r for r in rows if r["array"] == "whh_singular_values"]
    assert len(sv) == 8 and sv[0]["t"] == "" and sv[0]["unit"] == "0"


def test_export_refuses_bad_step_format_and_file(
    recorded: tuple[Path, list[StepRecord]], tmp_path: Path
) -> None:
    path, _ = recorded  # (in its own folder)
    with pytest.raises(SessionError, match=r"has no step 30 on branch 'main' \(steps 0\.\.29\)"):
        export_step(path, 30, "npz", tmp_path / "x.npz")
    with pytest.raises(SessionError, match=r"has no branch 'nope' \(branches: 0:main\)"):
        export_step(path, 1, "npz", tmp_path / "x.npz", branch="nope")
    with pytest.raises(ValueError, match="format must be one of npz, csv"):
        export_step(path, 1, "xlsx", tmp_path / "x.xlsx")
    bad = tmp_path / "bad.rnnscope"
    bad.write_text("hello")
    with pytest.raises(SessionError, match=r"bad\.rnnscope: not an rnnscope session"):
        export_step(bad, 1, "csv", tmp_path / "x.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.rnnscope"]  # no export, no .part file
