"""Paints real plots with axes: a PySide6/pyqtgraph pair that crashes while painting an axis
(PySide6 6.12.0 + pyqtgraph 0.14.0: "Fatal Python error: none_dealloc") fails here, in CI."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QApplication


def _not_blank(image) -> bool:
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    return len(colours) > 3


def test_plot_with_axes_paints(qtbot):
    w = pg.PlotWidget(title="paint test")
    qtbot.addWidget(w)
    w.resize(400, 300)
    w.setLabel("bottom", "step")
    w.setLabel("left", "loss")
    w.setLogMode(y=True)
    w.plot(np.arange(100), np.exp(-np.arange(100) / 30) + 1e-3, pen="y")
    w.show()
    for _ in range(3):  # a timer-driven repaint loop like the window's
        w.getPlotItem().listDataItems()[0].setData(np.arange(100), np.random.rand(100) + 0.1)
        QApplication.processEvents()
    image = w.grab().toImage()
    assert image.width() == 400
    assert _not_blank(image)


def test_image_with_colorbar_paints(qtbot):
    w = pg.GraphicsLayoutWidget()
    qtbot.addWidget(w)
    p = w.addPlot(title="image")
    img = pg.ImageItem(np.random.rand(16, 32))
    p.addItem(img)
    bar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get("viridis"))
    bar.setImageItem(img, insert_in=p)
    w.resize(300, 200)
    w.show()
    QApplication.processEvents()
    assert _not_blank(w.grab().toImage())
