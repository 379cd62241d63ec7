"""The window's application layer: the run being shown, its files, demos, breakpoints, history.

``controller.RunController`` is the one object the views talk to (signals, attributes); the
training thread (``worker``), the step history the plots read (``history``), the runs table's
data (``runs``) and the live validation schedule (``validation``) are Qt-free. Views depend on
the small protocol in ``gui.panels.model``, never on RunController itself.
"""
