"""Snapshots: a widget (a panel, the window) rendered to an image of a chosen size.

The widget is painted through a scaled QPainter, so plots, text and lines are drawn at
the target resolution rather than blown up from screen pixels. When the requested aspect
ratio differs from the widget's, the picture is centred on the window's background colour.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QWidget

BACKGROUND = QColor("#16181d")


def render(widget: QWidget, size: tuple[int, int] | None = None) -> QImage:
    """``widget`` as an RGB image of ``size`` = (width, height) pixels (its own size if None)."""
    refresh = getattr(widget, "refresh", None)
    if refresh is not None and not widget.isVisible():  # a hidden panel has not drawn lately
        refresh()
    w, h = max(widget.width(), 1), max(widget.height(), 1)
    width, height = size or (w, h)
    image = QImage(int(width), int(height), QImage.Format.Format_RGB32)
    image.fill(BACKGROUND)
    scale = min(width / w, height / h)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.translate((width - w * scale) / 2, (height - h * scale) / 2)
        painter.scale(scale, scale)
        widget.render(painter, QPoint(0, 0), QRect(0, 0, w, h), QWidget.RenderFlag.DrawChildren)
    finally:
        painter.end()
    return image


def save_png(widget: QWidget, path: str | os.PathLike[str], size: tuple[int, int] | None = None) -> bool:
    """Render ``widget`` to a PNG file; False if it could not be written."""
    return bool(render(widget, size).save(str(path), "PNG"))


def is_blank(image: QImage) -> bool:
    """True when every pixel has the same colour (nothing was drawn)."""
    small = image.scaled(64, 64, Qt.AspectRatioMode.IgnoreAspectRatio).convertToFormat(
        QImage.Format.Format_RGB32
    )
    first = small.pixel(0, 0)
    return all(small.pixel(x, y) == first for y in range(64) for x in range(64))
