"""File > New run from data…: preview, columns, the plan or its reason inline, then the run."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from rnnscope.sessions import Session

T = 60_000


def write_series(tmp_path: Path, rows: int = 80) -> Path:
    p = tmp_path / "weather.csv"
    p.write_text(
        "day,temp,wind,rain\n" + "".join(f"{i},{i % 9},{(i * 7) % 5},{i % 3}\n" for i in range(rows))
    )
    return p


def uncheck(lst, name: str) -> None:
    for i in range(lst.count()):
        if lst.item(i).text() == name:
            lst.item(i).setCheckState(Qt.CheckState.Unchecked)


def check(lst, name: str) -> None:
    for i in range(lst.count()):
        if lst.item(i).text() == name:
            lst.item(i).setCheckState(Qt.CheckState.Checked)


def test_a_csv_is_previewed_planned_and_started(window, qtbot, tmp_path: Path) -> None:
    path = write_series(tmp_path)
    dialog = window.data_run_dialog(str(path))
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=T)
    assert dialog.kind.currentText() == "series" and dialog.series_group.isVisibleTo(dialog)
    assert dialog.preview_box.toPlainText().splitlines()[:2] == ["day,temp,wind,rain", "0,0,0,0"]
    assert [dialog.inputs.item(i).text() for i in range(dialog.inputs.count())] == [
        "day",
        "temp",
        "wind",
        "rain",
    ]
    assert dialog.time_column.currentText() == "day"  # named like a time column: taken as one
    day = dialog.inputs.item(0)
    assert day.checkState() == Qt.CheckState.Unchecked and not day.flags() & Qt.ItemFlag.ItemIsEnabled
    uncheck(dialog.inputs, "rain")
    check(dialog.targets, "rain")
    dialog.seq_len.setValue(10)
    qtbot.waitUntil(
        lambda: dialog.plan is not None and dialog.plan.ok and dialog.plan.config.targets == "rain", timeout=T
    )
    plan = dialog.plan
    assert (plan.config.inputs, plan.config.time_column, plan.config.seq_len) == ("temp,wind", "day", 10)
    # 80 rows: 64 training rows (windows of 11 start at 0..53), 16 validation rows (64..69)
    assert plan.facts["train_windows"] == 54 and plan.facts["val_windows"] == 6
    assert "54 training / 6 validation windows" in dialog.summary.text() and dialog.start_button.isEnabled()
    dialog.accept()
    c = window.controller
    qtbot.waitUntil(lambda: c.config is not None and c.config.task == "series" and not c.busy_text, timeout=T)
    assert c.config.targets == "rain"
    with Session.open(c.path) as s:
        assert [d.name for d in s.data_files] == ["weather.csv"]


def test_mistakes_are_shown_inline_and_nothing_starts(window, qtbot, tmp_path: Path) -> None:
    c = window.controller
    first = c.path
    bad = tmp_path / "ragged.csv"
    bad.write_text("a,b\n1,2\n3\n")
    dialog = window.data_run_dialog(str(bad))
    qtbot.addWidget(dialog)
    qtbot.waitUntil(
        lambda: "ragged.csv, line 3: 1 cells where the header has 2" in dialog.summary.text(), timeout=T
    )
    assert not dialog.start_button.isEnabled()
    dialog.load(str(tmp_path / "nowhere.csv"))
    qtbot.waitUntil(lambda: "nowhere.csv: no such file" in dialog.summary.text(), timeout=T)
    path = write_series(tmp_path, rows=30)
    dialog.load(str(path))
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=T)
    assert "shorter than one window" in dialog.summary.text() and not dialog.start_button.isEnabled()
    dialog.seq_len.setValue(4)
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=T)
    dialog.reject()
    assert c.path == first and c.config.task == "copy"


def test_a_text_file_shows_its_vocabulary(window, qtbot, tmp_path: Path) -> None:
    p = tmp_path / "notes.txt"
    p.write_text("the quick brown fox jumps over the lazy dog " * 30)
    dialog = window.data_run_dialog(str(p))
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.plan is not None and dialog.plan.ok, timeout=T)
    assert dialog.kind.currentText() == "text" and not dialog.series_group.isVisibleTo(dialog)
    dialog.tokens.setCurrentText("word")
    qtbot.waitUntil(lambda: dialog.plan.ok and dialog.plan.config.tokens == "word", timeout=T)
    assert dialog.plan.facts["vocabulary"] == 9  # <unk> and the 8 words
    assert "predict the next word of notes.txt" in dialog.summary.text()


def test_the_parameters_show_the_data_settings_only_on_a_data_run(window, qtbot, tmp_path: Path) -> None:
    panel = window.docks["params"].widget()
    assert not panel.param("inputs").opts["visible"] and panel.param("hidden_size").opts["visible"]
    dialog = window.data_run_dialog(str(write_series(tmp_path)))
    qtbot.addWidget(dialog)
    dialog.seq_len.setValue(10)  # 80 rows: the last 16 hold no window of 30 + 1
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=T)
    dialog.accept()
    qtbot.waitUntil(lambda: window.controller.config.task == "series", timeout=T)
    qtbot.waitUntil(lambda: panel.param("inputs").opts["visible"], timeout=T)
    assert panel.param("inputs").value() == "temp,wind,rain"


def test_a_run_from_trained_weights_in_inspect_mode_and_its_weights_exported(
    window, qtbot, tmp_path: Path
) -> None:
    import torch
    from torch import nn

    lstm = nn.LSTM(32, 16)
    torch.save({"model": {"lstm": lstm.state_dict()}}, tmp_path / "trained.pt")
    dialog = window.data_run_dialog(str(write_series(tmp_path)))
    qtbot.addWidget(dialog)
    dialog.seq_len.setValue(10)
    dialog.hidden.setValue(20)
    dialog.set_weights(tmp_path / "trained.pt")
    qtbot.waitUntil(
        lambda: dialog.plan is not None and "expected shape (80, 32)" in dialog.summary.text(), timeout=T
    )
    assert not dialog.start_button.isEnabled()  # the weights do not fit a 20-unit LSTM
    dialog.hidden.setValue(16)
    dialog.inspect.setChecked(True)
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=T)
    assert "lstm.weight_hh_l0 -> rnn.weight_hh_l0" in dialog.summary.text()
    dialog.accept()
    c = window.controller
    qtbot.waitUntil(lambda: c.config.task == "series" and c.mode == "live" and not c.busy_text, timeout=T)
    c.step(3)
    qtbot.waitUntil(lambda: c.steps == 3 and c.record is not None and c.record.step == 2, timeout=T)
    written: list = []
    window.export_weights(tmp_path / "out", on_done=written.extend)
    qtbot.waitUntil(lambda: bool(written), timeout=T)
    back = nn.LSTM(32, 16)
    back.load_state_dict(torch.load(written[0], weights_only=True), strict=True)
    assert torch.equal(back.weight_hh_l0, lstm.weight_hh_l0)  # inspect: never updated
