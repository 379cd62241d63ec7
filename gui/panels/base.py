"""Panel: the base of every view; HeatmapPlot: an image plot with colour bar, cursor and hover.

A panel subscribes to the controller (``record_changed``, ``history_changed``,
``run_changed``) and the shared TimeCursor. While it is hidden (a closed dock, a tab in
the background) it only remembers what changed and redraws once when it is shown again,
so hidden panels cost nothing while training.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QComboBox, QGraphicsItem, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from gui import colormaps
from gui.controller import RunController
from gui.cursor import TimeCursor

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="#16181d", foreground="#d0d0d0")


class Panel(QWidget):
    """Subscribes; redraws only while visible. Subclasses implement the ``_update_*`` hooks."""

    title = ""
    HISTORY_INTERVAL = 0.1  # s: over-steps plots redraw at most 10 times a second

    def __init__(self, controller: RunController, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.cursor = cursor
        self._dirty: set[str] = {"run", "history", "record", "cursor"}
        self._history_drawn = 0.0
        self._history_timer = QTimer(self)
        self._history_timer.setSingleShot(True)
        self._history_timer.timeout.connect(lambda: self._mark("history"))
        controller.run_changed.connect(self._on_run)
        controller.history_changed.connect(self._on_history)
        controller.record_changed.connect(self._on_record)
        cursor.changed.connect(self._on_cursor)

    # ---- subscriptions
    def _on_run(self) -> None:
        self._mark("run")

    def _on_history(self) -> None:
        wait = self._history_drawn + self.HISTORY_INTERVAL - time.monotonic()
        if wait > 0:  # drawn a moment ago: once more when the interval is over
            self._dirty.add("history")
            if not self._history_timer.isActive():
                self._history_timer.start(int(wait * 1000) + 1)
            return
        self._mark("history")

    def _on_record(self, _rec: Any) -> None:
        self._mark("record")

    def _on_cursor(self, _t: int) -> None:
        self._mark("cursor")

    def _mark(self, what: str) -> None:
        self._dirty.add(what)
        if self.isVisible():
            self.refresh()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        """Bring the view up to date with everything that changed since it last drew."""
        dirty, self._dirty = self._dirty, set()
        if "run" in dirty:
            self._update_run()
            dirty |= {"history", "record", "cursor"}
        if "history" in dirty:
            self._history_drawn = time.monotonic()
            self._update_history()
        if "record" in dirty:
            self._update_record(self.controller.record)
        if "cursor" in dirty:
            self._update_cursor(self.cursor.t)

    # ---- hooks
    def _update_run(self) -> None:
        pass

    def _update_history(self) -> None:
        pass

    def _update_record(self, rec: Any) -> None:
        pass

    def _update_cursor(self, t: int) -> None:
        pass

    # ---- helpers
    def _header(self, *widgets: QWidget) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setContentsMargins(4, 2, 4, 2)
        for w in widgets:
            ignored = w.sizePolicy().horizontalPolicy() == QSizePolicy.Policy.Ignored
            row.addWidget(w, 1 if ignored else 0)
        return row

    def _layout(self) -> QVBoxLayout:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        return lay


TITLE_SIZE = "9pt"
FAST_FORMAT = QImage.Format.Format_ARGB32_Premultiplied  # what the raster engine draws fastest


def cheap_axis(axis: pg.AxisItem) -> None:
    """Ticks outside the plot and a pixmap cache: an axis then repaints only when its range
    changes, not whenever the data next to it does (replaying an axis costs ~1 ms)."""
    axis.setStyle(tickLength=4)
    axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def _relaxed_update_min(label: pg.LabelItem) -> None:
    """LabelItem.updateMin without the minimum width: a long title must not widen its plot."""
    h = label.itemRect().height()
    label.setMinimumWidth(0)
    label.setMinimumHeight(h)
    label._sizeHint = {
        Qt.SizeHint.MinimumSize: (0, h),
        Qt.SizeHint.PreferredSize: (0, h),
        Qt.SizeHint.MaximumSize: (-1, -1),
        Qt.SizeHint.MinimumDescent: (0, 0),
    }
    label.updateGeometry()


def set_title(plot: pg.PlotItem, title: str) -> None:
    """A compact title that may overflow rather than widen the plot (HTML allowed)."""
    label = plot.titleLabel
    if not getattr(label, "_relaxed", False):
        label.updateMin = types.MethodType(_relaxed_update_min, label)
        label._relaxed = True
    plot.setTitle(title, size=TITLE_SIZE)


def add_plot(layout: pg.GraphicsLayout, row: int, col: int, title: str) -> pg.PlotItem:
    """A PlotItem with a compact title and plain axis numbers (no SI-prefix rescaling)."""
    plot: pg.PlotItem = layout.addPlot(row=row, col=col)
    set_title(plot, title)
    plot.titleLabel.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    for side in ("left", "bottom"):
        plot.getAxis(side).enableAutoSIPrefix(False)
        cheap_axis(plot.getAxis(side))
    menus_off(plot)
    return plot


def menus_off(plot: pg.PlotItem) -> None:
    """Switch a plot's context menus off without deleting them.

    PlotItem.setMenuEnabled(False) makes its ViewBox drop the QMenu it built, and deleting
    that QMenu segfaulted PySide6 now and then in the GUI tests (about one full GUI run in
    four here; always in ViewBox._applyMenuEnabled, after many windows had come and gone;
    pyqtgraph has met QMenu lifetime crashes with PySide6 before: issues #2497, #2520). A
    disabled ViewBox never shows its menu (mouseClickEvent and getContextMenus check
    menuEnabled()), so keeping the object costs one idle QMenu per plot."""
    plot.setMenuEnabled(False, enableViewBoxMenu=None)  # the PlotItem's own menu: a flag only
    plot.vb.state["enableMenu"] = False  # what ViewBox.menuEnabled() reads


class ColorBar(pg.ColorBarItem):
    """pyqtgraph's ColorBarItem, whose constructor switches its menus off with ``menus_off``."""

    def setMenuEnabled(self, enableMenu: bool = True, enableViewBoxMenu: Any = "same") -> None:
        if enableMenu is False and enableViewBoxMenu == "same":
            menus_off(self)
        else:
            super().setMenuEnabled(enableMenu, enableViewBoxMenu)


LEGEND_BRUSH = (22, 24, 29, 200)


def add_legend(plot: pg.PlotItem, offset: tuple[int, int]) -> pg.LegendItem:
    """A legend on a dark, slightly transparent box (readable over curves)."""
    return plot.addLegend(offset=offset, brush=LEGEND_BRUSH, labelTextSize="8pt")


def swatch(text: str, colour: str) -> str:
    """``text`` in ``colour``, for titles that double as legends (no legend box over the data)."""
    return f'<span style="color:{colour}">{text}</span>'


class LayerSelector(QComboBox):
    """'layer 0', 'layer 1' ...; keeps the choice when the layer count stays."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("which stacked recurrent layer to show")
        self.set_layers(1)

    def set_layers(self, n: int) -> None:
        if self.count() == n:
            return
        keep = self.currentIndex()
        self.blockSignals(True)
        self.clear()
        self.addItems([f"layer {i}" for i in range(n)])
        self.setCurrentIndex(min(max(keep, 0), n - 1))
        self.blockSignals(False)
        self.setEnabled(n > 1)

    @property
    def layer(self) -> int:
        return max(0, self.currentIndex())


class FastImageItem(pg.ImageItem):
    """An ImageItem that hands QPainter a 32-bit image. pyqtgraph renders a colour-mapped
    image as Indexed8, which QPainter converts again on every paint (about 20x slower to
    draw than ARGB32); here the conversion happens once per new frame (~10 µs)."""

    def render(self, *args: Any, **kwargs: Any) -> None:
        super().render(*args, **kwargs)
        q = self.qimage
        if q is not None and q.format() != FAST_FORMAT:
            self.qimage = q.convertToFormat(FAST_FORMAT)


class HeatmapPlot:
    """A PlotItem holding one row-major image (rows = y, columns = x), its colour bar, a
    vertical cursor line and optional dashed boundary lines (Seq2Seq encoder | decoder)."""

    def __init__(
        self,
        layout: pg.GraphicsLayout,
        row: int,
        col: int,
        *,
        title: str,
        x_label: str,
        y_label: str,
        colormap: str,
        levels: tuple[float, float],
        bar_label: str = "",
        interactive_bar: bool = False,
        invert_y: bool = True,
    ) -> None:
        self.plot = add_plot(layout, row, col, title)
        self.plot.setLabel("bottom", x_label)
        if y_label:
            self.plot.setLabel("left", y_label)
        self.plot.vb.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.vb.invertY(invert_y)
        self.image = FastImageItem(autoDownsample=True)  # no more pixels than the screen shows
        self.plot.addItem(self.image)
        self.levels = levels
        self.bar = ColorBar(
            values=levels,
            colorMap=colormaps.cmap(colormap),
            width=10,
            interactive=interactive_bar,
            label=bar_label or None,
            colorMapMenu=False,
        )
        self.bar.setImageItem(self.image, insert_in=self.plot)
        cheap_axis(self.bar.axis)
        self.cursor_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(colormaps.CURSOR, width=1))
        self.cursor_line.setZValue(10)
        self.plot.addItem(self.cursor_line)
        self._bounds: list[pg.InfiniteLine] = []
        self.data: np.ndarray | None = None
        self._shape: tuple[int, ...] = ()
        self._rect: tuple[float, float, float, float] | None = None
        self.own_levels = levels  # what the panel asked for (``levels`` may be a shared scale's)
        # a shared scale (gui.compare.scales.SharedScale) gives several heatmaps one colour scale
        self.scale: Any = None
        if interactive_bar:
            self.bar.sigLevelsChangeFinished.connect(self._on_bar_dragged)

    def _on_bar_dragged(self, bar: Any) -> None:
        """The user dragged the colour bar: keep that range for the next frames too."""
        levels = tuple(float(v) for v in bar.levels())
        self.own_levels = self.levels = levels  # type: ignore[assignment]
        if self.scale is not None:
            self.scale.dragged(self, levels)

    def set_data(
        self,
        data: np.ndarray | None,
        levels: tuple[float, float] | None = None,
        rect: QRectF | None = None,
        fit_view: bool = True,
    ) -> None:
        """Upload ``data`` (rows, cols). Levels stay fixed unless given; the view range is set
        only when the shape (or ``rect``) changes, so the axes do not jump."""
        if data is None:
            self.data = None
            self.image.clear()
            return
        self.data = data
        if levels is not None:
            self.own_levels = levels
        if self.scale is not None:
            levels = self.scale.request(self, self.own_levels)
        if levels is not None and levels != self.levels:
            self.levels = levels
            self.bar.setLevels(values=levels)
        self.image.setImage(data, autoLevels=False, levels=self.levels)
        r = rect or QRectF(0, 0, data.shape[1], data.shape[0])
        key = (r.x(), r.y(), r.width(), r.height())
        if key != self._rect:
            self._rect = key
            self.image.setRect(r)
            if fit_view:
                self.plot.vb.setRange(rect=r, padding=0)

    def show_levels(self, levels: tuple[float, float]) -> None:
        """Show the image with ``levels`` (a shared scale's) without changing what the panel asked for."""
        if levels != self.levels:
            self.levels = levels
            self.bar.setLevels(values=levels)
            if self.data is not None:
                self.image.setLevels(levels)

    def set_boundaries(self, xs: list[float]) -> None:
        set_lines(self.plot, self._bounds, xs, angle=90)

    def set_cursor(self, x: float) -> None:
        self.cursor_line.setPos(x)

    def contains(self, scene_pos: QPointF) -> bool:
        return self.plot.vb.sceneBoundingRect().contains(scene_pos)

    def to_view(self, scene_pos: QPointF) -> QPointF:
        return self.plot.vb.mapSceneToView(scene_pos)

    def value_at(self, scene_pos: QPointF) -> tuple[int, int, float] | None:
        """(row, col, value) of the pixel under ``scene_pos`` (None outside the image)."""
        if self.data is None or not self.contains(scene_pos) or self._rect is None:
            return None
        p = self.to_view(scene_pos)
        x0, y0, w, h = self._rect
        rows, cols = self.data.shape
        col = int(np.floor((p.x() - x0) / w * cols)) if w else -1
        row = int(np.floor((p.y() - y0) / h * rows)) if h else -1
        if 0 <= row < rows and 0 <= col < cols:
            return row, col, float(self.data[row, col])
        return None


def set_lines(plot: pg.PlotItem, lines: list[pg.InfiniteLine], positions: list[float], *, angle: int) -> None:
    """Show dashed lines at ``positions``, reusing the items in ``lines`` (created only when more are needed)."""
    while len(lines) < len(positions):
        line = pg.InfiniteLine(
            angle=angle, movable=False, pen=pg.mkPen("#ffffff", width=1, style=Qt.PenStyle.DashLine)
        )
        plot.addItem(line)
        lines.append(line)
    for i, line in enumerate(lines):
        if i < len(positions):
            line.setPos(positions[i])
            line.show()
        else:
            line.hide()


def info_label(text: str = "", style: str = "color: #b0b4bb;") -> QLabel:
    """A one-line label that may be cut short rather than widen its panel."""
    label = QLabel(text)
    label.setStyleSheet(style)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setMinimumWidth(40)
    return label


def placeholder(text: str) -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("color: #8a8f98; padding: 12px;")
    label.setWordWrap(True)
    return label


class HeatmapGrids:
    """The heatmap grids of a panel whose plots depend on the run (LSTM gates or GRU gates,
    with or without a cell state), shown one at a time in ``view``.

    Each arrangement is built once, on first use, and kept: a run switch swaps which grid the
    view shows instead of clearing the layout and building new plot items. Destroying
    pyqtgraph plots (ViewBoxes and their QMenus) while the app runs is where PySide6 has
    crashed (pyqtgraph issues #2497, #2520), and a fresh-clone test run segfaulted once in
    such a rebuild. A grid not shown costs a few idle items."""

    def __init__(self, view: pg.GraphicsLayoutWidget) -> None:
        self.view = view
        self._grids: dict[Hashable, tuple[pg.GraphicsLayout, dict[str, HeatmapPlot]]] = {}

    def show(
        self, key: Hashable, build: Callable[[pg.GraphicsLayout], dict[str, HeatmapPlot]]
    ) -> dict[str, HeatmapPlot]:
        """Show the grid for ``key`` (``build(layout)`` fills a new one) and return its plots."""
        grid = self._grids.get(key)
        if grid is None:
            layout = self.view.ci if not self._grids else pg.GraphicsLayout()
            grid = (layout, build(layout))
            self._grids[key] = grid
        if self.view.centralWidget is not grid[0]:
            self.view.setCentralItem(grid[0])
        return grid[1]
