"""rnnscope's window: PySide6 + pyqtgraph views and the application layer that feeds them.

    model/    the application layer, Qt-free: AppModel (timeline, run files, demos, breakpoints,
              jobs), the training thread (worker), the step history, the runs table's data,
              validation; RunController, the one QObject adapter over it
    shell/    the main window, transport and status bars, cursor, settings, run_gui (app.py)
    panels/   every dock, one module each, and their registry (DOCKS): add a panel there
    export/   PNG snapshots, step-through animations, the teaching exports and their dialogs
    compare/  the compare window (two runs side by side, the same step views)

gui/ owns no training logic: it drives an ``engine.Trainer`` through a recording
``sessions.LiveSession`` on a worker thread and draws the ``StepRecord``s it produces on a
~30 Hz timer. ``engine`` and ``sessions`` never import gui/.
"""
