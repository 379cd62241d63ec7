"""CompareDialog: choose run A and run B (a branch of the current session, or another file)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from rnnscope.gui.compare.source import CompareSource
from rnnscope.sessions.session import Session

FILTER = "rnnscope sessions (*.rnnscope);;All files (*)"


def list_branches(path: str | Path) -> list[tuple[int, str, int]]:
    """(id, name, steps) of every branch of a session file (a quick read)."""
    with Session.open(path) as s:
        return [(b.id, b.name, s.length(b.id)) for b in s.branches()]


class SideChooser:
    """One row of the dialog: file, browse button, branch."""

    def __init__(self, grid: QGridLayout, row: int, name: str, parent: QWidget) -> None:
        self.parent = parent
        self.path = QLineEdit()
        self.path.setPlaceholderText("session file (.rnnscope)")
        self.browse = QPushButton("Browse…")
        self.branch = QComboBox()
        self.branch.setMinimumWidth(200)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #ff5c5c;")
        grid.addWidget(QLabel(f"<b>{name}</b>"), 2 * row, 0)
        grid.addWidget(self.path, 2 * row, 1)
        grid.addWidget(self.browse, 2 * row, 2)
        grid.addWidget(self.branch, 2 * row, 3)
        grid.addWidget(self.error, 2 * row + 1, 1, 1, 3)
        self.path.editingFinished.connect(self.reload)
        self.browse.clicked.connect(self._on_browse)

    def set(self, path: str | Path | None, branch: int | None = None) -> None:
        self.path.setText("" if path is None else str(path))
        self.reload(select=branch)

    def reload(self, select: int | None = None) -> None:
        self.branch.clear()
        self.error.setText("")
        text = self.path.text().strip()
        if not text:
            return
        try:
            branches = list_branches(text)
        except Exception as exc:
            self.error.setText(str(exc) or type(exc).__name__)
            return
        for bid, name, steps in branches:
            self.branch.addItem(f"{name} ({steps} steps)", bid)
        if select is not None:
            i = self.branch.findData(select)
            if i >= 0:
                self.branch.setCurrentIndex(i)

    def _on_browse(self) -> None:
        start = self.path.text() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self.parent, "Session to compare", start, FILTER)
        if path:
            self.set(path)

    def source(self, label: str) -> CompareSource | None:
        bid = self.branch.currentData()
        if not self.path.text().strip() or bid is None:
            return None
        return CompareSource(self.path.text().strip(), int(bid), label)


class CompareDialog(QDialog):
    def __init__(
        self, path: str | Path | None = None, branch: int | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare two runs")
        grid = QGridLayout(self)
        grid.addWidget(
            QLabel("Two branches of one session, or runs of two session files: same scales, one cursor."),
            0,
            0,
            1,
            4,
        )
        inner = QGridLayout()
        grid.addLayout(inner, 1, 0, 1, 4)
        self.a = SideChooser(inner, 0, "A", self)
        self.b = SideChooser(inner, 1, "B", self)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        grid.addWidget(self.buttons, 2, 0, 1, 4)
        self.a.set(path, branch)
        self.b.set(path)
        others = [i for i in range(self.b.branch.count()) if self.b.branch.itemData(i) != branch]
        if others:  # B: the newest other branch of the same session
            self.b.branch.setCurrentIndex(others[-1])

    def sources(self) -> tuple[CompareSource, CompareSource] | None:
        a, b = self.a.source(""), self.b.source("")
        return (a, b) if a is not None and b is not None else None
