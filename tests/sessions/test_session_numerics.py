"""A session says which machine kind recorded it, and a frame regenerated on another kind says so
and how far it deviates, without ever refusing to show it (issue 10).

Sessions are recorded by child processes running as another CPU kind (tests/cpu_kinds.py), so
the cross-machine path runs on every CI machine. The children record on the torch loops
(RNNSCOPE_KERNELS=torch: no kernels build per kind), and replay here pins the same loops.
"""

from __future__ import annotations

import json
import sqlite3
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from cpu_kinds import run_as
from session_fixtures import tiny_config

from rnnscope.engine import Trainer, numerics
from rnnscope.sessions import LiveSession, RecordSettings, RegenerationMismatch, Session
from rnnscope.sessions.cli import info
from rnnscope.sessions.record_codec import diff_records

RECORD = r"""
import sys, torch
from rnnscope.engine import TrainConfig, Trainer
from rnnscope.sessions import LiveSession, RecordSettings
torch.set_num_threads(2)
cfg = TrainConfig(cell="lstm", task="copy", hidden_size=8, seq_len=8, delay=2, batch_size=4, seed=0,
                  device="cpu", probe_every=0)
settings = RecordSettings(checkpoint_every=5, frame_every=3)
with LiveSession.create(sys.argv[1] if len(sys.argv) > 1 else PATH, Trainer(cfg), settings=settings) as live:
    live.run(12)
"""


# Kinds relative to this process (on CI a vector kind; under ATEN_CPU_CAPABILITY=default, DEFAULT):
HERE = torch.backends.cpu.get_cpu_capability()
SAME = "AVX2" if HERE in ("AVX2", "AVX512") else HERE  # the same numerics, in another process
OTHER = "DEFAULT" if HERE != "DEFAULT" else "AVX2"  # numerics that differ from this process's


def record_as(capability: str, path: Path) -> None:
    run_as(capability, f"PATH = {str(path)!r}\n" + RECORD, {"RNNSCOPE_KERNELS": "torch"})


@pytest.fixture(autouse=True)
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # the children's count: threads are part of the fingerprint
    yield
    torch.set_num_threads(before)


def test_a_session_stores_the_fingerprint_that_recorded_it(tmp_path: Path) -> None:
    path = tmp_path / "r.rnnscope"
    tr = Trainer(tiny_config())
    with LiveSession.create(path, tr, settings=RecordSettings(checkpoint_every=5)) as live:
        live.run(3)
    with Session.open(path) as s:
        [entry] = s.numerics
        assert (entry.branch, entry.step) == (0, 0)
        assert entry.fingerprint == tr.fingerprint()
        assert s.revision == numerics.REVISION
    report = info(path)
    assert "recorded on" in report and f"ATen CPU code path: {entry.fingerprint['capability']}" in report
    assert "same numerics: regenerated frames are bit for bit the recorded ones" in report


def test_the_same_kind_in_another_process_regenerates_bit_for_bit(tmp_path: Path) -> None:
    """Recorded at AVX2, regenerated here at AVX2 or AVX512 (or DEFAULT at DEFAULT): the same bits (revision 2 makes the
    two vector kinds one; the child and this process share torch, threads and BLAS)."""
    path = tmp_path / "avx2.rnnscope"
    record_as(SAME, path)
    with Session.open(path) as s:
        assert s.numerics[0].fingerprint["capability"] == SAME
        for k in (1, 5, 7, 11):
            assert not s.has_stored_frame(k)
            rec = s.record(k)
            prov = s.provenance(k)
            assert prov is not None and not prov.elsewhere and prov.exact and prov.checked >= 1
            assert rec.provenance == ""
        stored = s.record(9)  # a stored frame: nothing was regenerated
        assert s.provenance(9) is None and stored.provenance == ""
        assert diff_records(stored, s.regenerate(9), frames=True) == []
        assert s.mismatches == []


def test_another_kind_is_detected_measured_and_still_shown(tmp_path: Path) -> None:
    """Recorded on a CPU without AVX2 (DEFAULT; AVX2 when this process itself runs DEFAULT), opened here: the frame regenerates, the
    provenance names the difference and the deviation from the stored summaries, the warning
    says it once, and nothing refuses to show the step."""
    path = tmp_path / "default.rnnscope"
    record_as(OTHER, path)
    with Session.open(path) as s, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert s.numerics[0].fingerprint["capability"] == OTHER
        devs = []
        for k in (2, 4, 8, 11):
            rec = s.record(k)
            assert rec.has_frame and rec.gates is not None
            prov = s.provenance(k)
            assert prov is not None and prov.elsewhere
            assert prov.differences == [f"ATen CPU code path: {OTHER} -> {HERE}"]
            assert prov.checked == prov.replayed >= 1
            devs.append(prov.deviation)
            assert "another machine kind" in rec.provenance and "ATen CPU code path" in rec.provenance
        # a last-bit difference that grew over <= 5 replayed steps: measured, not zero, tiny
        assert max(devs) > 0 and all(d < 1e-4 for d in devs), devs
        stored = s.record(6)
        assert s.provenance(6) is None and stored.provenance == ""
    assert s.mismatches, "a differing regeneration is listed"
    texts = [str(w.message) for w in caught if issubclass(w.category, RegenerationMismatch)]
    assert len(texts) == 1 and f"ATen CPU code path: {OTHER}" in texts[0]
    report = info(path)
    assert "Differs:" in report and f"ATen CPU code path: {OTHER} ->" in report


def test_resuming_on_another_kind_adds_its_fingerprint_from_that_step(tmp_path: Path) -> None:
    path = tmp_path / "r.rnnscope"
    with LiveSession.create(
        path, Trainer(tiny_config()), settings=RecordSettings(checkpoint_every=4)
    ) as live:
        live.run(6)
    run_as(
        OTHER,
        f"from rnnscope.sessions import LiveSession\nwith LiveSession.resume({str(path)!r}) as live:\n    live.run(4)\n",
        {"RNNSCOPE_KERNELS": "torch"},
    )
    with Session.open(path) as s:
        assert len(s) == 10
        first, second = s.numerics
        assert (second.branch, second.step) == (0, 6) and second.fingerprint["capability"] == OTHER
        assert first.fingerprint["capability"] != OTHER
        s.record(5)
        assert not s.provenance(5).elsewhere  # recorded here
        with pytest.warns(RegenerationMismatch, match=f"ATen CPU code path: {OTHER}"):
            s.record(9)
        assert s.provenance(9).elsewhere  # recorded by the other kind's process (on the torch loops)


def test_a_damaged_fingerprint_does_not_stop_the_file_from_opening(tmp_path: Path) -> None:
    path = tmp_path / "r.rnnscope"
    with LiveSession.create(
        path, Trainer(tiny_config()), settings=RecordSettings(checkpoint_every=4)
    ) as live:
        live.run(5)
    for bad in ("not json", json.dumps([{"branch": "x"}]), json.dumps({"a": 1})):
        conn = sqlite3.connect(path)
        conn.execute("UPDATE meta SET value=? WHERE key='numerics'", (bad,))
        conn.commit()
        conn.close()
        with Session.open(path) as s, warnings.catch_warnings():
            warnings.simplefilter("ignore", RegenerationMismatch)
            rec = s.record(3)
            assert rec.has_frame
            prov = s.provenance(3)
            assert prov is not None and prov.elsewhere  # unknown fields: not claimed identical
            assert prov.exact  # ... and measured: the same bits
            assert np.isfinite(rec.loss)


def test_the_provenance_headline_keeps_every_difference_whole() -> None:
    """The first line is what a panel's banner shows: with two differences (joined by "; ") it
    must not be cut between them, and the deviation and drift table follow on the next line."""
    from rnnscope.sessions.provenance import Provenance, relative_deviation

    prov = Provenance(
        step=9,
        differences=["ATen CPU code path: DEFAULT -> AVX512", "recurrence loops: torch -> native/AVX512"],
        deviation=2.5e-7,
        replayed=3,
        checked=3,
    )
    headline, details = prov.sentence().split("\n", 1)
    assert headline == (
        "Step 9: regenerated on another machine kind "
        "(ATen CPU code path: DEFAULT -> AVX512; recurrence loops: torch -> native/AVX512)"
    )
    assert details.startswith("It deviates from the recorded summaries by up to 2.5e-07")
    assert "measured to reach" in details
    assert Provenance(step=1).sentence() == ""
    assert relative_deviation(None, None) == 0.0 and relative_deviation(1.0, None) == float("inf")
    assert relative_deviation(2.0, 1.0) == 0.5 and relative_deviation(float("inf"), float("inf")) == 0.0
