"""Shared scales of the compare view: one colour scale per pair of heatmaps, one step axis.

SharedScale: each member heatmap asks for the levels it would use on its own (a fixed
0..1, or a symmetric range fitted to its frame); every member then shows the union of what
all members asked for, so equal colours mean equal values on both sides. Dragging the colour
bar of one member (the gradient-flow heatmap) sets the range of all of them.

SharedStepAxis: the over-steps plots of both runs (gradient-flow heatmaps, loss and the
other health curves) and the difference view show one x range, 0 .. a nice number above
the longer run's steps. A panel's own StepAxisRange is replaced by a ``StepAxisMember``
that forwards to the group, so whichever side redraws, every member shows the same range.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rnnscope.gui.panels.ranges import StepAxisRange

Levels = tuple[float, float]


def union(levels: list[Levels]) -> Levels:
    return (min(lv[0] for lv in levels), max(lv[1] for lv in levels))


class SharedScale:
    def __init__(self) -> None:
        self.members: list[Any] = []  # HeatmapPlots

    def set_members(self, members: list[Any]) -> None:
        for m in self.members:
            if m not in members and m.scale is self:
                m.scale = None
        self.members = list(members)
        for m in self.members:
            m.scale = self
        self.apply()

    @property
    def levels(self) -> Levels | None:
        """The union of what the members that show something asked for (one with no frame,
        e.g. the side of a run with no steps yet, does not widen the others' scale)."""
        asked = [tuple(m.own_levels) for m in self.members if m.own_levels is not None and m.data is not None]
        return union(asked) if asked else None

    def request(self, member: Any, levels: Levels) -> Levels:
        """``member`` redraws and would use ``levels``: the levels it must show (others follow)."""
        member.own_levels = levels
        shared = self.levels or levels
        for m in self.members:
            if m is not member:
                m.show_levels(shared)
        return shared

    def dragged(self, member: Any, levels: Levels) -> None:
        """The user set ``levels`` on one member's colour bar: every member takes them."""
        for m in self.members:
            m.own_levels = levels
            if m is not member:
                m.show_levels(levels)

    def apply(self) -> None:
        shared = self.levels
        if shared is not None:
            for m in self.members:
                m.show_levels(shared)


class SharedStepAxis:
    """One training-step x range for several plots; ``steps()`` says how far it must reach."""

    def __init__(self, steps: Callable[[], int]) -> None:
        self.steps = steps
        self.ranges: list[StepAxisRange] = []

    def add(self, own: StepAxisRange) -> StepAxisMember:
        """Put the plot that ``own`` manages under this axis; returns the stand-in for ``own``."""
        self.ranges.append(own)
        self.update()
        return StepAxisMember(self, own)

    def update(self) -> None:
        n = self.steps()
        for r in self.ranges:
            r.update_steps(n)  # sets the range only where it changed


class StepAxisMember:
    """Stands in for a panel's StepAxisRange: the panel's step count is ignored, the group's used."""

    def __init__(self, group: SharedStepAxis, own: StepAxisRange) -> None:
        self.group = group
        self.own = own

    @property
    def range(self) -> tuple[float, float] | None:
        return self.own.range

    def reset(self) -> None:
        self.own.reset()

    def update_steps(self, _n: int) -> None:
        self.group.update()
