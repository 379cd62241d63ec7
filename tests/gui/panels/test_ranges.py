"""Log axes are labelled in decades: 2 and 5 x 10^k too when the range is a decade or two, no
2..9 marks beyond six decades (they blurred the axis into a bar)."""

from __future__ import annotations

import math

from rnnscope.gui.panels.ranges import decade_ticks


class _Axis:
    def __init__(self) -> None:
        self.ticks: list = []

    def setTicks(self, ticks):  # pyqtgraph's name
        self.ticks = ticks


def test_a_short_log_range_labels_2_and_5_as_well():
    axis = _Axis()
    decade_ticks(axis, math.log10(3.0), math.log10(60.0))  # a perplexity from 60 down to 3
    major, minor = axis.ticks
    labels = [text for _pos, text in major + minor if text]
    assert labels == ["10", "5", "20", "50"]


def test_a_long_log_range_has_labelled_decades_only():
    axis = _Axis()
    decade_ticks(axis, -16.0, -3.0)
    major, minor = axis.ticks
    assert minor == []
    labels = [text for _pos, text in major if text]
    assert labels[0] == "1e-15" and all(t.startswith("1e") or t == "0.001" for t in labels)
    assert 3 <= len(labels) <= 6
