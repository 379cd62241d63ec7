"""sessions.export: one naming and one CSV layout for the window and the CLI, written atomically."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from rnnscope.engine.record import StepRecord
from rnnscope.sessions import Session, SessionError
from rnnscope.sessions.cli import export_step
from rnnscope.sessions.export import gradient_flow_arrays, record_arrays, write_gradient_flow, write_record


def test_the_window_and_the_cli_write_the_same_arrays(
    recorded: tuple[Path, list[StepRecord]], tmp_path: Path
) -> None:
    path, recs = recorded
    cli = export_step(path, 5, "npz", tmp_path / "cli.npz")
    window = write_record(recs[5], tmp_path / "window.npz", "npz")  # what File > Export writes
    with np.load(cli) as a, np.load(window) as b:
        assert sorted(a.files) == sorted(b.files) == sorted(record_arrays(recs[5]))
        assert "rnn/gates/f" in a.files and not any("__" in k for k in a.files)
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k])
    cli_csv = export_step(path, 5, "csv", tmp_path / "cli.csv")
    window_csv = write_record(recs[5], tmp_path / "window.csv", "csv")
    assert cli_csv.read_text() == window_csv.read_text()
    assert cli_csv.read_text().splitlines()[0] == "step,part,array,layer,t,unit,value"


def test_gradient_flow_keys_and_csv(recorded: tuple[Path, list[StepRecord]], tmp_path: Path) -> None:
    path, _ = recorded
    with Session.open(path) as s:
        summ = s.summaries()
    out = write_gradient_flow(summ, tmp_path / "g.npz", "npz")
    with np.load(out) as z:
        assert set(z.files) == {"step", "rnn/h_grad_norm", "rnn/c_grad_norm"}
        np.testing.assert_array_equal(z["rnn/h_grad_norm"], gradient_flow_arrays(summ)["rnn/h_grad_norm"])
    rows = list(csv.DictReader(write_gradient_flow(summ, tmp_path / "g.csv", "csv").open()))
    h = summ.parts["rnn"].h_grad_norm  # (N, L, T)
    assert len(rows) == h.size
    r = next(r for r in rows if r["step"] == "4" and r["t"] == "3" and r["layer"] == "0")
    assert float(r["h_grad_norm"]) == float(h[4, 0, 3])


def test_a_failed_write_keeps_the_old_file_and_leaves_no_part_file(
    recorded: tuple[Path, list[StepRecord]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, recs = recorded
    target = tmp_path / "step.csv"
    target.write_text("the previous export\n")

    def broken(*_: object, **__: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("rnnscope.sessions.export._record_rows", broken)
    with pytest.raises(SessionError, match="cannot write the export: No space left on device"):
        write_record(recs[2], target, "csv")
    assert target.read_text() == "the previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step.csv"]
    with pytest.raises(SessionError, match="missing"):
        write_record(recs[2], tmp_path / "missing" / "x.npz", "npz")
    with pytest.raises(ValueError, match="format must be one of npz, csv; got 'xlsx'"):
        write_record(recs[2], tmp_path / "x.xlsx", "xlsx")


def test_non_finite_values_are_written_as_numpy_reads_them(
    recorded: tuple[Path, list[StepRecord]], tmp_path: Path
) -> None:
    _, recs = recorded
    rec = recs[0]
    bad = StepRecord(**{**rec.__dict__, "loss": float("nan"), "grad_norm": float("inf")})
    rows = {
        r["array"]: r["value"] for r in csv.DictReader(write_record(bad, tmp_path / "b.csv", "csv").open())
    }
    assert rows["loss"] == "nan" and rows["grad_norm"] == "inf"
