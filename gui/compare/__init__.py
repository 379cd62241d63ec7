"""Compare: two runs side by side (two branches of one session, or two session files).

    from gui.compare import CompareSource, CompareWindow
    win = CompareWindow(CompareSource("a.rnnscope", branch=0, label="RNN"),
                        CompareSource("b.rnnscope", branch="main", label="LSTM"))
    win.show()

Each side is a ``SourceModel`` (the read-only twin of the RunController that the panels
already know); both share one TimeCursor and one step, every pair of heatmaps shares one
colour scale, and a difference view shows log10 ||dL/dh_t|| of A minus B.
"""

from gui.compare.source import CompareSource
from gui.compare.window import CompareWindow

__all__ = ["CompareSource", "CompareWindow"]
