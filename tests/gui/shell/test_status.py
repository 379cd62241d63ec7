"""The status bar (gui/status.py): which recurrence loops run, and a first run's kernel build."""

from __future__ import annotations

from rnnscope.engine import native


def test_device_label_says_while_the_cpu_kernels_build_and_which_loops_run(window, monkeypatch) -> None:
    status = window.status
    label = status.labels["device"]
    status.update_fields()
    assert label.text() == "device cpu"
    first, *rest = label.toolTip().splitlines()
    assert first == f"CPU recurrences: {native.status()}"
    assert rest[0] == "numerics of this process:" and f"recurrence loops: {native.variant()}" in rest

    monkeypatch.setattr(native, "building", lambda: True)
    status.update_fields()
    assert label.text() == "device cpu · building CPU kernels (first run only)…"

    monkeypatch.setattr(native, "building", lambda: False)
    status.update_fields()
    assert label.text() == "device cpu"


def test_the_tooltip_names_the_torch_loops_when_they_are_forced(window) -> None:
    with native.forced("torch"):
        window.status._last = None  # force a refresh
        window.status.update_fields()
        tip = window.status.labels["device"].toolTip().splitlines()
        assert tip[0] == "CPU recurrences: torch loops (RNNSCOPE_KERNELS=torch)"
        assert "recurrence loops: torch" in tip
