"""`python main.py --screenshot PNG --steps N` writes a picture of the whole window."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]


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
