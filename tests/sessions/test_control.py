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
from rnnscope.engine.breakpoints import Breakpoint, BreakpointSet
from rnnscope.sessions import Session, control


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.GRU(2, 4)
        self.out = nn.Linear(4, 1)

    def forward(self, x):
        return self.out(self.rnn(x)[0][-1])


def test_a_request_holds_only_while_paused_fresh_and_short_of_its_advance(tmp_path: Path) -> None:
    path = tmp_path / "r.rnnscope"
    rnnscope.attach(Net(), path, probe_every=0).detach()
    listener = control.Listener(path)
    now = 1000.0
    assert not listener.holds(control.Request(), 3, now)
    assert listener.holds(control.Request(pause=True, seq=1, beat=now), 3, now)
    stale = control.Request(pause=True, seq=1, beat=now - control.STALE - 1)
    assert not listener.holds(stale, 3, now)  # the window went away
    step2 = control.Request(pause=True, advance=2, seq=2, beat=now)
    assert not listener.holds(step2, 7, now)  # counted from where the loop is: run to 9
    assert not listener.holds(step2, 8, now)
    assert listener.holds(step2, 9, now) and listener.holds(step2, 9, now + 1)
    assert not listener.holds(control.Request(pause=False, seq=3, beat=now), 9, now)
    assert control.Request.parse("{not json") == control.Request()
    assert control.Request.parse('{"pause": true, "advance": 2, "seq": 4, "beat": 5}') == control.Request(
        True, 2, 4, 5.0
    )
    listener.close()


def test_the_loop_checks_the_windows_breakpoints_and_holds_right_after_a_hit(tmp_path: Path) -> None:
    path = tmp_path / "w.rnnscope"
    rnnscope.attach(Net(), path, probe_every=0).detach()
    model = Net()
    scope = rnnscope.attach(model)  # records made by the attached layers (no file of their own)
    records = []
    for _ in range(3):
        model(torch.randn(5, 3, 2)).sum().backward()
        records.append(scope.step())
    scope.detach()
    watch = BreakpointSet([Breakpoint("expression", expression="step == 2")]).to_dict()
    listener = control.Listener(path)
    now = time.time()
    req = control.Request(pause=False, seq=1, beat=now, watch=watch)
    assert not listener.holds(req, 0, now)  # (the request read at a boundary)
    assert listener.check(records[1]) == [] and not listener.holds(req, 2, now)
    hits = listener.check(records[2])
    assert [h.step for h in hits] == [2]
    assert listener.holds(req, 3, now) and listener.holds(req, 3, now + 1)  # until the window answers
    assert not listener.holds(control.Request(pause=False, seq=2, beat=now, watch=watch), 3, now)
    stale = control.Request(pause=False, seq=3, beat=now - control.STALE - 1, watch=watch)
    assert not listener.holds(stale, 3, now) and listener.check(records[2]) == []  # no window: no check
    assert not listener.needs_frame  # "step == 2" reads no frame field
    framed = BreakpointSet([Breakpoint("expression", expression="gate_f[0, 0, 0] < 0.01")]).to_dict()
    listener.holds(control.Request(seq=4, beat=time.time(), watch=framed), 3, time.time())
    assert listener.needs_frame  # the loop computes a frame on every step while this is watched
    listener.holds(control.Request(seq=4, beat=0.0, watch=framed), 3, time.time())
    assert not listener.needs_frame  # and not once the window is gone
    listener.close()


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
    deadline = time.monotonic() + 5
    while getattr(window.held(), "at", None) != held and time.monotonic() < deadline:
        time.sleep(0.05)  # the loop says where it waits (within a commit of its recorder)
    assert window.held() == control.Held(held, window.last.seq, ())
    window.send(pause=True, advance=1)  # one step
    loop.settled()
    assert loop.scope.scope.steps == held + 1
    window.send(pause=True, advance=3)  # three more, counted by the loop
    loop.settled()
    assert loop.scope.scope.steps == held + 4
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
