"""SharedScale: one colour scale for several heatmaps (the same panel of run A and run B).

Each member heatmap asks for the levels it would use on its own (a fixed 0..1, or a
symmetric range fitted to its frame); every member then shows the union of what all
members asked for, so equal colours mean equal values on both sides. Dragging the colour
bar of one member (the gradient-flow heatmap) sets the range of all of them.
"""

from __future__ import annotations

from typing import Any

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
        asked = [tuple(m.own_levels) for m in self.members if m.own_levels is not None]
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
