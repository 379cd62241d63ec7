"""ExplanationPanel: what the current demo teaches, in English or Korean, and what to try next.

Shows the demo's title, its explanation (the formula, what to look for), its runs (buttons
that switch the window to a run; "train every run" trains them in turn) and its suggestions
("now change one knob") as buttons that apply the edit or start the new run (after the
window's confirmation). The language switch is remembered (gui.settings.language).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from rnnscope.engine.demos import Demo, Suggestion
from rnnscope.engine.demos.figures import HEADING as FIGURES_HEADING
from rnnscope.engine.demos.figures import RunFacts, figures
from rnnscope.gui.panels.registry import Dock, Place
from rnnscope.gui.shell import settings

LANGUAGE_NAMES = {"en": "English", "ko": "한국어"}
UI = {  # the panel's own words
    "en": {
        "none": "No demo in this session. Choose one from File > Demos.",
        "runs": "Runs (a branch each; Play trains the one shown):",
        "train": "Train every run to step {n}",
        "try": "Now change one knob:",
    },
    "ko": {
        "none": "이 세션에는 데모가 없습니다. File > Demos에서 고르세요.",
        "runs": "실행(각각 하나의 브랜치, 재생은 보이는 실행을 학습):",
        "train": "모든 실행을 {n} 스텝까지 학습",
        "try": "이제 손잡이 하나를 바꿔 보세요:",
    },
}
NO_HANGUL_FONT = (
    "⚠ No font with Korean (Hangul) letters is installed, so this text shows as boxes. "
    "Install one (e.g. Noto Sans CJK KR: package fonts-noto-cjk) and restart."
)


def has_hangul_font() -> bool:
    """Whether Qt knows a font that can draw Hangul (Qt falls back to it on its own)."""
    return bool(QFontDatabase.families(QFontDatabase.WritingSystem.Korean))


def explanation_html(text: str) -> str:
    """Plain text with blank-line paragraphs -> HTML paragraphs (line breaks kept)."""
    paras = [p.strip() for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paras)


class SuggestionLink(QLabel):
    """A suggestion as a wrapped, clickable line (a push button cannot wrap its text and would
    force the dock wide)."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(f'→ <a href="apply" style="color: #56B4E9;">{html.escape(text)}</a>', parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.setStyleSheet("padding: 3px;")

    def click(self) -> None:
        """What clicking the link does."""
        self.linkActivated.emit("apply")


class ExplanationPanel(QWidget):
    title = "Explanation"

    def __init__(
        self, controller: Any, confirm: Callable[[str], bool], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.confirm = confirm
        self.lang = settings.language()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        top = QHBoxLayout()
        self.heading = QLabel("")
        self.heading.setWordWrap(True)
        self.heading.setStyleSheet("font-weight: bold; font-size: 14px;")
        top.addWidget(self.heading, 1)
        self.language = QComboBox()
        for code, name in LANGUAGE_NAMES.items():
            self.language.addItem(name, code)
        self.language.setCurrentIndex(max(0, self.language.findData(self.lang)))
        self.language.setToolTip("language of the explanation (remembered)")
        self.language.currentIndexChanged.connect(self._on_language)
        top.addWidget(self.language)
        lay.addLayout(top)
        self.font_note = QLabel(NO_HANGUL_FONT)
        self.font_note.setWordWrap(True)
        self.font_note.setStyleSheet("color: #ffb050;")
        self.font_note.hide()
        lay.addWidget(self.font_note)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(False)
        lay.addWidget(self.text, 1)
        # the figures the text refers to, measured on the run shown (engine/demos/figures.py)
        self.figures = QLabel("")
        self.figures.setWordWrap(True)
        self.figures.setTextFormat(Qt.TextFormat.PlainText)
        self.figures.setStyleSheet("color: #e0d890; background: #23262d; padding: 4px 6px;")
        self.figures.setToolTip(
            "measured on the run shown, at the step shown: these vary between machines,\n"
            "so the text above states only what holds on every one"
        )
        self.figures.hide()
        lay.addWidget(self.figures)
        self._figures_for: tuple[Any, ...] | None = None
        self.runs_label = QLabel("")
        self.runs_label.setWordWrap(True)
        lay.addWidget(self.runs_label)
        self.runs_row = QGridLayout()  # two columns: four runs still fit a narrow dock
        lay.addLayout(self.runs_row)
        self.train_all = QPushButton("")
        self.train_all.setMinimumWidth(60)
        self.train_all.clicked.connect(self._on_train_all)
        lay.addWidget(self.train_all)
        self.try_label = QLabel("")
        self.try_label.setWordWrap(True)
        lay.addWidget(self.try_label)
        self.suggestions_box = QVBoxLayout()
        lay.addLayout(self.suggestions_box)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.run_buttons: dict[str, QPushButton] = {}
        self.suggestion_buttons: list[tuple[SuggestionLink, Suggestion]] = []
        controller.demo_changed.connect(self._rebuild)
        controller.record_changed.connect(lambda _rec: self._update_figures())
        controller.history_changed.connect(self._update_figures)
        controller.run_changed.connect(self._update_runs)
        controller.session_changed.connect(self._update_runs)
        controller.playing_changed.connect(self._update_runs)
        self._rebuild()

    # ------------------------------------------------------------ content
    @property
    def demo(self) -> Demo | None:
        demo: Demo | None = self.controller.demos.demo
        return demo

    def set_language(self, lang: str) -> None:
        """What choosing it in the combo box does (tests use it)."""
        self.language.setCurrentIndex(self.language.findData(lang))

    def _on_language(self, index: int) -> None:
        self.lang = str(self.language.itemData(index))
        settings.set_language(self.lang)
        self._rebuild()

    def _rebuild(self) -> None:
        words = UI[self.lang]
        demo = self.demo
        buttons: list[QWidget] = [*self.run_buttons.values(), *(b for b, _ in self.suggestion_buttons)]
        for b in buttons:
            b.setParent(None)
            b.deleteLater()
        self.run_buttons, self.suggestion_buttons = {}, []
        self.status.setText("")
        self.font_note.setVisible(self.lang == "ko" and not has_hangul_font())
        if demo is None:
            self.heading.setText(words["none"])
            self.text.setHtml("")
            for w in (self.runs_label, self.train_all, self.try_label):
                w.hide()
            return
        self._figures_for = None
        self._update_figures()
        self.heading.setText(demo.title_for(self.lang))
        self.text.setHtml(explanation_html(demo.explanation_for(self.lang)))
        self.runs_label.setText(words["runs"])
        for i, label in enumerate(self.controller.demos.runs()):
            b = QPushButton(label)
            b.setCheckable(True)
            b.clicked.connect(lambda _=False, lab=label: self.controller.demos.show_run(lab))
            self.runs_row.addWidget(b, i // 2, i % 2)
            self.run_buttons[label] = b
        self.runs_label.setVisible(bool(self.run_buttons))
        self.train_all.setText(words["train"].format(n=demo.steps_hint))
        self.train_all.setVisible(len(self.run_buttons) > 1)
        self.try_label.setText(words["try"])
        self.try_label.setVisible(bool(demo.suggestions))
        for s in demo.suggestions:
            b = SuggestionLink(s.note.get(self.lang) or s.note.get("en", f"{s.field} = {s.value!r}"))
            b.setToolTip(f"{s.field} = {s.value!r}" + (f" on run {s.run}" if s.run else ""))
            b.linkActivated.connect(lambda _href, sug=s: self.apply(sug))
            self.suggestions_box.addWidget(b)
            self.suggestion_buttons.append((b, s))
        self._update_runs()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._update_figures()

    def _update_figures(self) -> None:
        """The demo's figures for the run and step shown (while this panel is visible: a
        hidden tab costs nothing)."""
        demo, c = self.demo, self.controller
        if demo is None or not self.isVisible():
            if demo is None:
                self.figures.hide()
            return
        rec, h = c.record, c.history
        key = (demo.name, self.lang, c.branch_id, id(rec), h.revision)  # a reload keeps the length
        if key == self._figures_for:
            return
        self._figures_for = key
        if c.config is None or rec is None or not len(h):
            self.figures.hide()
            return
        label = c.demos.run_of(c.branch_id) or c.branch_name or ""
        facts = RunFacts(
            label=label,
            config=c.config,
            series={n: h.series(n) for n in ("loss", "metric", "grad_norm", "grad_norm_clipped")},
            record=rec,
            nonfinite_steps=sorted(h.nonfinite),
            first_nonfinite=h.nonfinite[min(h.nonfinite)] if h.nonfinite else "",
            metric_name=h.metric_name,
        )
        lines = figures(demo.name, facts, self.lang)
        if not lines:
            self.figures.hide()
            return
        heading = FIGURES_HEADING[self.lang].format(run=label or "—")
        text = "\n".join([heading, *("· " + line for line in lines)])
        if text != self.figures.text():
            self.figures.setText(text)
        self.figures.show()

    def _update_runs(self, *_: Any) -> None:
        current = self.controller.demos.run_of(self.controller.branch_id)
        for label, b in self.run_buttons.items():
            b.setChecked(label == current)

    # ------------------------------------------------------------ actions
    def apply(self, s: Suggestion) -> None:
        reason = self.controller.demos.apply_suggestion(s, self.confirm)
        if reason is None:
            self.status.setStyleSheet("color: #b0b4bb;")
            self.status.setText(f"{s.field} = {s.value!r}")
        elif reason != "cancelled":
            self.status.setStyleSheet("color: #ff7070;")
            self.status.setText(f"refused: {reason}")

    def _on_train_all(self) -> None:
        demo = self.demo
        if demo is not None:
            self.controller.demos.train_runs(demo.steps_hint)


DOCK = Dock(
    "explanation",
    ExplanationPanel.title,
    lambda ctx: ExplanationPanel(ctx.model, ctx.confirm),
    Place("tab", "params"),
)
