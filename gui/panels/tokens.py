"""TokenGrid: rows of tokens, one column per timestep, painted directly (no HTML layout).

Cheap enough to redraw on every frame: a QTextBrowser table of 4 x 100 cells took ~15 ms
to lay out; this paints the same in well under a millisecond. Each row has a label and
per-token colours; the column of the timestep cursor is highlighted, and clicking a
column moves the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRect, QSize, Qt, Signal
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
        self.setFont(QFont("monospace", 9))
        self.rows: list[TokenRow] = []
        self.cursor = -1
        self._label_w = 110
        self._cell_w = 24
        self._row_h = 20
        self.setMouseTracking(False)

    def set_rows(self, rows: list[TokenRow], cursor: int) -> None:
        self.rows = rows
        self.cursor = cursor
        fm = QFontMetrics(self.font())
        longest = max((fm.horizontalAdvance(t) for t in {t for r in rows for t in r.tokens}), default=8)
        self._label_w = max((fm.horizontalAdvance(r.label) for r in rows), default=60) + 16
        self._cell_w = max(18, longest + 8)
        self._row_h = fm.height() + 6
        self.updateGeometry()
        self.resize(self.sizeHint())
        self.update()

    def set_cursor(self, t: int) -> None:
        if t != self.cursor:
            self.cursor = t
            self.update()

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
                p.fillRect(QRect(x0 + col * w, h * (i + 1), w, h), QColor(CURSOR_BG))
        centre = Qt.AlignmentFlag.AlignCenter
        p.setPen(QColor(HEADER))
        p.drawText(QRect(4, 0, x0, h), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, "t")
        for t in range(first, last):
            p.drawText(QRect(x0 + t * w, 0, w, h), centre, str(t))
        for i, row in enumerate(self.rows):
            y = h * (i + 1)
            p.setPen(QColor(TEXT))
            p.drawText(
                QRect(4, y, x0, h), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, row.label
            )
            for t in range(first, min(last, len(row.tokens))):
                tok = row.tokens[t]
                colour = row.colours[t] if row.colours is not None and t < len(row.colours) else TEXT
                p.setPen(QColor(colour))
                p.drawText(QRect(x0 + t * w, y, w, h), centre, tok)
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        t = int((event.position().x() - self._label_w) // self._cell_w)
        if 0 <= t < self.columns():
            self.column_clicked.emit(t)
