"""File > Properties: what a session file holds and which machine kinds recorded it.

The text is ``sessions.cli.info`` (the same report as ``main.py info FILE``), its numerics part
first: the fingerprint of every process that recorded into the file, this machine's, and
whether a regenerated frame here is the recorded one bit for bit; then config and branches.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QVBoxLayout, QWidget

from rnnscope.sessions import SessionError
from rnnscope.sessions.cli import info


def report(path: Path | None) -> str:
    """The report for ``path``, or a sentence saying why there is none."""
    if path is None:
        return "No session file yet: start a run or open a file."
    try:
        text = info(path)
    except (SessionError, OSError) as exc:
        return f"Cannot read {path}: {exc}"
    # What decides whether a replay here is the recording (the dialog's reason to be) first.
    cut = text.find("\nrecorded on")
    return text if cut < 0 else f"{text[cut + 1 :]}\n\n{text[:cut]}"


class PropertiesDialog(QDialog):
    def __init__(self, path: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Properties of {path.name}" if path is not None else "Properties")
        self.text = QPlainTextEdit(report(path))
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.text)
        lay.addWidget(buttons)
        self.resize(720, 560)
