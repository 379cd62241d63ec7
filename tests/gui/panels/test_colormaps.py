"""Colour-scale helpers of gui/colormaps.py."""

from __future__ import annotations

import numpy as np

from rnnscope.gui.panels.colormaps import nice_symmetric


def test_nice_symmetric_rounds_up_to_1_2_or_5_times_a_power_of_ten() -> None:
    assert nice_symmetric(np.array([0.03, -0.012])) == (-0.05, 0.05)
    assert nice_symmetric(np.array([-1.7, 0.2])) == (-2.0, 2.0)
    assert nice_symmetric(np.array([7.0])) == (-10.0, 10.0)
    assert nice_symmetric(np.array([0.0]), floor=0.1) == (-0.1, 0.1)
    assert nice_symmetric(None) == nice_symmetric(np.array([])) == (-1.0, 1.0)


def test_nice_symmetric_covers_the_finite_values_when_some_are_not() -> None:
    """An exploding run's one inf (or NaN) must not wash the rest of the map out to ±1."""
    a = np.array([[0.003, -0.004], [np.inf, np.nan]])
    assert nice_symmetric(a) == (-0.005, 0.005)
    assert nice_symmetric(np.array([-np.inf, 20.0])) == (-20.0, 20.0)
    assert nice_symmetric(np.array([np.nan, np.inf])) == (-1.0, 1.0)
