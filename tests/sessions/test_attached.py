"""rnnscope.attach(model, path): the user's own loop recorded into a session file.

Each test runs a user-style loop (its own model, optimizer, clipping) and checks what the file
holds against what the loop itself computed: the loss it gave, the norm torch's clip_grad_norm_
returned, the optimizer's lr, the model's own outputs (the probe sample's top-layer h_t), the
weights before the update; and that recording never stops training.
"""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import rnnscope
from rnnscope.sessions import Session, SessionError
from rnnscope.sessions.attached import RecordingWarning


class Net(nn.Module):
    def __init__(self, cell: type[nn.RNNBase] = nn.LSTM, **kw) -> None:
        super().__init__()
        self.rnn = cell(3, 8, batch_first=True, **kw)
        self.head = nn.Linear(8 * (2 if kw.get("bidirectional") else 1), 1)

    def forward(self, x):
        y, _ = self.rnn(x)
        self.last_y = y
        return self.head(y[:, -1])


def batch(i: int, b: int = 4, t: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(i)
    x = torch.randn(b, t, 3, generator=g)
    return x, x.sum(dim=(1, 2))[:, None]


def train(model, scope, steps, *, call_step=True, clip=1.0, log=None):
    opt = scope.scope.optimizer
    for i in range(steps):
        x, y = batch(i)
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        if log is not None:
            log.append(
                {
                    "loss": loss.item(),
                    "norm": float(norm),
                    "y0": model.last_y[0].detach().clone(),
                    "weights": {k: v.detach().clone() for k, v in model.rnn.named_parameters()},
                }
            )
        opt.step()
        if call_step:
            scope.step(loss)


def test_the_file_holds_what_the_loop_computed(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    path = tmp_path / "run.rnnscope"
    scope = rnnscope.attach(model, path, optimizer=opt, probe_every=5, checkpoint_every=4)
    log: list[dict] = []
    train(model, scope, 12, log=log)
    scope.detach()
    assert isinstance(model.rnn, nn.LSTM)  # the original module is back
    with Session.open(path) as s:
        assert s.external and len(s) == 12
        assert [k for k in range(12) if s.has_stored_frame(k)] == [0, 5, 10]
        for k, seen in enumerate(log):
            rec = s.record(k)
            assert rec.loss == pytest.approx(seen["loss"], rel=1e-6)
            assert rec.grad_norm == pytest.approx(seen["norm"], rel=1e-5)  # before clipping
            assert rec.grad_norm_clipped == pytest.approx(min(seen["norm"], 1.0), rel=1e-4)
            assert rec.lr == pytest.approx(0.05)
            assert list(rec.parts) == ["rnn"]
            assert rec.parts["rnn"].h_grad_norm.shape == (1, 7)
            assert np.all(rec.parts["rnn"].h_grad_norm > 0)
            if k % 5 == 0:
                np.testing.assert_allclose(rec.hidden[-1], seen["y0"].numpy(), atol=1e-6)
                assert set(rec.gates) == {"i", "f", "g", "o"}
            else:
                assert not rec.has_frame
        for k in (0, 4, 8):
            stored = s.weights_at(k)
            assert set(stored) == {f"rnn.{n}" for n in log[k]["weights"]}
            for n, w in log[k]["weights"].items():
                assert torch.equal(stored[f"rnn.{n}"], w)  # the weights of step k's forward
        with pytest.raises(SessionError, match=r"no weights of step 5.*every 4 steps"):
            s.weights_at(5)
        for refused in (lambda: s.trainer_at(3), lambda: s.regenerate(3), lambda: s.config_at(3)):
            with pytest.raises(SessionError, match="your own training loop"):
                refused()


def test_dL_dh_in_the_file_is_the_gradient_reaching_each_timestep(tmp_path: Path) -> None:
    """The stored per-timestep norm is the batch mean of ||dL/dh_t||, checked against autograd
    on a plain unrolled copy of the same LSTM."""
    torch.manual_seed(1)
    model = Net()
    reference = copy.deepcopy(model)
    scope = rnnscope.attach(
        model, tmp_path / "g.rnnscope", optimizer=torch.optim.SGD(model.parameters(), 0.0)
    )
    x, y = batch(0)
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    scope.step(loss)
    scope.detach()
    # reference: an nn.LSTM run one step at a time; the total dL/dh_t is the gradient of the
    # output at t (the read-out) plus that of the state h_t handed to step t+1
    h = torch.zeros(1, 4, 8)
    c = torch.zeros(1, 4, 8)
    outs, states = [], []
    for t in range(7):
        out, (h, c) = reference.rnn(x[:, t : t + 1], (h, c))
        out.retain_grad()
        h.retain_grad()
        outs.append(out)
        states.append(h)
    ((reference.head(outs[-1][:, -1]) - y) ** 2).mean().backward()
    expect = []
    for t in range(7):
        direct = outs[t].grad[:, 0] if outs[t].grad is not None else 0
        total = direct + (states[t].grad[0] if t < 6 else 0)
        expect.append(total.norm(dim=-1).mean().item())
    with Session.open(tmp_path / "g.rnnscope") as s:
        norms = s.record(0).parts["rnn"].h_grad_norm[0]
    np.testing.assert_allclose(norms, expect, rtol=1e-4)
    assert norms[0] < norms[-1]  # and it does fade towards t = 0 here


def test_eval_mode_and_no_grad_record_nothing(tmp_path: Path) -> None:
    model = Net(nn.GRU)
    scope = rnnscope.attach(model, tmp_path / "e.rnnscope", optimizer=torch.optim.Adam(model.parameters()))
    train(model, scope, 3)
    x, y = batch(9)
    with torch.no_grad():
        model(x)
    model.eval()
    ((model(x) - y) ** 2).mean().backward()  # a gradient in eval mode: not a training step
    assert scope.step() is None
    model.train()
    train(model, scope, 2)
    scope.detach()
    with Session.open(tmp_path / "e.rnnscope") as s:
        assert len(s) == 5


def test_without_step_calls_each_backward_is_a_step(tmp_path: Path) -> None:
    model = Net(nn.RNN, num_layers=2, bidirectional=True)
    scope = rnnscope.attach(model, tmp_path / "n.rnnscope", probe_every=2)
    scope.scope.optimizer = torch.optim.Adam(model.parameters())
    train(model, scope, 5, call_step=False)
    scope.detach()  # hands on the last one
    with Session.open(tmp_path / "n.rnnscope") as s:
        assert len(s) == 5
        rec = s.record(4)
        assert list(rec.parts) == ["rnn", "rnn.reverse"]
        assert rec.parts["rnn.reverse"].hidden.shape == (2, 7, 8)
        assert np.isnan(rec.loss)  # never given


def test_a_decoder_calling_its_lstm_per_timestep_is_one_part_over_time(tmp_path: Path) -> None:
    class Decoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cell = nn.LSTM(3, 8)
            self.out = nn.Linear(8, 3)

        def forward(self, x):  # x (T, B, 3)
            state, y, outs = None, x[0], []
            for _ in range(x.shape[0]):
                h, state = self.cell(y[None], state)
                y = self.out(h[0])
                outs.append(y)
            return torch.stack(outs)

    model = Decoder()
    opt = torch.optim.SGD(model.parameters(), 0.01)
    scope = rnnscope.attach(model, tmp_path / "d.rnnscope", optimizer=opt, probe_every=1)
    x = torch.randn(6, 2, 3)
    loss = ((model(x) - x) ** 2).mean()
    loss.backward()
    opt.step()
    scope.step(loss)
    scope.detach()
    with Session.open(tmp_path / "d.rnnscope") as s:
        rec = s.record(0)
        assert rec.parts["cell"].length == 6 and rec.parts["cell"].hidden.shape == (1, 6, 8)
        assert np.all(np.isfinite(rec.parts["cell"].jacobian_norm))


def test_a_read_only_file_warns_once_and_training_goes_on(tmp_path: Path) -> None:
    torch.manual_seed(2)
    model = Net()
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    scope = rnnscope.attach(model, tmp_path / "ro.rnnscope", optimizer=opt)
    train(model, scope, 3)
    scope.recording.recorder.flush()
    scope.recording.recorder.inject("PRAGMA query_only=1")  # later writes fail as on a read-only file
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(20):  # the writer fails on its next batch; then every step is refused quietly
            train(model, scope, 1)
            time.sleep(0.05)
    ours = [w for w in caught if issubclass(w.category, RecordingWarning)]
    assert len(ours) == 1 and "read-only" in str(ours[0].message)
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())  # it trained
    scope.detach()
    with Session.open(tmp_path / "ro.rnnscope") as s:
        assert len(s) >= 3  # what was committed before stays


def test_an_existing_file_is_refused_and_the_model_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "x.rnnscope"
    path.write_bytes(b"mine")
    model = Net()
    with pytest.raises(SessionError, match="already exists"):
        rnnscope.attach(model, path)
    assert isinstance(model.rnn, nn.LSTM) and path.read_bytes() == b"mine"
    rnnscope.attach(model).detach()  # and it can still be attached


def test_a_killed_training_process_keeps_its_recorded_steps(tmp_path: Path) -> None:
    path = tmp_path / "k.rnnscope"
    script = textwrap.dedent(
        f"""
        import sys, torch, rnnscope
        from torch import nn
        net = nn.Sequential()
        class Net(nn.Module):
            def __init__(self):
                super().__init__(); self.rnn = nn.GRU(3, 8); self.out = nn.Linear(8, 1)
            def forward(self, x): return self.out(self.rnn(x)[0][-1])
        model = Net(); opt = torch.optim.SGD(model.parameters(), 0.01)
        scope = rnnscope.attach(model, {str(path)!r}, optimizer=opt)
        for i in range(100000):
            x = torch.randn(5, 4, 3); loss = model(x).pow(2).mean()
            opt.zero_grad(); loss.backward(); opt.step(); scope.step(loss)
            if i == 30: print("running", flush=True)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "running"
        time.sleep(1.5)  # several commit intervals
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with Session.open(path) as s:
        assert len(s) > 30
        assert s.integrity_check() == "ok"
        assert np.isfinite(s.summary(len(s) - 1).loss)


def test_the_command_line_reads_an_attached_file(tmp_path: Path) -> None:
    from rnnscope.sessions.cli import export_step, info

    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    path = tmp_path / "cli.rnnscope"
    scope = rnnscope.attach(model, path, optimizer=opt, probe_every=5)
    train(model, scope, 7)
    scope.detach()
    text = info(path)
    assert "recorded from your own training loop" in text and "rnn: lstm 3->8, 1 layer(s)" in text
    assert f"writer    process {os.getpid()}: closed" in text
    assert export_step(path, 5, "npz", tmp_path / "s5.npz").is_file()
    with pytest.raises(SessionError, match=r"no frame of step 6.*nearest: 0, 5"):
        export_step(path, 6, "npz", tmp_path / "s6.npz")
    assert not (tmp_path / "s6.npz").exists()


def test_forwards_without_a_backward_hold_no_memory(tmp_path: Path) -> None:
    """An evaluation in train mode with grad on (outputs dropped, no backward) keeps nothing."""
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    scope = rnnscope.attach(model, tmp_path / "m.rnnscope", optimizer=opt)
    for i in range(50):
        model(batch(i)[0])
    assert len(model.rnn.calls) <= 2  # the last one, and the one Net.last_y keeps alive
    train(model, scope, 2)  # and training after it records its steps only
    scope.detach()
    with Session.open(tmp_path / "m.rnnscope") as s:
        assert len(s) == 2


@pytest.mark.parametrize("set_to_none", [True, False])
def test_grads_zeroed_before_step_keep_the_measured_norm(tmp_path: Path, set_to_none: bool) -> None:
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    scope = rnnscope.attach(model, tmp_path / "z.rnnscope", optimizer=opt)
    x, y = batch(0)
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=set_to_none)  # before scope.step: the clipped norm is not known
    rec = scope.step(loss)
    scope.detach()
    assert rec is not None and rec.grad_norm > 0 and rec.grad_norm_clipped == rec.grad_norm


def test_window_true_starts_the_window_on_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rnnscope.sessions import attached

    started: list[list[str]] = []

    class Started:
        def __init__(self, argv: list[str], **kwargs: object) -> None:
            assert kwargs["start_new_session"] is True  # a Ctrl+C in the script leaves it open
            started.append(argv)

    monkeypatch.setattr(attached.subprocess, "Popen", Started)
    path = tmp_path / "w.rnnscope"
    net = Net()
    scope = rnnscope.attach(net, path, window=True)
    assert started == [attached.window_command(path)] and isinstance(scope.window, Started)
    net(torch.randn(2, 5, 3)).sum().backward()
    scope.step()
    scope.detach()
    with pytest.raises(ValueError, match="window=True needs a path"):
        rnnscope.attach(Net(), window=True)
    monkeypatch.undo()

    # and that command opens the window on the file (offscreen, saved as a picture to end it)
    png = tmp_path / "w.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "RNNSCOPE_CONFIG_DIR": str(tmp_path / "config")}
    done = subprocess.run(
        [*attached.window_command(path), "--screenshot", str(png), "--timeout", "120"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert png.stat().st_size > 10_000
