"""The window's model following a run of the user's own training loop (gui.model.follow), no Qt.

The loop is a real attached loop on a thread of this test (its file is written by its own
recorder, read by the window's model through its own connections, as from another process;
tests/gui/shell/test_follow_window.py runs the example script as another process). Timings are
bounds far above what the mechanism needs, so a loaded CI machine cannot fail them.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import nn

import rnnscope
from rnnscope.gui.model import follow
from rnnscope.gui.model.app import AppModel
from rnnscope.gui.model.places import Folder
from rnnscope.gui.model.runs import model_info
from rnnscope.gui.model.shape import PartShape, RunShape, views_of_external
from rnnscope.sessions import Session, control
from rnnscope.sessions.writer import RecordSettings
from tests.gui.model.test_app import Owner


def mark_writer(path: Path, pid: int) -> None:
    """Say in ``path`` that process ``pid`` of this machine records into it now (sessions.ownership)."""
    with sqlite3.connect(path) as conn:
        state = json.loads(conn.execute("SELECT value FROM meta WHERE key='writer'").fetchone()[0])
        state.update(live=True, pid=pid)
        conn.execute("UPDATE meta SET value=? WHERE key='writer'", (json.dumps(state),))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(3, 8, num_layers=2, batch_first=True)
        self.head = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(x)[0][:, -1])


class Loop:
    """An attached loop on a thread; ``done`` counts its finished steps."""

    def __init__(self, path: Path, steps: int, probe_every: int = 5, sleep: float = 0.005) -> None:
        torch.manual_seed(0)
        self.model = Net()
        self.opt = torch.optim.SGD(self.model.parameters(), 0.05)
        self.scope = rnnscope.attach(self.model, path, optimizer=self.opt, probe_every=probe_every)
        self.steps, self.sleep, self.done = steps, sleep, 0
        self.stop = False  # ends the loop early (as a user's Ctrl+C would, but cleanly)
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        g = torch.Generator().manual_seed(1)
        for _ in range(self.steps):
            if self.stop:
                break
            x = torch.randn(4, 6, 3, generator=g)
            loss = (self.model(x) - x[:, :1, 0]).pow(2).mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            self.scope.step(loss)
            self.done += 1
            time.sleep(self.sleep)
        self.scope.detach()

    def settled(self, owner: Owner, timeout: float = 20.0) -> int:
        """The steps recorded once their count stops moving (the loop is held inside
        ``scope.step``); the window's ticks go on meanwhile."""
        last, since = -1, time.monotonic()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            owner.drain(0.3)
            recorded = self.scope.scope.steps
            if recorded != last:
                last, since = recorded, time.monotonic()
            elif time.monotonic() - since > 0.6:
                return last
        raise AssertionError(f"the loop did not stop: {self.scope.scope.steps} steps recorded")


class FollowOwner(Owner):
    def drain(self, seconds: float) -> None:
        """Run the owner's thread (ticks and posted work) for ``seconds``."""
        end = time.monotonic() + seconds
        self.until(lambda: time.monotonic() > end, timeout=seconds + 60)


@pytest.fixture
def model(tmp_path: Path) -> Iterator[tuple[AppModel, FollowOwner, list[str]]]:
    owner = FollowOwner()
    app = AppModel(
        owner.post, Folder(tmp_path / "unsaved"), RecordSettings(checkpoint_every=5, frame_every=2)
    )
    owner.app = app
    heard: list[str] = []
    app.events.message.connect(lambda text: heard.append(f"message {text}"))
    app.events.error.connect(lambda text: heard.append(f"error {text}"))
    app.events.playing_changed.connect(lambda on: heard.append(f"playing {on}"))
    yield app, owner, heard
    app.close()
    assert app.threads_alive == []


def test_the_window_follows_pauses_steps_and_releases_the_users_loop(model, tmp_path: Path) -> None:
    app, owner, heard = model
    path = tmp_path / "own.rnnscope"
    loop = Loop(path, steps=300)
    loop.thread.start()
    app.files.open(path)
    owner.until(lambda: app.mode == "follow" and app.steps >= 20, timeout=60)
    assert app.config is None and app.task is None and app.playing
    assert app.shape == RunShape((PartShape("lstm", "lstm", 2, 8),), "lstm")
    assert app.follow_live and app.record is not None and app.record.has_frame and app.record.step % 5 == 0
    assert app.record.hidden is not None and app.record.hidden.shape == (2, 6, 8)
    grown = app.steps
    owner.until(lambda: app.steps > grown + 10, timeout=60)  # the slider grows as the loop trains

    app.pause()  # a request in the file: the loop waits at its next step
    held = loop.settled(owner)
    assert 0 < held < loop.steps and not app.playing and loop.thread.is_alive()
    owner.until(lambda: app.follower.writer.held is not None and app.steps == held, timeout=30)
    assert app.follower.writer.held.at == held and app.follower.writer.held.hits == ()
    assert "waits at step" in app.follower.writer.describe()
    assert app.record is not None and app.record.step == max(s for s in range(held) if s % 5 == 0)

    app.step()  # one step, counted by the loop
    assert loop.settled(owner) == held + 1
    app.step(4)
    assert loop.settled(owner) == held + 5
    owner.until(lambda: app.steps == held + 5, timeout=30)

    app.seek(7)  # no frame stored for step 7: the nearest one before it is shown
    owner.until(lambda: app.shown_step == 5 and not app.busy.text, timeout=30)
    assert app.record is not None and app.record.has_frame and not app.follow_live
    h = app.history
    assert len(h) == held + 5 and list(h.parts) == ["lstm"]
    with Session.open(path) as s:  # the plotted summaries are the file's (which the loop wrote)
        summ = s.summaries(0, held + 5)
    assert h.series("loss").tolist() == summ.loss.tolist()

    heard.clear()
    assert (
        app.edit("lr", 0.1) == follow.FOLLOWED_RUN
    )  # a setting of the user's loop: refused, the reason said
    app.files.continue_from(3)
    owner.drain(0.2)
    assert heard == [f"message {follow.FOLLOWED_RUN}"] and app.steps == held + 5

    app.play()  # resume: the loop runs to its end and detaches
    loop.thread.join(60)
    assert not loop.thread.is_alive() and loop.done == loop.steps
    owner.until(lambda: app.steps == loop.steps and not app.follower.writer.live, timeout=30)
    assert not app.playing and "detached" in app.follower.writer.describe()
    assert app.follow_live and app.record is not None and app.record.step == 295


def test_a_breakpoint_hit_pauses_the_loop_and_closing_the_window_releases_it(model, tmp_path: Path) -> None:
    app, owner, _ = model
    path = tmp_path / "bp.rnnscope"
    loop = Loop(path, steps=400, probe_every=10, sleep=0.01)
    app.files.open(path)  # (its breakpoints: the defaults, as a run of the user's loop stores none)
    owner.until(lambda: app.mode == "follow" and not app.busy.text, timeout=60)
    assert app.watch.add("expression", expression="step == 40") is None
    loop.thread.start()
    held = loop.settled(owner, timeout=60)
    assert held == 41  # the loop checked the window's breakpoints itself: it stopped right after step 40
    owner.until(lambda: app.hits and app.follower.writer.held is not None, timeout=30)
    assert [h.step for h in app.hits] == [40] and app.watch.last_hits[0].step == 40
    assert app.follower.writer.held.at == 41 and "breakpoint" in app.follower.state()
    assert not app.playing and app.shown_step == 40
    app.step()  # the hit answered: one more step, then it holds again
    assert loop.settled(owner) == 42

    app.close()  # the window goes: the loop is released at once (not after control.STALE)
    loop.thread.join(30)
    assert not loop.thread.is_alive() and loop.done == loop.steps


def test_a_breakpoint_on_frame_fields_is_checked_on_every_step_of_the_loop(model, tmp_path: Path) -> None:
    """A condition on the probe sample's states needs a frame: while the window watches it, the
    loop computes one on every step (as rnnscope's own runs do), and stores the hit step's."""
    app, owner, _ = model
    path = tmp_path / "frame.rnnscope"
    loop = Loop(path, steps=200, probe_every=5)
    app.files.open(path)
    owner.until(lambda: app.mode == "follow" and not app.busy.text, timeout=60)
    assert app.watch.add("expression", expression="step == 7 and hidden[0, 0, 0] > -10") is None
    owner.drain(0.5)  # the window hands its breakpoints to the loop with its first request
    loop.thread.start()
    assert loop.settled(owner, timeout=60) == 8  # stopped right after step 7, not a probed step
    owner.until(lambda: app.shown_step == 7 and not app.busy.text, timeout=30)
    assert app.record is not None and app.record.has_frame and [h.step for h in app.hits] == [7]
    with Session.open(path) as s:
        assert [k for k in range(8) if s.has_stored_frame(k)] == [0, 5, 7]  # probed ones and the hit
    app.play()
    loop.thread.join(60)
    assert loop.done == loop.steps


def test_a_killed_writer_is_said_and_a_finished_one_does_not_play(tmp_path: Path) -> None:
    path = tmp_path / "k.rnnscope"
    net = Net()
    scope = rnnscope.attach(net, path)
    net(torch.randn(2, 4, 3)).sum().backward()
    scope.step()
    scope.recording.recorder.flush()  # type: ignore[union-attr]
    with Session.open(path) as s:
        live = follow.writer_of(s)
    assert live.external and live.live and not live.gone and live.held is None
    scope.detach()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    mark_writer(path, int(dead.stdout))  # as a process killed while it recorded leaves the file
    with Session.open(path) as s:
        gone = follow.writer_of(s)
    assert gone.gone and not gone.live and "killed" in gone.describe()


def test_modules_of_different_sizes_are_shown_one_at_a_time(model, tmp_path: Path) -> None:
    app, owner, _ = model

    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.GRU(3, 6, bidirectional=True)
            self.dec = nn.LSTM(12, 4, num_layers=2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.dec(self.enc(x)[0])[0].sum()

    path = tmp_path / "two.rnnscope"
    net = Two()
    scope = rnnscope.attach(net, path, probe_every=1)
    for _ in range(3):
        net(torch.randn(5, 2, 3)).backward()
        scope.step()
    scope.detach()
    app.files.open(path)
    owner.until(lambda: app.mode == "follow" and app.steps == 3 and app.record is not None, timeout=60)
    views = app.follower.views
    assert [v.label for v in views] == ["enc", "dec"]
    assert app.shape is views[0] and app.shape.names == ["enc", "enc.reverse"]
    assert list(app.record.parts) == ["enc", "enc.reverse"] and app.record.hidden.shape == (1, 10, 6)
    app.follower.set_view(1)
    owner.until(lambda: app.shape is views[1] and app.record is not None and not app.busy.text, timeout=60)
    assert list(app.record.parts) == ["dec"] and app.record.cell.shape == (2, 5, 4)
    assert list(app.history.parts) == ["dec"] and app.history.layers == 2
    with Session.open(path) as s:  # the Runs dock counts the attached modules' parameters
        assert model_info(s.branch.config).recurrent == sum(p.numel() for p in net.parameters())

    same = views_of_external(
        [
            {"path": "a", "cell": "gru", "num_layers": 1, "hidden_size": 4},
            {"path": "b", "cell": "lstm", "num_layers": 1, "hidden_size": 4, "bidirectional": True},
        ]
    )
    assert [v.names for v in same] == [["a", "b", "b.reverse"]] and same[0].label == "all modules"
    assert control.HELD != control.KEY


def test_a_file_that_main_py_train_writes_can_be_followed(model, tmp_path: Path) -> None:
    from rnnscope.engine import TrainConfig, Trainer
    from rnnscope.sessions.live import LiveSession

    app, owner, heard = model
    path = tmp_path / "train.rnnscope"
    cfg = TrainConfig(cell="gru", task="copy", hidden_size=8, seq_len=10, delay=3, batch_size=4, device="cpu")
    live = LiveSession.create(path, Trainer(cfg), settings=RecordSettings(checkpoint_every=10, frame_every=5))
    stop = threading.Event()

    def train() -> None:  # as `main.py train --out` records, in another thread of this test
        while not stop.is_set() and live.trainer.step_count < 400:
            live.step()
            time.sleep(0.005)

    writer = threading.Thread(target=train, daemon=True)
    writer.start()
    try:
        app.files.open(path, follow=True)
        owner.until(lambda: app.mode == "follow" and app.steps >= 10, timeout=60)
        assert app.config == cfg and app.shape == RunShape.of_config(cfg) and app.task is not None
        n = app.steps
        owner.until(lambda: app.steps > n + 10, timeout=60)  # it grows
        heard.clear()
        app.pause()  # that process does not listen: said so
        assert len(heard) == 1 and "written by another rnnscope process" in heard[0] and app.playing
        app.seek(7)  # not stored: regenerated by replay, as in a replay of the file
        owner.until(lambda: app.shown_step == 7 and not app.busy.text, timeout=60)
        assert app.record is not None and app.record.has_frame
    finally:
        stop.set()
        writer.join(30)
        live.close()


def test_a_file_another_process_records_into_is_followed_not_trained_into(model, tmp_path: Path) -> None:
    from rnnscope.engine import TrainConfig, Trainer
    from rnnscope.sessions.live import LiveSession

    app, owner, heard = model
    path = tmp_path / "busy.rnnscope"
    cfg = TrainConfig(cell="rnn", task="copy", hidden_size=8, seq_len=10, delay=3, batch_size=4, device="cpu")
    with LiveSession.create(path, Trainer(cfg)) as live:
        live.run(3)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        mark_writer(path, other.pid)  # `main.py train --out` in another process, still running
        app.files.open(path)  # no --follow: the window sees it is being written
        owner.until(lambda: app.mode == "follow" and app.steps == 3 and not app.busy.text, timeout=60)
        assert any("being recorded by another process" in h and "following it" in h for h in heard)
        heard.clear()
        app.files.continue_from(1)  # no rewind into a file another process writes
        owner.drain(0.2)
        assert heard == [f"message {follow.FOLLOWED_RUN}"] and app.mode == "follow"
    finally:
        other.kill()
        other.wait(30)
    app.files.open(path)  # its process is gone: replayed (and trained on) as any file
    owner.until(lambda: app.mode == "replay" and not app.busy.text, timeout=60)


def test_a_file_that_cannot_be_read_is_said_once_and_tried_again(
    model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rnnscope.sessions import SessionError

    app, owner, heard = model
    monkeypatch.setattr(follow, "RETRY_S", 0.5)
    path = tmp_path / "flaky.rnnscope"
    loop = Loop(path, steps=100_000, probe_every=5)
    loop.thread.start()
    app.files.open(path)
    owner.until(lambda: app.mode == "follow" and app.steps > 5, timeout=60)
    reader = app.follower.reader
    assert reader is not None
    real = reader.length

    def broken(*_a: object, **_k: object) -> int:
        raise SessionError(path, "cannot read (corrupt file?): disk I/O error")

    monkeypatch.setattr(reader, "length", broken)
    owner.drain(2.0)  # eight ticks of reads that fail
    errors = [h for h in heard if h.startswith("error ")]
    assert len(errors) == 1 and "disk I/O error" in errors[0] and "trying again" in errors[0]
    n = app.steps
    monkeypatch.setattr(reader, "length", real)  # readable again: following goes on by itself
    owner.until(lambda: app.steps > n + 5, timeout=60)

    requester = app.follower._requester
    assert requester is not None
    monkeypatch.setattr(follow, "BEAT_S", 0.2)
    heard.clear()

    def cannot_write(*_a: object, **_k: object) -> None:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(requester, "_write", cannot_write)  # heartbeats fail: said once
    owner.drain(1.5)
    assert [h for h in heard if h.startswith("error ")] == [
        "error cannot reach the training loop: OperationalError: attempt to write a readonly database"
    ]
    monkeypatch.undo()
    app.close()
    loop.stop = True
    loop.thread.join(60)
    assert not loop.thread.is_alive()
