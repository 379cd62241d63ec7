"""TokenGrid: rows of tokens, one column per timestep, painted directly (no HTML layout).

Cheap enough to redraw on every frame: a QTextBrowser table of 4 x 100 cells took ~15 ms
to lay out; this paints the same in well under a millisecond. Each row has a label and
per-token colours; the column of the timestep cursor is highlighted, and clicking a
column moves the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

TEXT, MUTED, CURSOR_BG, HEADER = "#d0d0d0", "#6b7079", "#4a4420", "#8a8f98"


@dataclass
class TokenRow:
    label: str
    tokens: list[str]
    colours: list[str] | None = None  # one per token (None: plain text colour)
    offset: int = (
        0  # the row's column c is timestep offset + c (Seq2Seq: decoder rows start after the source)
    )


class TokenGrid(QWidget):
    column_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._advance: dict[str, int] = {}  # text -> width in this font (a task has few tokens)
        self._colours: dict[str, QColor] = {}
        self.setFont(QFont("monospace", 9))
        self.rows: list[TokenRow] = []
        self.cursor = -1
        self._label_w = 110
        self.labels_outside = False  # the row labels are painted by a RowLabels beside a scroll area
        self.labels_width = 110  # what the row labels need
        self._cell_w = 24
        self._row_h = 20
        self.setMouseTracking(False)

    def _width(self, fm: QFontMetrics, text: str) -> int:
        w = self._advance.get(text)
        if w is None:
            w = self._advance[text] = fm.horizontalAdvance(text)
        return w

    def _colour(self, name: str) -> QColor:
        c = self._colours.get(name)
        if c is None:
            c = self._colours[name] = QColor(name)
        return c

    def set_rows(self, rows: list[TokenRow], cursor: int) -> None:
        self.rows = rows
        self.cursor = cursor
        fm = QFontMetrics(self.font())
        longest = max((self._width(fm, t) for t in {t for r in rows for t in r.tokens}), default=8)
        self.labels_width = max((self._width(fm, r.label) for r in rows), default=60) + 16
        self._label_w = 4 if self.labels_outside else self.labels_width
        self._cell_w = max(18, longest + 8)
        self._row_h = fm.height() + 6
        if self.sizeHint() != self.size():  # the same shape as the last sample: no relayout
            self.updateGeometry()
            self.resize(self.sizeHint())
        self.update()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.FontChange:
            self._advance.clear()
        super().changeEvent(event)

    def set_cursor(self, t: int) -> None:
        if t != self.cursor:
            self.cursor = t
            self.update()

    def column_x(self, t: int) -> int:
        """Left edge of timestep column ``t``, in the grid's pixels."""
        return self._label_w + t * self._cell_w

    def columns(self) -> int:
        return max((len(r.tokens) for r in self.rows), default=0)

    def sizeHint(self) -> QSize:
        return QSize(
            self._label_w + self._cell_w * self.columns() + 8, self._row_h * (len(self.rows) + 1) + 8
        )

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setFont(self.font())
        h, w, x0 = self._row_h, self._cell_w, self._label_w
        n = self.columns()
        visible = event.rect()  # only the columns in view (the grid sits in a scroll area)
        first = max(0, (visible.left() - x0) // w)
        last = min(n, (visible.right() - x0) // w + 1)
        for i, row in enumerate(self.rows):  # the timestep cursor, in each row's own time
            col = self.cursor - row.offset
            if 0 <= col < len(row.tokens):
                p.fillRect(QRect(x0 + col * w, h * (i + 1), w, h), self._colour(CURSOR_BG))
        centre = Qt.AlignmentFlag.AlignCenter
        left = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        p.setPen(self._colour(HEADER))
        if not self.labels_outside:
            p.drawText(4, 0, x0, h, left, "t")
        for t in range(first, last):
            p.drawText(x0 + t * w, 0, w, h, centre, str(t))
        for i, row in enumerate(self.rows):
            y = h * (i + 1)
            pen = TEXT
            p.setPen(self._colour(TEXT))
            if not self.labels_outside:
                p.drawText(4, y, x0, h, left, row.label)
            colours = row.colours
            for t in range(first, min(last, len(row.tokens))):
                colour = colours[t] if colours is not None and t < len(colours) else TEXT
                if colour != pen:  # runs of one colour share a pen
                    pen = colour
                    p.setPen(self._colour(colour))
                p.drawText(x0 + t * w, y, w, h, centre, row.tokens[t])
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        t = int((event.position().x() - self._label_w) // self._cell_w)
        if 0 <= t < self.columns():
            self.column_clicked.emit(t)


class RowLabels(QWidget):
    """The row labels of a TokenGrid ("t", "input", "target" ...), beside the scroll area that
    holds the grid, so they stay in view however far the grid is scrolled."""

    def __init__(self, grid: TokenGrid, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = grid
        grid.labels_outside = True
        self.setFont(grid.font())

    def sync(self) -> None:
        """Follow the grid's rows (call after ``grid.set_rows``)."""
        self.setFont(self.grid.font())
        self.setFixedWidth(self.grid.labels_width)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(self.grid.labels_width, self.grid.sizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setFont(self.grid.font())
        h, w = self.grid._row_h, self.width()
        left = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        p.setPen(QColor(HEADER))
        p.drawText(4, 0, w, h, left, "t")
        p.setPen(QColor(TEXT))
        for i, row in enumerate(self.grid.rows):
            p.drawText(4, h * (i + 1), w, h, left, row.label)
        p.end()
