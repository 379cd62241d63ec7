"""`python main.py --screenshot PNG --steps N` writes a picture of the whole window."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[3]


def _run(args, tmp_path):
    env = dict(os.environ, RNNSCOPE_CONFIG_DIR=str(tmp_path / "config"), QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_screenshot_is_written_and_not_blank(tmp_path):
    out = tmp_path / "shot.png"
    proc = _run(["--screenshot", str(out), "--steps", "4", "--threads", "1"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    image = QImage(str(out))
    assert not image.isNull() and image.width() >= 1200 and image.height() >= 800
    colours = {image.pixel(x, y) for x in range(0, image.width(), 13) for y in range(0, image.height(), 13)}
    assert len(colours) > 50  # heatmaps, curves and text, not a flat fill


def test_unknown_demo_is_refused(tmp_path):
    proc = _run(["--screenshot", str(tmp_path / "x.png"), "--demo", "nope"], tmp_path)
    assert proc.returncode == 2 and "unknown demo" in proc.stderr
    assert not (tmp_path / "x.png").exists()


def test_negative_steps_and_timeouts_are_refused_with_what_is_wrong(tmp_path):
    for args, words in (
        (["--steps", "-3"], "cannot be negative, got -3"),
        (["--steps", "many"], "whole number of steps"),
        (["--timeout", "0"], "more than 0 seconds"),
    ):
        proc = _run(["--screenshot", str(tmp_path / "x.png"), *args], tmp_path)
        assert proc.returncode == 2 and words in proc.stderr, proc.stderr
    assert not (tmp_path / "x.png").exists()


def test_a_multi_run_demo_trains_every_run_and_saves_its_comparison(tmp_path):
    out = tmp_path / "vanishing.png"
    proc = _run(["--screenshot", str(out), "--demo", "vanishing", "--steps", "3", "--threads", "1"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "RNN: 3 steps, LSTM: 3 steps; step 2 shown" in proc.stdout
    compare = tmp_path / "vanishing-compare.png"
    assert f"wrote {compare} (RNN against LSTM, gradient_flow, step 2)" in proc.stdout
    assert not QImage(str(out)).isNull() and not QImage(str(compare)).isNull()


def test_a_screenshot_that_runs_out_of_time_says_what_it_waited_for(tmp_path):
    out = tmp_path / "slow.png"
    proc = _run(["--screenshot", str(out), "--steps", "100000", "--timeout", "3", "--threads", "1"], tmp_path)
    assert proc.returncode == 1
    assert "gave up after 3 s waiting for 100000 steps of training (trained so far: " in proc.stderr
    assert "--timeout" in proc.stderr and "no error" not in proc.stderr.replace("no error was reported", "")
    assert out.exists()  # the window as far as it got
