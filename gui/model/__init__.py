"""The window's application layer: the run being shown, its files, demos, breakpoints, history.

Qt-free, and checked by mypy: ``app.AppModel``, made of separate objects with typed events
(``events.Event``): ``timeline.Timeline`` (where the window is, the viewed history, the step
shown), ``run_files.RunFiles`` (runs, branches, open, save), ``demos.Demos``,
``breakpoints.WatchList``, ``jobs`` (the loader thread and what is busy); the training thread
(``worker``), the step history the plots read (``history``), the runs table's data (``runs``)
and the live validation schedule (``validation``). ``places`` says where runs are recorded.

Qt: ``controller.RunController``, the one QObject adapter (the model's events as Qt signals),
and ``main_thread`` (how work on other threads comes back to the GUI thread). Step views
depend on the small protocol in ``gui.panels.model``, never on RunController itself; a test
drives AppModel headless (tests/gui/model/test_app.py).
"""
