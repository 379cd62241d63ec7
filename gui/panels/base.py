"""Panel: the base of every view; HeatmapPlot: an image plot with colour bar, cursor and hover.

A panel subscribes to the controller (``record_changed``, ``history_changed``,
``run_changed``) and the shared TimeCursor. While it is hidden (a closed dock, a tab in
the background) it only remembers what changed and redraws once when it is shown again,
so hidden panels cost nothing while training.
"""

from __future__ import annotations

import os
import re
import time
import types
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QFontMetricsF, QImage
from PySide6.QtWidgets import QComboBox, QGraphicsItem, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from rnnscope.gui.panels import colormaps, scales
from rnnscope.gui.panels.model import PanelModel
from rnnscope.gui.shell.cursor import TimeCursor

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="#16181d", foreground="#d0d0d0")

# Qt's raster engine splits every larger fill and image scaling into tasks for a thread pool
# and waits for them. For plot-sized areas the hand-off costs more than the fill, and on a
# machine whose cores are busy training the pool threads queue behind the training threads
# while the GUI thread waits: with the pool off, a redraw of all panels took 22 ms instead of
# 31 ms while training (benchmarks/bench_gui.py, 2 cores), and its CPU time dropped too.
# Qt reads this when it first needs the pool, i.e. at the first paint, after this import.
os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")


class Panel(QWidget):
    """Subscribes; redraws only while visible. Subclasses implement the ``_update_*`` hooks."""

    title = ""
    HISTORY_INTERVAL = 0.1  # s: over-steps plots redraw at most 10 times a second
    shows_frame = True  # draws the shown step's frame: says when that frame is a replay elsewhere

    def __init__(self, controller: PanelModel, cursor: TimeCursor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.cursor = cursor
        self._dirty: set[str] = {"run", "history", "record", "cursor"}
        self._banner: QLabel | None = None  # made by _layout()
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
            self._update_provenance(self.controller.record)
            self._update_record(self.controller.record)
        if "cursor" in dirty:
            self._update_cursor(self.cursor.t)

    def _update_provenance(self, rec: Any) -> None:
        """A banner over the panel while the shown frame was regenerated somewhere it may not be
        the recorded one (another machine kind, or a replay that deviated from the file)."""
        note = getattr(rec, "provenance", "") if self.shows_frame and rec is not None else ""
        banner = self._banner
        if banner is None:
            return
        if note:  # its headline here, the whole account (deviation, drift table) on hover
            banner.setText("⚠ " + note.splitlines()[0] + " · hover for how far")
            banner.setToolTip(note)
        banner.setVisible(bool(note))

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
        banner = QLabel()
        banner.setWordWrap(True)
        banner.setStyleSheet("color: #1b1b1b; background: #f0c05a; padding: 2px 6px;")
        banner.setObjectName("provenance")
        banner.hide()
        lay.addWidget(banner)
        self._banner = banner
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


def _no_update(*_args: Any) -> None:
    pass


_TAG = re.compile(r"(<[^>]+>)")
ELLIPSIS = "…"


def plain_text(html: str) -> str:
    """The visible characters of a title (tags dropped; titles use no entities)."""
    return "".join(p for p in _TAG.split(html) if not p.startswith("<"))


def elide_html(html: str, fits: Callable[[str], bool], *, plain: bool = False) -> str:
    """``html`` cut at the last word boundary where its visible text plus "…" ``fits``, with
    the tags still open at the cut closed again; the whole of it when it fits. A word (a
    number, "1.2e-05") is never cut: at worst only "…" is left. ``plain``: ``html`` is plain
    text (a "<" in it is a character, not a tag)."""
    pieces = [html] if plain else _TAG.split(html)
    visible = html if plain else plain_text(html)
    if fits(visible):
        return html
    # the longest word-boundary prefix that fits: widths grow with the prefix, so a binary
    # search over the cuts asks ``fits`` ~log2(words) times (a text measure is ~15 us)
    kept_at = [k for k in (visible[:i].rstrip(" ·:,;=") for i, ch in enumerate(visible) if ch == " ") if k]
    lo, hi = 0, len(kept_at)  # kept_at[:lo] fit; kept_at[hi:] do not
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(kept_at[mid] + ELLIPSIS):
            lo = mid + 1
        else:
            hi = mid
    if lo == 0:
        return ELLIPSIS
    kept = kept_at[lo - 1]
    prefix = _prefix(pieces, len(kept), plain)
    return prefix + ELLIPSIS + ("" if plain else "".join(_closing_tags(prefix)))


def _prefix(pieces: list[str], chars: int, plain: bool) -> str:
    out, n = [], 0
    for piece in pieces:
        if n >= chars:  # nothing after the cut, not even a tag: "…" goes where the text stopped
            break
        if not plain and piece.startswith("<"):
            out.append(piece)
            continue
        out.append(piece[: chars - n])
        n += len(out[-1])
    return "".join(out)


def _closing_tags(prefix: str) -> list[str]:
    """Closing tags for the elements still open at the end of ``prefix``."""
    stack: list[str] = []
    for piece in _TAG.split(prefix):
        if piece.startswith("</"):
            if stack:
                stack.pop()
        elif piece.startswith("<") and not piece.endswith("/>"):
            stack.append(piece[1:].split()[0].rstrip(">"))
    return [f"</{t}>" for t in reversed(stack)]


def _fit_title(label: pg.LabelItem) -> None:
    """Show ``label``'s whole title, or as much as fits its width elided at a word boundary,
    with the whole text as its tooltip."""
    full = getattr(label, "_full", None)
    if full is None:
        return
    width = label.width() - 6
    if width <= 0:  # not laid out yet: the geometry change will come
        shown = full
    else:
        metrics = QFontMetricsF(label.item.font())
        shown = elide_html(full, lambda text: metrics.horizontalAdvance(text) <= width)
    label.setToolTip("" if shown == full else plain_text(full))
    if label.text == shown:
        return
    hint = label._sizeHint
    label.updateGeometry = _no_update  # shadows the layout invalidations inside LabelItem.setText
    try:
        label.setText(shown)
    finally:
        del label.updateGeometry
    if label._sizeHint != hint:  # another line height after all: the layout must know
        label.updateGeometry()


def set_title(plot: pg.PlotItem, title: str) -> None:
    """A compact title that never widens its plot (HTML allowed): text that does not fit the
    plot's width is elided with "…" at a word boundary, the whole of it in a tooltip, and it is
    fitted again when the plot is resized.

    A new text for a title already shown takes no relayout of the plot: the label's size
    hint is its line height only (see ``_relaxed_update_min``), so unless that changes, only
    the text is set and centred again. (PlotItem.setTitle invalidates the plot's layout three
    times, ~0.4 ms a title, and the States panel retitles a heatmap whenever its scale moves.)"""
    label = plot.titleLabel
    if not getattr(label, "_relaxed", False):
        label.updateMin = types.MethodType(_relaxed_update_min, label)
        label._relaxed = True
        label._full = title
        plot.setTitle(title, size=TITLE_SIZE)
        # over the whole plot, axes and a colour bar included (pyqtgraph puts it over the view
        # box alone, which in a narrow heatmap left room for "…" only)
        plot.layout.removeItem(label)
        plot.layout.addItem(label, 0, 0, 1, 6)
        label.geometryChanged.connect(lambda: _fit_title(label))
        _fit_title(label)
        return
    if getattr(label, "_full", None) == title and label.isVisible():
        return
    label._full = title
    if not label.isVisible() or label.opts.get("size") != TITLE_SIZE:
        plot.setTitle(title, size=TITLE_SIZE)
    _fit_title(label)


def title_text(plot: pg.PlotItem) -> str:
    """The whole title of ``plot`` as set (what its tooltip shows when it is elided)."""
    return getattr(plot.titleLabel, "_full", plot.titleLabel.text)


def add_plot(layout: pg.GraphicsLayout, row: int, col: int, title: str) -> pg.PlotItem:
    """A PlotItem with a compact title and plain axis numbers (no SI-prefix rescaling)."""
    plot: pg.PlotItem = layout.addPlot(row=row, col=col)
    set_title(plot, title)
    plot.titleLabel.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    for side in ("left", "bottom"):
        plot.getAxis(side).enableAutoSIPrefix(False)
        cheap_axis(plot.getAxis(side))
    # a narrow plot (the States heatmaps, ~60 px) got "102030": its tick labels touching
    plot.getAxis("bottom").setStyle(textFillLimits=[(0, 0.55), (2, 0.45), (4, 0.3), (6, 0.2)])
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
    """pyqtgraph's ColorBarItem, whose constructor switches its menus off with ``menus_off``;
    a double-click on it calls ``on_double_click`` (a heatmap: follow the data again)."""

    on_double_click: Callable[[], None] | None = None

    def setMenuEnabled(self, enableMenu: bool = True, enableViewBoxMenu: Any = "same") -> None:
        if enableMenu is False and enableViewBoxMenu == "same":
            menus_off(self)
        else:
            super().setMenuEnabled(enableMenu, enableViewBoxMenu)

    def mouseClickEvent(self, ev: Any) -> None:
        if ev.double() and self.on_double_click is not None:
            ev.accept()
            self.on_double_click()


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


class PartLayerSelector(QComboBox):
    """'layer 0', 'layer 1' ... or, for Seq2Seq, 'encoder layer 0' ... 'decoder layer 1': one
    recurrent stack's layer. Keeps the choice while the list stays the same."""

    def __init__(self, tooltip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip(tooltip)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # "decoder layer 1" whole
        self._choices: list[tuple[str, int]] = []
        self.set_parts(["rnn"], 1)

    def set_parts(self, parts: list[str], layers: int) -> None:
        choices = [(p, k) for p in parts for k in range(layers)]
        if choices == self._choices:
            return
        keep = self._choices[self.currentIndex()] if 0 <= self.currentIndex() < len(self._choices) else None
        self._choices = choices
        self.blockSignals(True)
        self.clear()
        self.addItems([f"{p} layer {k}" if len(parts) > 1 else f"layer {k}" for p, k in choices])
        self.setCurrentIndex(choices.index(keep) if keep in choices else 0)
        self.blockSignals(False)
        self.setEnabled(len(choices) > 1)

    @property
    def choice(self) -> tuple[str, int]:
        i = self.currentIndex()
        return self._choices[i] if 0 <= i < len(self._choices) else self._choices[0]


def premultiplied_table(lut: np.ndarray) -> np.ndarray:
    """(N + 1,) uint32: the colour table ``lut`` ((N, 3) or (N, 4) uint8) as premultiplied
    ARGB32 pixels, Qt's own conversion, and a last, fully transparent entry (for NaN)."""
    lut = np.asarray(lut, dtype=np.uint8)
    n = lut.shape[0]
    argb = np.empty((1, n), np.uint32)
    alpha = lut[:, 3].astype(np.uint32) if lut.shape[1] == 4 else np.uint32(255)
    argb[0] = (
        (alpha << 24) | (lut[:, 0].astype(np.uint32) << 16) | (lut[:, 1].astype(np.uint32) << 8) | lut[:, 2]
    )
    q = pg.functions.ndarray_to_qimage(argb, QImage.Format.Format_ARGB32).convertToFormat(FAST_FORMAT)
    out = np.zeros(n + 1, np.uint32)
    out[:n] = np.frombuffer(q.constBits(), np.uint32, count=n)
    return out


def block_mean(image: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Means of ``rows`` x ``cols`` blocks of ``image`` (a partial last block is dropped; NaN
    propagates), as ``pyqtgraph.functions.downsample`` along both axes computes them, up to
    float rounding: summed block row by block row on a C-ordered copy, not by ``ndarray.mean``
    over a strided axis, which took ~0.1 ms per heatmap and frame."""
    if rows <= 1 and cols <= 1:
        return image
    h, w = image.shape[0] // rows * rows, image.shape[1] // cols * cols
    a = np.ascontiguousarray(image[:h, :w])
    if cols > 1:
        a = a.reshape(h, w // cols, cols)
        out = a[:, :, 0].copy()
        for k in range(1, cols):
            out += a[:, :, k]
        out /= cols
        a = out
    if rows > 1:
        a = a.reshape(h // rows, rows, a.shape[1])
        out = a[:, 0, :].copy()
        for k in range(1, rows):
            out += a[:, k, :]
        out /= rows
        a = out
    return a


class FastImageItem(pg.ImageItem):
    """An ImageItem that maps its float data straight to a premultiplied ARGB32 image.

    pyqtgraph renders a colour-mapped image as Indexed8 with a Python-built colour table
    (256 qRgb calls per frame), which QPainter converts again on every paint (~20x slower
    to draw than ARGB32). Here one table lookup in numpy makes the 32-bit image QPainter
    draws fastest. Same colours: the value -> colour index mapping is pyqtgraph's
    (``(x - lo) * N / (hi - lo)`` in float32, clipped to [0, N-1], truncated) and NaN is
    transparent; anything else (RGB data, integer data, no levels) takes pyqtgraph's path."""

    _table: np.ndarray | None = None
    _table_for: Any = None

    def _computeDownsampleFactors(self) -> tuple[int, int]:
        """pyqtgraph's factors (screen pixels per image pixel along x and y, rounded down),
        read straight off the device transform instead of mapping three points through it."""
        view = self.getViewWidget()
        if view is None:
            return 1, 1
        t = QGraphicsItem.deviceTransform(self, view.viewportTransform())
        if t.determinant() == 0:  # not shown yet
            return 1, 1
        w = (t.m11() ** 2 + t.m12() ** 2) ** 0.5
        h = (t.m21() ** 2 + t.m22() ** 2) ** 0.5
        if w == 0 or h == 0:
            return 1, 1
        return max(1, int(1.0 / w)), max(1, int(1.0 / h))

    def render(self, *args: Any, **kwargs: Any) -> None:
        if not self._render_float():
            super().render(*args, **kwargs)
        q = self.qimage
        if q is not None and q.format() != FAST_FORMAT:
            self.qimage = q.convertToFormat(FAST_FORMAT)

    def _render_float(self) -> bool:
        """The fast path; False when this image is not a 2-D float image with levels and a table."""
        image, lut, levels = self.image, self.lut, self.levels
        if (
            image is None
            or image.ndim != 2
            or image.dtype.kind != "f"
            or image.size == 0
            or self.axisOrder != "row-major"
            or levels is None
            or np.ndim(levels) != 1
            or not isinstance(lut, np.ndarray)
            or lut.dtype != np.uint8
            or lut.ndim != 2
            or lut.shape[1] not in (3, 4)
            or not 0 < lut.shape[0] <= 256
        ):
            return False
        self._unrenderable = True
        work = np.float32 if np.can_cast(image.dtype, np.float32) else np.float64
        if self.autoDownsample:
            xds, yds = self._computeDownsampleFactors()
            if self._nanPolicy != "propagate" and np.isnan(image.min()):
                image = pg.functions.downsample(image, xds, axis=1, nanPolicy=self._nanPolicy)
                image = pg.functions.downsample(image, yds, axis=0, nanPolicy=self._nanPolicy)
            else:
                image = block_mean(image, yds, xds)
            self._lastDownsample = (xds, yds)
            if image.size == 0:
                return True
        if self._table_for is not lut:
            self._table, self._table_for = premultiplied_table(lut), lut
        assert self._table is not None
        n = lut.shape[0]
        lo, hi = float(levels[0]), float(levels[1])
        rng = (hi - lo) or 1.0
        # (x - lo) * N / (hi - lo) in the work type, as pyqtgraph's rescaleData; always into a
        # C-ordered array (a panel's (H, T) image is a transposed view: working in its order
        # made the lookup below 3x slower)
        if image is not self.image and image.dtype == work and image.flags.c_contiguous:
            scaled = image  # block_mean's fresh array: ours to overwrite
            scaled -= work(lo)
        else:
            scaled = np.subtract(image, work(lo), dtype=work, order="C")
        scaled *= work(n / rng)
        np.minimum(scaled, n - 1, out=scaled)  # clip to [0, N-1]; NaN stays NaN
        np.maximum(scaled, 0, out=scaled)
        if np.isnan(scaled.min()):  # min() is NaN when any value is: NaN -> the transparent entry
            scaled[np.isnan(scaled)] = n
        argb = self._table.take(scaled.astype(np.intp))  # (rows, cols) uint32, truncated as pyqtgraph
        self.qimage = pg.functions.ndarray_to_qimage(argb, FAST_FORMAT)
        self._renderRequired = False
        self._unrenderable = False
        return True


class HeatmapPlot:
    """A PlotItem holding one row-major image (rows = y, columns = x), its colour bar, a
    vertical cursor line and optional dashed boundary lines (Seq2Seq encoder | decoder).

    ``scale`` says how values become colours (gui.panels.scales): ``fixed`` keeps ``levels``;
    ``linear``, ``log10`` and ``signed_log`` follow the data of every frame (whole decades for
    the log kinds) unless the user drags the colour bar, which then keeps their range until a
    double-click on the bar lets it follow the data again. The bar's ends are always labelled."""

    BAR_PICTURES = 16  # colour-bar axis pictures kept per heatmap, by levels and axis size

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
        scale: str = "fixed",
    ) -> None:
        assert scale in ("fixed", "linear", "log10", "signed_log"), scale
        self.kind = scale
        self.auto = scale != "fixed"  # follows the data (until the user drags the bar)
        self._followed: tuple[float, float] | None = None  # the last levels fitted to the data
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
        self.interactive = interactive_bar
        self.bar = ColorBar(
            values=scales.bar_range(scale, levels),
            colorMap=colormaps.cmap(colormap),
            width=10,
            interactive=interactive_bar,
            label=bar_label or None,
            colorMapMenu=False,
        )
        self.bar.setImageItem(self.image, insert_in=self.plot)
        cheap_axis(self.bar.axis)
        for side in ("left", "top", "bottom"):  # the bar's frame: painted once, not with every frame
            self.bar.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.cursor_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(colormaps.CURSOR, width=1))
        self.cursor_line.setZValue(10)
        self.plot.addItem(self.cursor_line)
        self._bounds: list[pg.InfiniteLine] = []
        self.data: np.ndarray | None = None
        self._shape: tuple[int, ...] = ()
        self._rect: tuple[float, float, float, float] | None = None
        self.own_levels = levels  # what the panel asked for (``levels`` may be a shared scale's)
        self._bar_pictures: dict[tuple[tuple[float, float], tuple[float, float]], Any] = {}
        # a shared scale (gui.compare.scales.SharedScale) gives several heatmaps one colour scale
        self.scale: Any = None
        self._label_bar(levels)
        if interactive_bar:
            self.bar.sigLevelsChangeFinished.connect(self._on_bar_dragged)
            self.bar.on_double_click = self.follow_data

    # ---- levels
    def _fit(self, data: np.ndarray) -> tuple[float, float] | None:
        """The levels this frame's data ask for (None: keep the current ones)."""
        if self.kind == "log10":
            fitted = scales.decade_levels(data, self._followed)
        elif self.kind == "signed_log":
            fitted = scales.signed_decades(data, self._followed)
        elif self.kind == "linear":
            fitted = colormaps.nice_symmetric(data)
        else:
            return None
        if fitted is not None:
            self._followed = fitted
        return fitted

    def _on_bar_dragged(self, bar: Any) -> None:
        """The user dragged the colour bar: keep that range for the next frames too."""
        levels = scales.from_bar(self.kind, tuple(float(v) for v in bar.levels()), self.levels)  # type: ignore[arg-type]
        self.auto = False
        self.own_levels = levels
        self._show(levels, force=True)
        if self.scale is not None:
            self.scale.dragged(self, levels)

    def follow_data(self) -> None:
        """Let the colour scale follow the data again (a double-click on the bar)."""
        if self.kind == "fixed":
            return
        members = self.scale.members if self.scale is not None else [self]
        for m in members:
            m.auto, m._followed = True, None
        for m in members:
            if m.data is not None:
                m.set_data(m.data)

    def reset_scale(self) -> None:
        """A new run: fit the next frame afresh (a range the user set stays set)."""
        self._followed = None

    def set_data(
        self,
        data: np.ndarray | None,
        levels: tuple[float, float] | None = None,
        rect: QRectF | None = None,
        fit_view: bool = True,
    ) -> None:
        """Upload ``data`` (rows, cols). Fixed levels stay unless given; a data-following scale
        fits them to ``data`` (or takes ``levels`` when given) while it follows. The view range
        is set only when the shape (or ``rect``) changes, so the axes do not jump."""
        if data is None:
            self.data = None
            self.image.clear()
            return
        self.data = data
        if self.kind == "fixed" or self.auto:
            wanted = levels if levels is not None else self._fit(data)
            if wanted is not None:
                self.own_levels = wanted
        shown = self.scale.request(self, self.own_levels) if self.scale is not None else self.own_levels
        self._show(shown, force=True)
        r = rect or QRectF(0, 0, data.shape[1], data.shape[0])
        key = (r.x(), r.y(), r.width(), r.height())
        if key != self._rect:
            self._rect = key
            self.image.setRect(r)
            if fit_view:
                self.plot.vb.setRange(rect=r, padding=0)

    def show_levels(self, levels: tuple[float, float]) -> None:
        """Show the image with ``levels`` (a shared scale's) without changing what the panel asked for."""
        self._show(levels, force=False)

    def _show(self, levels: tuple[float, float], *, force: bool) -> None:
        """Show ``levels``: the bar, and the image (uploaded again when ``force`` or when a
        signed_log image's floor moved, which changes every pixel)."""
        changed = tuple(levels) != tuple(self.levels)
        floor_moved = self.kind == "signed_log" and changed and levels[0] != self.levels[0]
        if changed:
            self.levels = levels
            self._set_bar_levels(levels)
        if self.data is None:
            return
        bar = scales.bar_range(self.kind, self.levels)
        if force or floor_moved:
            shown = scales.signed_log(self.data, self.levels[0]) if self.kind == "signed_log" else self.data
            self.image.setImage(shown, autoLevels=False, levels=bar)
        elif changed:
            self.image.setLevels(bar)

    def _label_bar(self, levels: tuple[float, float]) -> None:
        """Ticks at both ends of the bar (and a few between), in the values themselves, with an
        axis wide enough for each label (negative ones too); the range in words on hover."""
        axis = self.bar.axis
        marks = scales.ticks(self.kind, levels)
        axis.setTicks([marks, []])
        metrics = QFontMetricsF(axis.font() if axis.style.get("tickFont") is None else axis.style["tickFont"])
        # as wide as the widest label this kind of scale writes ("−2.5e-05", "1e+30"), so the bar
        # keeps one width as its range moves (a new width relays out the plot, and drops the
        # axis pictures kept for the levels seen before)
        template = {"fixed": "", "linear": "−2.5e-05", "log10": "1e+300", "signed_log": "−1e-300"}[self.kind]
        texts = [text for _pos, text in marks] + [template]
        widest = max(metrics.horizontalAdvance(text) for text in texts)
        label = 18 if axis.label.isVisible() else 0
        width = int(widest) + 12 + label
        if width > (axis.fixedWidth or 0):  # grows only: a bar that changes width relays out its plot
            axis.setWidth(width)
        tip = f"colour scale: {scales.describe(self.kind, levels)}"
        if self.interactive:
            tip += (
                "\ndrag an end of the bar (or the bar) to set the range; double-click: follow the data again"
            )
        self.bar.setToolTip(tip)

    def _set_bar_levels(self, levels: tuple[float, float]) -> None:
        """Move the colour bar to ``levels``, reusing the axis picture drawn for them before.

        A symmetric scale moves between a few 1/2/5 x 10^k values from frame to frame, and
        laying out a colour bar's tick text again costs ~1 ms each time: the AxisItem's
        recorded picture (``AxisItem.picture``, what its ``paint`` replays) is kept per
        (levels, axis size) and put back when the bar returns to those levels."""
        axis = self.bar.axis
        size = (axis.size().width(), axis.size().height())
        drawn = getattr(axis, "picture", None)
        if drawn is not None:  # drawn for the bar's current levels at this size (a resize drops it)
            self._bar_pictures[(tuple(self.bar.levels()), size)] = drawn
            while len(self._bar_pictures) > self.BAR_PICTURES:
                del self._bar_pictures[next(iter(self._bar_pictures))]
        self._label_bar(levels)
        self.bar.setLevels(values=scales.bar_range(self.kind, levels))
        again = self._bar_pictures.get(
            (tuple(self.bar.levels()), (axis.size().width(), axis.size().height()))
        )
        if again is not None and hasattr(axis, "picture"):
            axis.picture = again

    def set_boundaries(self, xs: list[float]) -> None:
        set_lines(self.plot, self._bounds, xs, angle=90)

    def set_cursor(self, x: float) -> None:
        self.cursor_line.setPos(x)

    def contains(self, scene_pos: QPointF) -> bool:
        return self.plot.vb.sceneBoundingRect().contains(scene_pos)

    def to_view(self, scene_pos: QPointF) -> QPointF:
        return self.plot.vb.mapSceneToView(scene_pos)

    def value_at(self, scene_pos: QPointF) -> tuple[int, int, float] | None:
        """(row, col, value) of the pixel under ``scene_pos`` (None outside the image); the
        value is the data's own (a signed_log map's real gradient, not its colour position)."""
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


class ElidedLabel(QLabel):
    """A one-line label that never widens its panel: text that does not fit is elided with "…"
    at a word boundary (a number is never cut) and the whole text is its tooltip. ``text()``
    returns the whole text."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self._own_tip = ""
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text
        self._fit()

    def text(self) -> str:
        return self._full

    def setToolTip(self, tip: str) -> None:
        self._own_tip = tip
        self._fit()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        width = self.contentsRect().width()
        metrics = QFontMetricsF(self.font())
        full = self._full
        shown = (
            full
            if width <= 0
            else elide_html(full, lambda t: metrics.horizontalAdvance(t) <= width, plain=True)
        )
        if shown != super().text():
            super().setText(shown)
        tip = self._own_tip or (full if shown != full else "")
        if shown != full and self._own_tip and full not in self._own_tip:
            tip = full + "\n" + self._own_tip
        if tip != super().toolTip():
            super().setToolTip(tip)


def info_label(text: str = "", style: str = "color: #b0b4bb;") -> QLabel:
    """A one-line label that is elided at a word boundary rather than widen its panel."""
    label = ElidedLabel(text)
    label.setStyleSheet(style)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setMinimumWidth(40)
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
