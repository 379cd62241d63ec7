"""A session stores the data file its runs trained on: a copy replays anywhere, and says what it was."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from importlib import resources
from pathlib import Path

import pytest

from rnnscope.engine import TrainConfig, Trainer
from rnnscope.engine.datasets import DataFile, store
from rnnscope.sessions import Session, SessionError
from rnnscope.sessions.cli import info
from rnnscope.sessions.live import LiveSession
from rnnscope.sessions.writer import RecordSettings


def sunspot_config(**kw) -> TrainConfig:
    data = resources.files("rnnscope.engine").joinpath("data", "sunspots.csv").read_bytes()
    df = store.register(DataFile.of("sunspots.csv", data))
    return TrainConfig(
        task="series",
        data=df.id,
        time_column="YEAR",
        hidden_size=8,
        seq_len=12,
        batch_size=4,
        device="cpu",
        **kw,
    )


def record(path: Path, cfg: TrainConfig, steps: int = 12) -> list[float]:
    live = LiveSession.create(path, Trainer(cfg), settings=RecordSettings(checkpoint_every=5, frame_every=4))
    losses = [live.step().loss for _ in range(steps)]
    live.close()
    return losses


def test_the_file_goes_into_the_session_and_another_process_replays_it(tmp_path: Path) -> None:
    cfg = sunspot_config()
    path = tmp_path / "sun.rnnscope"
    losses = record(path, cfg)
    copy = tmp_path / "elsewhere" / "copied.rnnscope"
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    report = info(copy)
    assert f"data      sunspots.csv, 2,944 bytes, {cfg.data} (stored in the session)" in report
    # what the task made of it is stored too: the windows and the training part's statistics
    assert (
        "run main: rows 309, series 1, dropped 0, train_windows 235, val_windows 50, normalisation {'SUNACTIVITY': ["
        in report
    )
    # a fresh interpreter has no data registered: opening the copy brings it, and step 7 (not
    # stored: regenerated from the checkpoint at 5) is the same step
    code = textwrap.dedent(
        f"""
        from rnnscope.engine.datasets import store
        from rnnscope.sessions import Session
        assert not store.known({cfg.data!r})
        with Session.open({str(copy)!r}) as s:
            rec = s.record(7)
            print(repr(rec.loss), rec.has_frame, s.mismatches)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    loss, framed, mismatches = out.stdout.split(maxsplit=2)
    assert float(loss) == losses[7] and framed == "True" and mismatches.strip() == "[]"


def test_a_new_run_on_a_data_file_in_a_session_stores_it_once(tmp_path: Path) -> None:
    path = tmp_path / "runs.rnnscope"
    live = LiveSession.create(
        path, Trainer(TrainConfig(hidden_size=8, seq_len=8, delay=2, batch_size=4, device="cpu"))
    )
    live.step()
    cfg = sunspot_config()
    live.new_run(cfg, "sun")
    live.step()
    live.new_run(cfg.with_changes(cell="gru"), "sun-gru")
    live.step()
    live.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name, size FROM datasets").fetchall() == [("sunspots.csv", 2944)]
    with Session.open(path, branch="sun-gru") as s:
        assert [d.name for d in s.data_files] == ["sunspots.csv"] and s.record(0).metric_name == "r2"
        facts = s.meta_value("data_facts")
        assert sorted(facts) == ["1", "2"] and facts["1"]["normalisation"] == facts["2"]["normalisation"]


def test_a_damaged_stored_file_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "sun.rnnscope"
    record(path, sunspot_config(), steps=2)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE datasets SET data = zeroblob(10)")
    with pytest.raises(
        SessionError, match=r"damaged data: the stored data file sunspots\.csv fails its checksum"
    ):
        Session.open(path)


def test_wait_for_steps_a_writer_has_not_committed_yet(tmp_path: Path) -> None:
    import threading
    import time

    path = tmp_path / "w.rnnscope"
    live = LiveSession.create(
        path, Trainer(TrainConfig(hidden_size=8, seq_len=8, delay=2, batch_size=4, device="cpu"))
    )
    reader = Session.open(path)
    try:
        live.step()
        live.flush()
        assert reader.wait_for(1, timeout=0.1)
        t0 = time.monotonic()
        assert not reader.wait_for(3, timeout=0.2) and time.monotonic() - t0 >= 0.2

        def two_more() -> None:
            live.step()
            live.step()
            live.flush()

        worker = threading.Thread(target=two_more)
        worker.start()
        assert reader.wait_for(3, branch=0, timeout=30.0) and reader.length() == 3
        worker.join()
    finally:
        reader.close()
        live.close()
