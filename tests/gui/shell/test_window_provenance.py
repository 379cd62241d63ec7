"""A frame regenerated on another machine kind is shown with a banner that says so and by how
much it deviates; File > Properties names the machine kinds that recorded the file (issue 10)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "sessions"))

import pytest
from test_session_numerics import OTHER, record_as

T = 30_000


@pytest.mark.filterwarnings("ignore::sessions.RegenerationMismatch")  # expected: the banner shows it
def test_a_frame_regenerated_on_another_kind_carries_a_banner(qtbot, tmp_path) -> None:
    from rnnscope.gui.shell.main_window import MainWindow

    path = tmp_path / "default.rnnscope"
    record_as(OTHER, path)  # recorded as a CPU without AVX2 would: another machine kind here
    win = MainWindow(interactive=False)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    c = win.controller
    try:
        c.files.open(path)
        qtbot.waitUntil(lambda: c.mode == "replay" and c.steps == 12 and c.record is not None, timeout=T)
        gates = win.panels["gates"]
        c.seek(9)  # stored in the file (frame_every=3): the recorded frame, no banner
        qtbot.waitUntil(lambda: c.record is not None and c.record.step == 9, timeout=T)
        qtbot.waitUntil(lambda: not gates._banner.isVisible(), timeout=T)
        c.seek(7)  # not stored: regenerated here, on another kind than the recording's
        qtbot.waitUntil(lambda: c.record is not None and c.record.step == 7, timeout=T)
        qtbot.waitUntil(lambda: gates._banner.isVisible(), timeout=T)
        text = gates._banner.text()
        assert f"Step 7: regenerated on another machine kind (ATen CPU code path: {OTHER} ->" in text
        assert text.endswith("· hover for how far")
        tip = gates._banner.toolTip()
        assert "deviates from the recorded summaries by up to" in tip
        assert "measured to reach" in tip  # the drift table
        assert win.panels["states"]._banner.text() == text
        c.seek(9)
        qtbot.waitUntil(lambda: c.record is not None and c.record.step == 9, timeout=T)
        qtbot.waitUntil(lambda: not gates._banner.isVisible(), timeout=T)

        dlg = win.properties_dialog()
        report = dlg.text.toPlainText()
        dlg.close()
        assert report.startswith("recorded on") and f"ATen CPU code path: {OTHER}" in report
        assert "this machine" in report and "Differs:" in report
        tip = win.status.labels["device"].toolTip()
        assert "numerics of this process:" in tip and "ATen CPU code path:" in tip
    finally:
        c.close()
