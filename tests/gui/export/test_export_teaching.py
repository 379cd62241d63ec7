"""Exports for teaching: PNG at a chosen size, step-throughs (GIF / PNG sequence), the
gradient-flow matrix as NPZ / CSV."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6.QtGui import QImage

from rnnscope.gui.export import snapshot
from rnnscope.gui.export.step_through import frame_path, gif_available
from rnnscope.sessions import Session

T = 30_000


def run_steps(qtbot, win, n):
    c = win.controller
    c.run_until(n)
    qtbot.waitUntil(lambda: c.steps >= n and not c.playing and not c.worker.busy, timeout=T)
    qtbot.waitUntil(lambda: c.shown_step == n - 1, timeout=T)


def test_png_at_a_chosen_size(window, qtbot, tmp_path):
    run_steps(qtbot, window, 3)
    for name, widget, size in (
        ("health", window.panels["health"], (1234, 2345)),
        ("window", window, (640, 400)),
        ("flow", window.panels["gradient_flow"], (3000, 1000)),  # another aspect: letterboxed
    ):
        path = tmp_path / f"{name}.png"
        assert window.export_png(widget, path, size)
        img = QImage(str(path))
        assert (img.width(), img.height()) == size
        assert not snapshot.is_blank(img)
    # a blank image is recognised as such (the check above can fail)
    blank = QImage(50, 40, QImage.Format.Format_RGB32)
    blank.fill(snapshot.BACKGROUND)
    assert snapshot.is_blank(blank)


@pytest.mark.parametrize("fmt", ["png", "gif"])
def test_step_through_writes_one_frame_per_step(window, qtbot, tmp_path, fmt):
    if fmt == "gif" and not gif_available():
        pytest.skip("Pillow is not installed")
    run_steps(qtbot, window, 12)
    c = window.controller
    c.timeline.recent.clear()  # the frames come from the file (regenerated where not stored)
    results = []
    path = tmp_path / f"flow.{fmt}"
    steps = [1, 4, 7, 10, 11]
    job = window.teaching.step_through(
        window.panels["gates"], path, steps, fmt=fmt, size=(320, 240), fps=5, on_done=results.append
    )
    shown = []
    job.progress.connect(lambda i, _n: shown.append(c.shown_step))
    qtbot.waitUntil(lambda: bool(results), timeout=60_000)
    assert shown == steps  # each frame was rendered while its own step was shown
    qtbot.waitUntil(lambda: c.follow_live and c.shown_step == 11, timeout=T)  # the view came back
    if fmt == "png":
        assert results[0] == [frame_path(path, i) for i in range(5)]
        images = [QImage(str(p)) for p in results[0]]
        assert all((im.width(), im.height()) == (320, 240) for im in images)
        assert not any(snapshot.is_blank(im) for im in images)
        assert images[0] != images[-1]  # the gates changed between step 1 and step 11
    else:
        from PIL import Image

        with Image.open(path) as gif:
            assert gif.n_frames == 5 and gif.size == (320, 240)
            assert gif.info.get("duration") == 200
        assert not list(tmp_path.glob("*_0000.png"))  # the temporary frames are gone


def test_gradient_flow_matrix_round_trips(window, qtbot, tmp_path):
    run_steps(qtbot, window, 7)
    c = window.controller
    written = []
    window.teaching.export_gradient_flow("npz", tmp_path / "g.npz", on_done=written.append)
    window.teaching.export_gradient_flow("csv", tmp_path / "g.csv", on_done=written.append)
    qtbot.waitUntil(lambda: len(written) == 2, timeout=T)
    with Session.open(c.path) as s:
        summ = s.summaries(branch=c.branch_id)
    h = summ.parts["rnn"].h_grad_norm  # (N, L, T)
    cg = summ.parts["rnn"].c_grad_norm
    assert h.shape == (7, 1, 10)
    with np.load(tmp_path / "g.npz") as z:
        np.testing.assert_array_equal(z["step"], np.arange(7))
        assert z["rnn/h_grad_norm"].shape == (7, 10, 1)  # steps x timesteps x layers
        np.testing.assert_array_equal(z["rnn/h_grad_norm"], h.transpose(0, 2, 1))
        np.testing.assert_array_equal(z["rnn/c_grad_norm"], cg.transpose(0, 2, 1))
    with open(tmp_path / "g.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 7 * 10
    back = np.full((7, 10, 1), np.nan)
    back_c = np.full((7, 10, 1), np.nan)
    for r in rows:
        i, t, layer = int(r["step"]), int(r["t"]), int(r["layer"])
        back[i, t, layer] = float(r["h_grad_norm"])
        back_c[i, t, layer] = float(r["c_grad_norm"])
    np.testing.assert_array_equal(back, h.transpose(0, 2, 1).astype(np.float64))
    np.testing.assert_array_equal(back_c, cg.transpose(0, 2, 1).astype(np.float64))


def test_export_dialogs(window, qtbot):
    from rnnscope.gui.export.dialogs import AnimationDialog, SizeDialog

    panel = window.panels["gates"]
    size = SizeDialog(panel, window)
    qtbot.addWidget(size)
    assert size.fields.size == (panel.width() * 2, panel.height() * 2)
    size.fields.width_box.setValue(1000)  # proportions kept
    w, h = size.fields.size
    assert w == 1000 and abs(h - round(1000 * panel.height() / panel.width())) <= 1
    anim = AnimationDialog(panel, 40, None, window)
    qtbot.addWidget(anim)
    anim.first.setValue(30)
    anim.last.setValue(10)
    anim.every.setValue(5)
    ch = anim.choice()
    assert ch.steps == [10, 15, 20, 25, 30]
    assert ch.fmt == ("gif" if gif_available() else "png")
