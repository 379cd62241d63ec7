"""attach(): the user's model computes exactly what it computed, with rnnscope's recurrences inside.

Every case runs the same input through a deep copy of the user's model (the torch modules) and
through the attached model, and compares outputs, final states and every parameter's gradient
at float32 tolerance.
"""

from __future__ import annotations

import copy
import functools
import itertools

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnscope.engine.attach import AttachedRNN, AttachError, attach

MODULES = {
    "rnn": nn.RNN,
    "relu": functools.partial(nn.RNN, nonlinearity="relu"),
    "lstm": nn.LSTM,
    "gru": nn.GRU,
}
ATOL = 2e-5


class UserNet(nn.Module):
    def __init__(self, cell: str, **kw) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 6))
        self.rnn = MODULES[cell](6, 8, **kw)
        d = 2 if kw.get("bidirectional") else 1
        self.head = nn.Linear(8 * d, 3)

    def forward(self, x, hx=None):
        out, h = self.rnn(self.body(x) if torch.is_tensor(x) else x, hx)
        if not torch.is_tensor(out):
            out, _ = pad_packed_sequence(out, batch_first=self.rnn.batch_first)
        return self.head(out), h


def flat_states(h):
    return list(h) if isinstance(h, tuple) else [h]


def compare(ours: nn.Module, theirs: nn.Module, run) -> None:
    torch.manual_seed(11)
    out_a, h_a = run(ours)
    torch.manual_seed(11)
    out_b, h_b = run(theirs)
    assert torch.allclose(out_a, out_b, atol=ATOL)
    for a, b in zip(flat_states(h_a), flat_states(h_b), strict=True):
        assert a.shape == b.shape and torch.allclose(a, b, atol=ATOL)
    loss_a = out_a.square().mean() + sum(s.square().mean() for s in flat_states(h_a))
    loss_b = out_b.square().mean() + sum(s.square().mean() for s in flat_states(h_b))
    loss_a.backward()
    loss_b.backward()
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad, atol=ATOL, rtol=1e-4), name


CASES = list(
    itertools.product(["rnn", "relu", "lstm", "gru"], [False, True], [1, 3], [False, True], [True, False])
)  # cell, batch_first, layers, bidirectional, bias


@pytest.mark.parametrize(("cell", "batch_first", "layers", "bidirectional", "bias"), CASES)
def test_outputs_states_and_gradients_equal_the_torch_modules(
    cell, batch_first, layers, bidirectional, bias
) -> None:
    torch.manual_seed(0)
    kw = dict(num_layers=layers, batch_first=batch_first, bidirectional=bidirectional, bias=bias,
              dropout=0.25 if layers > 1 else 0.0)  # fmt: skip
    theirs = UserNet(cell, **kw)
    ours = copy.deepcopy(theirs)
    scope = attach(ours)
    assert isinstance(ours.rnn, AttachedRNN) and list(scope.modules) == ["rnn"]
    x = torch.randn(5, 7, 4) if batch_first else torch.randn(7, 5, 4)
    d = 2 if bidirectional else 1
    h0 = torch.randn(layers * d, 5, 8)
    hx = (h0, torch.randn(layers * d, 5, 8)) if cell == "lstm" else h0
    compare(ours, theirs, lambda m: m(x))  # training mode: dropout between layers draws alike
    ours.zero_grad(), theirs.zero_grad()
    compare(ours.eval(), theirs.eval(), lambda m: m(x, hx))
    norms = scope.gradient_norms()["rnn"]
    assert norms is not None and norms.shape == (layers, d, 7) and (norms > 0).all()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_packed_sequences_of_several_lengths(cell, bidirectional, enforce_sorted) -> None:
    torch.manual_seed(1)
    theirs = UserNet(cell, num_layers=2, batch_first=True, bidirectional=bidirectional)
    ours = copy.deepcopy(theirs)
    attach(ours)
    lengths = torch.tensor([7, 5, 5, 2]) if enforce_sorted else torch.tensor([3, 7, 1, 5])
    x = torch.randn(4, 7, 4)

    def run(m):
        packed = pack_padded_sequence(m.body(x), lengths, batch_first=True, enforce_sorted=enforce_sorted)
        return m(packed)

    compare(ours, theirs, run)


def test_an_unbatched_sequence() -> None:
    torch.manual_seed(2)
    theirs = UserNet("lstm", num_layers=2)
    ours = copy.deepcopy(theirs)
    attach(ours)
    compare(ours, theirs, lambda m: m(torch.randn(9, 4)))


def test_fifty_steps_of_a_user_loop_attached_and_not_give_the_same_losses() -> None:
    torch.manual_seed(3)
    plain = UserNet("lstm", num_layers=2, batch_first=True, dropout=0.1)
    attached = copy.deepcopy(plain)
    scope = attach(attached)
    losses = {}
    for name, model in (("plain", plain), ("attached", attached)):
        opt = torch.optim.Adam(model.parameters(), 1e-2)  # after attach: the same Parameter objects
        gen = torch.Generator().manual_seed(4)
        torch.manual_seed(5)
        out = []
        for _ in range(50):
            x = torch.randn(8, 12, 4, generator=gen)
            y = x[:, :, :3].cumsum(1) * 0.1
            loss = nn.functional.mse_loss(model(x)[0], y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            out.append(loss.item())
        losses[name] = out
    assert max(abs(a - b) for a, b in zip(losses["plain"], losses["attached"], strict=True)) < 1e-4
    assert losses["attached"][-1] < 0.5 * losses["attached"][0]
    keys = list(attached.state_dict())
    scope.detach()
    assert isinstance(attached.rnn, nn.LSTM) and list(attached.state_dict()) == keys == list(
        plain.state_dict()
    )
    assert torch.allclose(attached.rnn.weight_hh_l1, plain.rnn.weight_hh_l1, atol=1e-4)


def test_the_same_parameter_objects_and_the_state_dict_keys() -> None:
    model = UserNet("gru", num_layers=2)
    before = dict(model.named_parameters())
    keys = list(model.state_dict())
    scope = attach(model)
    assert all(p is before[n] for n, p in model.named_parameters())
    assert list(model.state_dict()) == keys
    copy_back = UserNet("gru", num_layers=2)
    copy_back.load_state_dict(model.state_dict(), strict=True)
    scope.detach()
    attach(model).detach()  # attachable again once detached


def test_what_cannot_be_attached_is_named() -> None:
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.good = nn.GRU(3, 4)
            self.deep = nn.RNN(3, 4, num_layers=5)
            self.proj = nn.LSTM(3, 4, proj_size=2)

    with pytest.raises(
        AttachError,
        match=r"deep: num_layers=5; rnnscope shows 1-4 layers; proj: proj_size=2 is not supported",
    ):
        attach(Two())
    with pytest.warns(UserWarning, match="left as they are: deep: num_layers=5"):
        scope = attach(Two(), strict=False)
    assert list(scope.modules) == ["good"] and set(scope.skipped) == {"deep", "proj"}
    with pytest.raises(AttachError, match=r"holds no nn\.RNN, nn\.LSTM or nn\.GRU"):
        attach(nn.Sequential(nn.Linear(2, 2)))
    with pytest.raises(AttachError, match="a bare LSTM cannot be replaced in place"):
        attach(nn.LSTM(2, 2))
    model = UserNet("lstm")
    attach(model)
    with pytest.raises(AttachError, match="attached already"):
        attach(model)
    with pytest.raises(AttachError, match="num_layers=5"):
        attach(nn.Sequential(nn.LSTM(2, 2, num_layers=5)))


def test_a_relu_rnn_records_the_relu_gradient_and_gain() -> None:
    """nonlinearity="relu": dL/dh_t is the torch module's, and the recurrence gain of a frame is
    ||diag(h_t > 0) W_hh||, the exact Jacobian of h_t = relu(... + W_hh h_{t-1})."""
    from rnnscope.engine.diagnostics import jacobian_norms

    torch.manual_seed(3)
    rnn = nn.RNN(4, 6, nonlinearity="relu")
    model = nn.Sequential()
    model.rnn = rnn
    attach(model)
    x = torch.randn(9, 3, 4)
    out, _ = model.rnn(x)
    out.square().sum().backward()
    cap = model.rnn.last_captures[0][0]
    assert cap.nonlinearity == "relu" and cap.dh is not None
    w_hh = model.rnn.weight_hh_l0.detach()
    for b in range(3):
        got = jacobian_norms("rnn", cap, b, w_hh)
        mask = (cap.h[:, b] > 0).to(w_hh.dtype)  # (T, H)
        want = torch.linalg.matrix_norm(mask[:, :, None] * w_hh[None], ord=2)
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-7), b
    # the gradient that reaches the initial state through every relu step is the torch module's
    ref = copy.deepcopy(rnn)
    h_ours = torch.randn(1, 3, 6).requires_grad_()
    h_ref = h_ours.detach().clone().requires_grad_()
    model.rnn(x, h_ours)[0].square().sum().backward()
    ref(x, h_ref)[0].square().sum().backward()
    assert h_ours.grad is not None and h_ref.grad is not None
    assert h_ours.grad.abs().sum() > 0 and torch.allclose(h_ours.grad, h_ref.grad, atol=ATOL)
