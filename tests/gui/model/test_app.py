"""The application model without Qt: a run, a rewind, Save As, Open and a demo, driven headless.

The owner's thread is this test's: ``Owner.post`` queues what the threads hand back and
``Owner.until`` runs it (as the window's event loop and redraw timer do), so each event the
model emits is seen in order, with the state it describes.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

import rnnscope
from rnnscope.engine import TrainConfig
from rnnscope.engine.demos import DEMOS
from rnnscope.gui.model.app import AppModel
from rnnscope.gui.model.places import Folder
from rnnscope.sessions.session import Session
from rnnscope.sessions.writer import RecordSettings

TINY = dict(cell="lstm", task="copy", hidden_size=8, seq_len=10, delay=3, batch_size=4, device="cpu")


class Owner:
    def __init__(self) -> None:
        self.queue: queue.Queue[Callable[[], None]] = queue.Queue()
        self.app: AppModel | None = None

    def post(self, fn: Callable[[], None]) -> None:  # any thread
        self.queue.put(fn)

    def until(self, condition: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("the model did not get there in time")
            if self.app is not None:
                self.app.poll()  # the window's redraw timer
            try:
                fn = self.queue.get(timeout=0.02)
            except queue.Empty:
                continue
            fn()

    def idle(self) -> bool:
        assert self.app is not None
        return not self.app.busy.text and self.queue.empty() and not self.app.playing


@pytest.fixture
def model(tmp_path: Path) -> Iterator[tuple[AppModel, Owner, list[str]]]:
    owner = Owner()
    app = AppModel(
        owner.post, Folder(tmp_path / "unsaved"), RecordSettings(checkpoint_every=5, frame_every=2)
    )
    owner.app = app
    heard: list[str] = []
    tl = app.timeline
    for name in ("session_changed", "config_changed", "run_changed", "history_changed"):
        getattr(tl, name).connect(lambda name=name: heard.append(name))
    tl.record_changed.connect(lambda rec: heard.append(f"record {None if rec is None else rec.step}"))
    app.events.playing_changed.connect(lambda on: heard.append(f"playing {on}"))
    app.events.error.connect(lambda text: heard.append(f"error {text}"))
    app.demos.changed.connect(lambda: heard.append("demo_changed"))
    yield app, owner, heard
    app.close()
    assert app.threads_alive == []


def test_a_run_steps_seeks_rewinds_saves_and_opens_without_qt(model, tmp_path: Path) -> None:
    app, owner, heard = model
    app.files.new_run(TrainConfig(**TINY))
    owner.until(lambda: app.mode == "live" and owner.idle())
    assert app.unsaved and app.path is not None and app.path.parent == tmp_path / "unsaved"
    assert heard[:4] == ["session_changed", "record None", "run_changed", "history_changed"]

    app.step(6)
    owner.until(lambda: app.steps == 6 and owner.idle())
    assert app.record is not None and app.record.step == 5 and app.follow_live
    assert heard[-2:] == ["history_changed", "record 5"]

    app.seek(1)  # a stored frame, read on the loader thread
    owner.until(lambda: app.shown_step == 1)
    assert not app.follow_live and app.viewed_step == 1 and app.record is not None and app.record.has_frame
    app.seek(3)  # not stored: regenerated from the checkpoint at step 0
    owner.until(lambda: app.shown_step == 3 and owner.idle())
    assert app.record is not None and app.record.has_frame

    first = app.branch_id
    app.files.continue_from(2)  # keep steps 0..2, a new branch
    owner.until(lambda: app.branch_id != first and owner.idle())
    assert app.steps == 3 and app.live_branch_id == app.branch_id and len(app.files.branches()) == 2
    assert [e.kind for e in app.history.events][-1] == "fork"

    assert app.edit("lr", 0.01) is None
    owner.until(lambda: owner.idle() and any(e.kind == "edit" for e in app.history.events))
    assert app.config is not None and app.config.lr == 0.01 and "config_changed" in heard
    assert app.edit("hidden_size", 16) == "hidden_size is structural: it needs a new run"

    dest = tmp_path / "saved.rnnscope"
    saved: list[Path] = []
    app.files.save_as(dest, on_saved=saved.append)
    owner.until(lambda: saved == [dest] and owner.idle())
    assert app.path == dest and not app.unsaved and app.mode == "live"
    assert app.places.recent[0] == dest.resolve()  # type: ignore[attr-defined]
    app.step(2)
    owner.until(lambda: app.steps == 5 and owner.idle())

    heard.clear()
    app.files.open(dest)
    owner.until(lambda: app.mode == "replay" and owner.idle() and app.shown_step == 4)
    assert app.live_branch_id is None and app.steps == 5
    assert heard.index("session_changed") < heard.index("run_changed") < heard.index("record 4")
    with Session.open(dest) as s:
        assert len(s.branches()) == 2

    app.files.open(tmp_path / "missing.rnnscope")  # refused: the replay goes on
    owner.until(lambda: any(h.startswith("error ") for h in heard) and owner.idle())
    assert app.path == dest and app.mode == "replay"

    attached = tmp_path / "attached.rnnscope"
    net = torch.nn.Sequential()
    net.rnn = torch.nn.GRU(2, 3)
    scope = rnnscope.attach(net, attached)
    net.rnn(torch.randn(4, 2, 2))[0].sum().backward()
    scope.detach()
    app.files.open(attached)  # a run of the user's own loop: followed (tests/gui/model/test_follow.py)
    owner.until(lambda: app.mode == "follow" and owner.idle() and app.steps == 1)
    assert app.path == attached and app.config is None and app.shape is not None
    assert app.shape.names == ["rnn"] and app.task is None and not app.playing


def test_a_demo_starts_every_run_and_trains_them_in_turn_without_qt(model) -> None:
    app, owner, heard = model
    demo = DEMOS["vanishing"]
    app.demos.start(demo)
    owner.until(lambda: app.demos.demo is demo and owner.idle())
    runs = app.demos.runs()
    assert list(runs) == list(demo.runs) and "demo_changed" in heard
    assert [b.id for b in app.watch.breakpoints] == [b.id for b in demo.breakpoints]
    app.demos.train_runs(2)
    reader = app.reader
    assert reader is not None
    owner.until(
        lambda: all(reader.length(b) >= 2 for b in runs.values()) and not app.demos.training and owner.idle(),
        timeout=120,
    )
    assert "playing True" in heard and heard.count("playing False") >= len(runs)
    assert app.demos.run_of(app.branch_id) in runs


def test_the_application_model_imports_no_qt() -> None:
    code = (
        "import sys, rnnscope.gui.model.app, rnnscope.gui.model.places;"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
