"""Shared fixtures of the sessions tests: tiny real trainers and hand-made records."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rnnscope.engine import TrainConfig, Trainer
from rnnscope.engine.record import NonFinite, PartRecord, ProbeSample, StepRecord
from rnnscope.sessions import LiveSession, RecordSettings, checksum
from rnnscope.sessions.record_codec import SUMMARY_COLUMNS


def tiny_config(**changes: object) -> TrainConfig:
    base = TrainConfig(
        cell="lstm",
        task="copy",
        hidden_size=8,
        seq_len=8,
        delay=2,
        batch_size=4,
        seed=0,
        device="cpu",
        probe_every=0,
    )
    return base.with_changes(**changes)


@pytest.fixture
def tiny_trainer() -> Trainer:
    return Trainer(tiny_config())


def make_part(cell: str, L: int, T: int, H: int, rng: np.random.Generator, *, frame: bool) -> PartRecord:
    names = {"rnn": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}[cell]

    def arr(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    part = PartRecord(
        cell_type=cell,
        length=T,
        h_grad_norm=arr(L, T),
        c_grad_norm=arr(L, T) if cell == "lstm" else None,
    )
    if frame:
        part.whh_singular_values = np.sort(np.abs(arr(L, H)))[:, ::-1].copy()
        part.gates = {n: arr(L, T, H) for n in names}
        part.hidden = arr(L, T, H)
        part.cell = arr(L, T, H) if cell == "lstm" else None
        part.h_grad = arr(L, T, H)
        part.c_grad = arr(L, T, H) if cell == "lstm" else None
        part.jacobian_norm = arr(L, T)
        part.probe_length = T - 1
    return part


def make_record(step: int = 3, *, seq2seq: bool = False, frame: bool = True, seed: int = 0) -> StepRecord:
    """A hand-made record exercising every field: NaN/inf scalars, None arrays, extras, nonfinite."""
    rng = np.random.default_rng(seed)
    if seq2seq:
        parts = {
            "encoder": make_part("lstm", 2, 5, 4, rng, frame=frame),
            "decoder": make_part("gru", 2, 7, 4, rng, frame=frame),
        }
    else:
        parts = {"rnn": make_part("lstm", 1, 6, 4, rng, frame=frame)}
    probe = None
    if frame:
        probe = ProbeSample(
            input=rng.integers(0, 10, 6),
            target=rng.integers(0, 10, 6),
            prediction=rng.integers(0, 10, 6),
            mask=rng.random(6) > 0.5,
            free_running=rng.integers(0, 10, 7) if seq2seq else None,
            embedded=rng.standard_normal((6, 3)).astype(np.float32),
        )
    return StepRecord(
        step=step,
        loss=float("nan") if seq2seq else 1.25,
        metric=float("inf") if seq2seq else 0.5,
        metric_name="accuracy",
        grad_norm=3.0e38,
        grad_norm_clipped=1.0,
        lr=1e-3,
        clip_threshold=None if seq2seq else 1.0,
        parts=parts,
        probe_index=2,
        probe=probe,
        nonfinite=NonFinite("gradient", "decoder", 1, 4, "weight_hh_l1") if seq2seq else None,
        step_time=0.0125,
        extras={"teacher_forced_fraction": 0.75} if seq2seq else {},
    )


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[StepRecord]]]:
    """A 30-step tiny LSTM session with a full frame stored every step, and the live records.
    Shared by many tests: read it, or copy it before changing anything."""
    path = tmp_path_factory.mktemp("recorded") / "run.rnnscope"
    settings = RecordSettings(checkpoint_every=10, frame_every=1)
    with LiveSession.create(path, Trainer(tiny_config()), settings=settings) as live:
        recs = [live.step() for _ in range(30)]
    yield path, recs


def rewrite_checksums(conn: sqlite3.Connection) -> None:
    """Make every row's crc match its values again, as a file edited on purpose (or recorded
    elsewhere) would have them."""
    cols = {
        "steps": ("branch", *SUMMARY_COLUMNS),
        "frames": ("branch", "step", "meta", "data"),
        "checkpoints": ("branch", "step", "after_event", "skeleton", "data"),
    }
    for table, names in cols.items():
        for rid, *values in conn.execute(f"SELECT id, {', '.join(names)} FROM {table}").fetchall():
            conn.execute(f"UPDATE {table} SET crc=? WHERE id=?", (checksum.row_crc(values), rid))
