"""sessions.control: a window pauses and single-steps the user's loop through the session file.

The "window" here is a Requester in the test (another connection to the file, as the window
process has); the loop is a real attached training loop on a thread. Timings are bounds far
above what the mechanism needs (a 50 ms poll), so that a loaded CI machine cannot fail them.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import torch
from torch import nn

import rnnscope
from rnnscope.sessions import Session, control


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.GRU(2, 4)
        self.out = nn.Linear(4, 1)

    def forward(self, x):
        return self.out(self.rnn(x)[0][-1])


def test_a_request_holds_only_while_paused_fresh_and_short_of_its_step() -> None:
    now = 1000.0
    assert not control.Request().holds(3, now)
    assert control.Request(pause=True, beat=now).holds(3, now)
    assert not control.Request(pause=True, beat=now - control.STALE - 1).holds(3, now)  # the window went away
    assert not control.Request(pause=True, run_to=5, beat=now).holds(4, now)  # still stepping to 5
    assert control.Request(pause=True, run_to=5, beat=now).holds(5, now)
    assert control.Request.parse("{not json") == control.Request()
    assert control.Request.parse('{"pause": true, "run_to": 2, "beat": 5}') == control.Request(True, 2, 5.0)


class Loop:
    """An attached loop on a thread that records how many steps it has done."""

    def __init__(self, path: Path, steps: int = 400) -> None:
        self.model = Net()
        self.opt = torch.optim.SGD(self.model.parameters(), 0.01)
        self.scope = rnnscope.attach(self.model, path, optimizer=self.opt, probe_every=0)
        self.done = 0
        self.steps = steps
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        for _ in range(self.steps):
            loss = self.model(torch.randn(5, 3, 2)).pow(2).mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            self.scope.step(loss)
            self.done += 1
            time.sleep(0.002)
        self.scope.detach()

    def settled(self, timeout: float = 5.0) -> int:
        """The step count once it stops moving (the loop is held), or raise."""
        deadline = time.monotonic() + timeout
        last = -1
        while time.monotonic() < deadline:
            time.sleep(0.3)
            if self.done == last:
                return last
            last = self.done
        raise AssertionError(f"the loop did not stop: {self.done} steps")


def test_pause_step_and_resume_reach_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "c.rnnscope"
    loop = Loop(path)
    window = control.Requester(path)
    loop.thread.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    window.send(pause=True)
    loop.settled()
    latency = time.monotonic() - t0
    held = loop.scope.scope.steps  # steps recorded: the window reads len(session)
    assert 0 < held < loop.steps and latency < 5.0
    window.send(pause=True, run_to=held + 1)  # one step
    loop.settled()
    assert loop.scope.scope.steps == held + 1
    window.send(pause=True, run_to=held + 3)  # three more
    loop.settled()
    assert loop.scope.scope.steps == held + 3
    window.close()  # closing the window releases the loop
    loop.thread.join(30)
    assert not loop.thread.is_alive() and loop.done == loop.steps
    with Session.open(path) as s:
        assert len(s) == loop.steps


def test_a_window_that_vanished_never_holds_the_loop_for_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(control, "STALE", 1.0)
    path = tmp_path / "v.rnnscope"
    loop = Loop(path, steps=60)
    window = control.Requester(path)
    window.send(pause=True)  # and then never beats again, as a crashed window
    t0 = time.monotonic()
    loop.thread.start()
    loop.thread.join(30)
    assert not loop.thread.is_alive() and loop.done == 60
    assert time.monotonic() - t0 >= 0.9  # it was held until the request went stale
    assert loop.scope.recording is not None and loop.scope.recording.waited >= 0.9


def test_a_heartbeat_keeps_the_pause(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a beat can reach the file up to a commit interval (0.5 s) late: the writer holds the lock
    monkeypatch.setattr(control, "STALE", 2.0)
    path = tmp_path / "b.rnnscope"
    loop = Loop(path, steps=50)
    window = control.Requester(path)
    window.send(pause=True)
    loop.thread.start()
    for _ in range(16):  # 3.2 s: well over STALE
        time.sleep(0.2)
        window.beat()
    assert loop.done == 0 and loop.thread.is_alive()  # held at its first step all along
    window.close()
    loop.thread.join(30)
    assert loop.done == 50
