"""What the window needs to know about a dock, declared by the dock's own module.

Each dock module ends with ``DOCK = Dock(...)`` and ``gui/panels/__init__.py`` lists them in
``DOCKS``: adding a panel is one file and one line there. From the registry the main window
builds its docks, their default places and the View and Export menus; the compare window
takes the step views (``compares=True``); a demo's layout names (engine.demos.PANELS) find
their dock through ``shows``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from PySide6.QtWidgets import QWidget


@dataclass(frozen=True)
class DockContext:
    """What a dock is built from: the model it shows (gui.panels.model.PanelModel; in the main
    window the RunController, in the compare window one side's SourceModel), the shared
    timestep cursor, and ``confirm(text) -> bool`` for the docks that ask before acting."""

    model: Any
    cursor: Any
    confirm: Callable[[str], bool] = lambda _text: True


@dataclass(frozen=True)
class Place:
    """Where the default layout puts a dock: on a side of the window, split off another dock
    (``of``; the new one right of or below it), or as a tab beside it."""

    how: Literal["left", "right", "bottom", "split", "tab"]
    of: str = ""
    orientation: Literal["horizontal", "vertical"] = "horizontal"


@dataclass(frozen=True)
class Dock:
    name: str  # the dock's key (also its saved-layout object name, "dock-<name>")
    title: str
    make: Callable[[DockContext], QWidget]
    place: Place
    compares: bool = False  # a step view: the compare window shows it for both runs
    hidden: bool = False  # hidden in the default layout (View menu, or a demo, shows it)
    raised: bool = False  # the tab in front in its tab group
    shows: tuple[str, ...] = ()  # demo layout names (engine.demos.PANELS) it stands for, besides its own


def step_view(cls: type[QWidget]) -> Callable[[DockContext], QWidget]:
    """``make`` of a panel built as ``cls(model, cursor)`` (the step views)."""
    return lambda ctx: cls(ctx.model, ctx.cursor)
