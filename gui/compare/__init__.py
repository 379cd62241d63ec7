"""Compare: two runs side by side (two branches of one session, or two session files).

    from rnnscope.gui.compare import CompareSource, CompareWindow
    win = CompareWindow(CompareSource("a.rnnscope", branch=0, label="RNN"),
                        CompareSource("b.rnnscope", branch="main", label="LSTM"))
    win.show()

Each side is a ``SourceModel`` (the read-only twin of the RunController that the panels
already know); both share one TimeCursor, one step and one step axis, every pair of heatmaps
shares one colour scale, and a difference view shows log10 ||dL/dh_t|| of A minus B.
Opened from the main window (``MainWindow.open_compare``), a side whose run that window is
training follows it as it grows (``gui.compare.follow``); ``gui.compare.notes`` says how two
runs differ (steps, sequence length, layers, cell).
"""

from rnnscope.gui.compare.source import CompareSource
from rnnscope.gui.compare.window import CompareWindow

__all__ = ["CompareSource", "CompareWindow"]
