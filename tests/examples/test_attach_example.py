"""examples/attach_your_model.py runs headless as a user would run it, and its file holds the run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from rnnscope.sessions import Session

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_trains_and_records(tmp_path: Path) -> None:
    path = tmp_path / "run.rnnscope"
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "attach_your_model.py"), str(path), "--steps", "120"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "120 steps" in done.stdout
    with Session.open(path) as s:
        assert s.external and len(s) == 120
        first, last = s.summary(0), s.summary(119)
        assert last.loss < first.loss  # it learned
        rec = s.record(110)
        assert rec.has_frame and list(rec.parts) == ["lstm"]
        assert rec.parts["lstm"].hidden.shape == (2, 20, 32)
        sums = s.summaries()
        assert np.all(np.isfinite(sums.loss)) and np.all(sums.lr == np.float64(3e-3))
