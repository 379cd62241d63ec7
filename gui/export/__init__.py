"""Export from the window: PNG snapshots of a widget, step-through animations, the teaching
exports and their dialogs. Data files (NPZ, CSV) are written by ``sessions.export``."""
