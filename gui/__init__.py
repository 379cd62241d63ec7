"""rnnscope's window: PySide6 + pyqtgraph views and the controllers that feed them.

gui/ owns no training logic: it drives an ``engine.Trainer`` through a recording
``sessions.LiveSession`` on a worker thread (``gui.controller``) and draws the
``StepRecord``s it produces on a ~30 Hz timer. ``engine`` and ``sessions`` never import gui/.
"""
