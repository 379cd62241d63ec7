"""The window's shell: the main window (docks built from ``gui.panels.DOCKS``), its transport
bar, status bar, the timestep cursor, dialogs, settings, and ``app.run_gui`` (the entry point)."""
