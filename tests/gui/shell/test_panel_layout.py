"""Panels at the window's default size: nothing is cut off, heatmaps draw fast images."""

from __future__ import annotations

from PySide6.QtGui import QImage

from rnnscope.gui.panels.base import FAST_FORMAT


def test_health_titles_fit_at_the_default_width(qtbot):
    from rnnscope.gui.shell.main_window import MainWindow

    win = MainWindow(interactive=False, restore_layout=False)
    qtbot.addWidget(win)
    win.resize(1600, 1000)  # the window's default size
    win.show()
    qtbot.waitExposed(win)
    try:
        health = win.panels["health"]
        assert health.width() < 520  # the default dock is narrow: two columns of plots must fit
        plots = [*health.over_steps, health.sv_plot, health.jac_plot]
        for p in plots:
            title = p.titleLabel.item
            rect = title.mapRectToScene(title.boundingRect())
            column = p.mapRectToScene(p.boundingRect())
            assert column.left() <= rect.left() and rect.right() <= column.right(), p.titleLabel.text
            right = column.right()
            assert right <= health.view.width() - 10  # the last tick label has room
    finally:
        win.close()


def test_heatmaps_hand_qpainter_a_32_bit_image(window, qtbot):
    c = window.controller
    c.run_until(2)
    qtbot.waitUntil(lambda: c.steps >= 2 and c.record is not None, timeout=30_000)
    m = window.panels["gates"].maps["f"]
    m.image.render()
    assert m.image.qimage.format() == FAST_FORMAT != QImage.Format.Format_Indexed8


def test_plot_menus_are_off_but_never_deleted(qtbot):
    """Deleting a ViewBox's QMenu at run time is where PySide6 segfaulted: menus are switched
    off (no context menu from the plot, its ViewBox or a colour bar) and the objects kept."""
    import pyqtgraph as pg

    from rnnscope.gui.panels.base import ColorBar, add_plot

    glw = pg.GraphicsLayoutWidget()
    qtbot.addWidget(glw)
    plot = add_plot(glw.ci, 0, 0, "p")
    bar = ColorBar(values=(0, 1), colorMap=pg.colormap.get("viridis"))
    for item in (plot, bar):
        assert not item.menuEnabled() and not item.vb.menuEnabled()
        assert item.vb.menu is not None  # kept alive, only switched off
        assert item.vb.getContextMenus(None) == []
    bar.setMenuEnabled(True)  # turning a menu back on still works the pyqtgraph way
    assert bar.menuEnabled() and bar.vb.menuEnabled()
