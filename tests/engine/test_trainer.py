"""Trainer: recorded gradients against an unrolled float64 autograd model, determinism,
resume, live edits, clipping, non-finite steps, evaluation and record shapes.

The references rebuild the trainer's forward from ``trainer.state_dict()`` taken just
before a step (weights and data cursor), as a Python loop over the cell equations with
``retain_grad()`` on every h_t and c_t, in float64.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor

from rnnscope.engine.config import TrainConfig
from rnnscope.engine.models import RunContext, Seq2SeqModel, teacher_forced_inputs
from rnnscope.engine.record import GATE_NAMES, PartRecord, ProbeSample, StepRecord
from rnnscope.engine.tasks import SOS_ID, Batch
from rnnscope.engine.trainer import Edit, Trainer

CELLS = ("rnn", "lstm", "gru")
TASK_SIZES: dict[str, dict[str, Any]] = {
    "copy": {"seq_len": 12, "delay": 4},
    "adding": {"seq_len": 10},
    "sine": {"seq_len": 10},
    "charlm": {"seq_len": 10},
    "reverse": {"seq_len": 6},
    "translate": {"seq_len": 3},
}
HIDDEN, BATCH, EMBED = 8, 4, 6


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny shapes: one intra-op thread is fastest and immune to a busy machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def config(**kw: Any) -> TrainConfig:
    task = kw.get("task", "copy")
    base: dict[str, Any] = dict(
        hidden_size=HIDDEN, batch_size=BATCH, embed_size=EMBED, device="cpu", seed=3, **TASK_SIZES[task]
    )
    base.update(kw)
    return TrainConfig(**base)


# --- the unrolled float64 reference -------------------------------------------------------------------


def cell_step(
    cell: str, x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor
):
    gi = x @ w_ih.t() + b_ih
    gh = h @ w_hh.t() + b_hh
    if cell == "rnn":
        return torch.tanh(gi + gh), c, None
    if cell == "lstm":
        pi, pf, pg, po = (gi + gh).chunk(4, dim=1)
        i, f, g, o = torch.sigmoid(pi), torch.sigmoid(pf), torch.tanh(pg), torch.sigmoid(po)
        c = f * c + i * g
        return o * torch.tanh(c), c, torch.cat([i, f, g, o], dim=1)
    ir, iz, in_ = gi.chunk(3, dim=1)
    hr, hz, hn = gh.chunk(3, dim=1)
    r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
    n = torch.tanh(in_ + r * hn)
    return (1 - z) * n + z * h, c, torch.cat([r, z, n], dim=1)


@dataclasses.dataclass
class RefLayer:
    cell: str
    inp: Tensor  # (T, B, in) what the layer read
    w: list[Tensor]  # W_ih, W_hh, b_ih, b_hh
    h0: Tensor
    c0: Tensor
    h: list[Tensor] = dataclasses.field(default_factory=list)
    c: list[Tensor] = dataclasses.field(default_factory=list)
    act: list[Tensor | None] = dataclasses.field(default_factory=list)

    def stack_grad(self, which: str) -> Tensor:
        return torch.stack([t.grad for t in getattr(self, which)])  # type: ignore[misc]

    def jacobian_norms(self, b: int) -> np.ndarray:
        """(T,) exact recurrence gain of sample b: ||dh_t/dh_{t-1}||_2, and for the LSTM the
        joint ||d(h_t, c_t)/d(h_{t-1}, c_{t-1})||_2 (issue 11: the cell-state highway counts)."""
        hs = torch.stack(self.h)[:, b].detach()
        h_prev = torch.cat([self.h0[b][None].detach(), hs[:-1]])
        c_prev = h_prev * 0.0
        if self.cell == "lstm":
            c_prev = torch.cat([self.c0[b][None], torch.stack(self.c)[:-1, b]]).detach()
        x = self.inp[:, b].detach()
        w = [t.detach() for t in self.w]
        if self.cell == "lstm":
            H = h_prev.shape[1]
            jac = torch.autograd.functional.jacobian(
                lambda hc: torch.cat(cell_step(self.cell, x, hc[:, :H], hc[:, H:], *w)[:2], dim=1),
                torch.cat([h_prev, c_prev], dim=1),
                vectorize=True,
            )
        else:
            jac = torch.autograd.functional.jacobian(
                lambda h: cell_step(self.cell, x, h, c_prev, *w)[0], h_prev, vectorize=True
            )
        idx = torch.arange(h_prev.shape[0])
        return torch.linalg.matrix_norm(jac[idx, :, idx, :], ord=2).numpy()


def run_stack(
    sd: dict[str, Tensor], prefix: str, cell: str, layers: int, inp: Tensor, h0=None, c0=None, drop=None
):
    T, B = inp.shape[:2]
    out: list[RefLayer] = []
    for layer in range(layers):
        if layer > 0 and drop is not None:  # dropout between the stacked layers
            inp = drop(inp)
        w = [sd[f"{prefix}.{n}_l{layer}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        H = w[1].shape[1]
        h = inp.new_zeros(B, H) if h0 is None else h0[layer]
        c = inp.new_zeros(B, H) if c0 is None else c0[layer]
        ref = RefLayer(cell, inp, w, h, c)
        for t in range(T):
            h, c_new, act = cell_step(cell, inp[t], h, c, *w)
            h.retain_grad()
            ref.h.append(h)
            ref.act.append(act)
            if cell == "lstm":
                c = c_new
                c.retain_grad()
                ref.c.append(c)
        out.append(ref)
        inp = torch.stack(ref.h)
    return inp, out


def reference(
    tr: Trainer,
    state: dict[str, Any],
    masks: list[Tensor] | None = None,
    dec_in: Tensor | None = None,
) -> tuple[Tensor, dict[str, list[RefLayer]], dict[str, Tensor], Batch]:
    """The step that ``tr`` would take from ``state``, unrolled in float64.
    -> (loss, part -> per-layer references (with grads), leaf parameters, batch).

    With dropout, ``masks`` are the step's dropout multipliers in the order the model drew them
    (embedded input, between layers, read-out; encoder then decoder); with teacher forcing
    below 1, ``dec_in`` is the decoder input the step fed (truth or its own predictions)."""
    cfg = TrainConfig.from_dict(dict(state["config"]))
    assert (cfg.dropout == 0.0) == (masks is None) and (cfg.teacher_forcing == 1.0 or dec_in is not None)
    pending = list(masks or [])

    def drop(x: Tensor) -> Tensor:
        return x * pending.pop(0).double() if masks is not None else x

    gen = torch.Generator()
    gen.set_state(state["rng"]["data"])
    batch = tr.task.sample(gen, cfg.batch_size)
    sd = {k: v.detach().double().requires_grad_(True) for k, v in state["model"].items()}
    if cfg.tie_weights:  # one matrix serves both: one leaf
        emb = "embed.weight" if "embed.weight" in sd else "tgt_embed.weight"
        sd["read_out.weight"] = sd[emb]
    read_out = lambda top: top @ sd["read_out.weight"].t() + sd["read_out.bias"]  # noqa: E731
    parts: dict[str, list[RefLayer]] = {}
    if cfg.is_seq2seq:
        assert batch.src_len is not None
        e = drop(sd["src_embed.weight"][batch.x.t()])  # (S, B, E)
        _, parts["encoder"] = run_stack(sd, "encoder", cfg.cell, cfg.layers, e, drop=drop)
        last = (batch.src_len - 1).clamp(min=0).tolist()
        h0 = torch.stack(
            [torch.stack([ly.h[last[b]][b] for b in range(len(last))]) for ly in parts["encoder"]]
        )
        c0 = None
        if cfg.cells == {"encoder": "lstm", "decoder": "lstm"}:
            c0 = torch.stack(
                [torch.stack([ly.c[last[b]][b] for b in range(len(last))]) for ly in parts["encoder"]]
            )
        if dec_in is None:
            dec_in = torch.cat([torch.full_like(batch.y[:, :1], SOS_ID), batch.y[:, :-1]], dim=1)
        d = drop(sd["tgt_embed.weight"][dec_in.t()])
        top, parts["decoder"] = run_stack(
            sd, "decoder", cfg.cells["decoder"], cfg.layers, d, h0, c0, drop=drop
        )
        out = read_out(drop(top)).transpose(0, 1)
        ref_batch = batch
    else:
        if "embed.weight" in sd:
            e = sd["embed.weight"][batch.x.t()]
            ref_batch = batch
        else:
            e = batch.x.transpose(0, 1).double() @ sd["read_in.weight"].t() + sd["read_in.bias"]
            ref_batch = dataclasses.replace(batch, x=batch.x.double(), y=batch.y.double())
        top, parts["rnn"] = run_stack(sd, "rnn", cfg.cell, cfg.layers, drop(e), drop=drop)
        out = read_out(drop(top)).transpose(0, 1)
    assert not pending, "the reference must use every dropout mask the step drew"
    loss = tr.task.loss(out, ref_batch)
    loss.backward()
    leaves = {k: v for k, v in sd.items() if not (cfg.tie_weights and k == "read_out.weight")}
    return loss.detach(), parts, leaves, batch


def masked_mean_norm(grads: Tensor, valid: Tensor | None) -> np.ndarray:
    norms = torch.linalg.vector_norm(grads, dim=2).numpy()  # (T, B)
    if valid is None:
        return norms.mean(axis=1)
    v = valid.numpy()
    with np.errstate(invalid="ignore"):
        return (norms * v).sum(axis=1) / v.sum(axis=1)


def close(got: np.ndarray | float, want: np.ndarray | float, what: str, rtol: float = 2e-4) -> None:
    want_a = np.asarray(want, dtype=np.float64)
    scale = float(np.nanmax(np.abs(want_a))) if np.isfinite(want_a).any() else 1.0
    np.testing.assert_allclose(
        np.asarray(got, dtype=np.float64), want_a, rtol=rtol, atol=1e-5 * scale, err_msg=what
    )


def check_against_reference(
    tr: Trainer, diagnostics: bool = False, drawn: Callable[[], Callable[[], dict[str, Any]]] | None = None
) -> StepRecord:
    """One step of ``tr`` against the reference. ``diagnostics``: also the frame's Jacobian
    norms and W_hh singular values (kept apart: they are a separate concern). ``drawn``: called
    just before the checked step (to start recording what it draws) and returns a callable
    giving the reference's ``masks``/``dec_in`` keywords after it."""
    tr.step()  # the reference is taken mid-run: weights and data cursor have moved
    state = tr.state_dict()
    after = drawn() if drawn is not None else None
    rec = tr.step(probe=True)
    loss, parts, leaves, batch = reference(tr, state, **(after() if after is not None else {}))
    cfg = tr.config
    b = cfg.probe_index
    close(rec.loss, float(loss), "loss", rtol=1e-5)
    ref_norm = math.sqrt(sum(float(p.grad.square().sum()) for p in leaves.values() if p.grad is not None))
    close(rec.grad_norm, ref_norm, "grad_norm")
    assert set(rec.parts) == set(parts)
    for name, layers in parts.items():
        part = rec.parts[name]
        if name == "encoder":
            assert batch.src_len is not None
            valid = torch.arange(batch.x.shape[1])[:, None] < batch.src_len[None, :]
        elif name == "decoder":
            valid = batch.mask.t()
        else:
            valid = None
        cell = part.cell_type
        want_h = np.stack([masked_mean_norm(ly.stack_grad("h"), valid) for ly in layers])
        close(part.h_grad_norm, want_h, f"{name} h_grad_norm")
        assert float(np.nanmax(want_h)) > 0.0
        # the frame of the probe sample
        close(part.hidden, np.stack([torch.stack(ly.h)[:, b].detach().numpy() for ly in layers]), f"{name} h")
        close(part.h_grad, np.stack([ly.stack_grad("h")[:, b].numpy() for ly in layers]), f"{name} dL/dh")
        if cell == "lstm":
            want_c = np.stack([masked_mean_norm(ly.stack_grad("c"), valid) for ly in layers])
            close(part.c_grad_norm, want_c, f"{name} c_grad_norm")
            close(
                part.cell, np.stack([torch.stack(ly.c)[:, b].detach().numpy() for ly in layers]), f"{name} c"
            )
            close(part.c_grad, np.stack([ly.stack_grad("c")[:, b].numpy() for ly in layers]), f"{name} dL/dc")
        else:
            assert part.c_grad_norm is None and part.cell is None and part.c_grad is None
        if diagnostics:
            want_j = np.stack([ly.jacobian_norms(b) for ly in layers])
            close(part.jacobian_norm, want_j, f"{name} jacobian_norm", rtol=1e-3)
            want_s = np.stack([np.linalg.svd(ly.w[1].detach().numpy(), compute_uv=False) for ly in layers])
            close(part.whh_singular_values, want_s, f"{name} W_hh singular values", rtol=1e-5)
            H, G = cfg.hidden_size, max(1, len(GATE_NAMES[cell]))
            want_b = np.stack(
                [
                    [
                        np.linalg.svd(ly.w[1].detach().numpy()[k * H : (k + 1) * H], compute_uv=False)
                        for k in range(G)
                    ]
                    for ly in layers
                ]
            )
            close(part.whh_block_singular_values, want_b, f"{name} per-gate W_hh singular values", rtol=1e-5)
        assert part.gates is not None
        assert tuple(part.gates) == GATE_NAMES[cell]
        if cell != "rnn":
            H = cfg.hidden_size
            acts = np.stack([torch.stack(ly.act)[:, b].detach().numpy() for ly in layers])  # (L, T, G*H)
            for k, gname in enumerate(GATE_NAMES[cell]):
                close(part.gates[gname], acts[:, :, k * H : (k + 1) * H], f"{name} gate {gname}")
    return rec


SEQ_CASES = [
    dict(cell="rnn", task="copy", layers=2),
    dict(cell="lstm", task="copy", layers=2),
    dict(cell="gru", task="copy", layers=2),
    dict(cell="rnn", task="adding"),
    dict(cell="lstm", task="sine", forget_bias=1.0),
    dict(cell="gru", task="charlm", probe_index=3),
    dict(cell="lstm", task="charlm", layers=2, tie_weights=True, probe_index=1),
]


@pytest.mark.parametrize("kw", SEQ_CASES, ids=lambda kw: "-".join(str(v) for v in kw.values()))
def test_sequence_model_gradients_match_unrolled_reference(kw: dict[str, Any]) -> None:
    tr = Trainer(config(**kw))
    rec = check_against_reference(tr)
    assert rec.h_grad_norm is rec.parts["rnn"].h_grad_norm  # single part: top level is the part


S2S_CASES = [
    dict(cell="lstm", decoder_cell="gru", task="reverse"),
    dict(cell="lstm", decoder_cell="lstm", task="reverse", layers=2, probe_index=2),
    dict(cell="lstm", task="translate", layers=2, probe_index=1),
    dict(cell="gru", decoder_cell="lstm", task="reverse"),
    dict(cell="rnn", decoder_cell="gru", task="translate", layers=2),
]


@pytest.mark.parametrize("kw", S2S_CASES, ids=lambda kw: "-".join(str(v) for v in kw.values()))
def test_seq2seq_gradients_match_unrolled_reference(kw: dict[str, Any]) -> None:
    tr = Trainer(config(**kw))
    rec = check_against_reference(tr)
    enc, dec = rec.parts["encoder"], rec.parts["decoder"]
    # the gradient reaches the encoder only through the final state: it must not be zero
    assert float(np.nanmax(enc.h_grad_norm)) > 0.0
    # top level: encoder then decoder along time, NaN where a part lacks the array
    sl = rec.part_slices
    assert sl["encoder"] == slice(0, enc.length) and sl["decoder"] == slice(
        enc.length, enc.length + dec.length
    )
    np.testing.assert_array_equal(rec.h_grad_norm, np.concatenate([enc.h_grad_norm, dec.h_grad_norm], axis=1))
    if enc.cell_type == "lstm" and dec.cell_type != "lstm":
        c = rec.c_grad_norm
        assert c is not None
        np.testing.assert_array_equal(c[:, sl["encoder"]], enc.c_grad_norm)
        assert np.isnan(c[:, sl["decoder"]]).all()


@pytest.mark.parametrize(
    "kw",
    [
        dict(cell="rnn", task="copy", layers=2),
        dict(cell="lstm", task="adding"),
        dict(cell="gru", task="charlm"),
        dict(cell="lstm", decoder_cell="gru", task="reverse"),
    ],
    ids=lambda kw: "-".join(str(v) for v in kw.values()),
)
def test_frame_diagnostics_use_the_weights_of_the_forward_pass(kw: dict[str, Any]) -> None:
    """The frame's Jacobian norms and W_hh singular values describe the same forward pass
    as its states (weights before the step's update, record.py). A large SGD step makes
    any mix-up of pre- and post-update weights visible."""
    tr = Trainer(config(optimizer="sgd", lr=0.5, **kw))
    check_against_reference(tr, diagnostics=True)


# --- determinism and resume ------------------------------------------------------------------------


def assert_same(x: Any, y: Any, path: str) -> None:
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        assert type(x) is type(y), path
        for f in dataclasses.fields(x):
            if f.name != "step_time":
                assert_same(getattr(x, f.name), getattr(y, f.name), f"{path}.{f.name}")
    elif isinstance(x, dict):
        assert isinstance(y, dict) and list(x) == list(y), path
        for k in x:
            assert_same(x[k], y[k], f"{path}[{k!r}]")
    elif isinstance(x, np.ndarray):
        assert isinstance(y, np.ndarray), path
        assert x.dtype == y.dtype and x.shape == y.shape, path
        assert np.array_equal(x, y, equal_nan=True), path
    elif isinstance(x, float):
        assert isinstance(y, float) and (x == y or (math.isnan(x) and math.isnan(y))), f"{path}: {x} != {y}"
    else:
        assert x == y, f"{path}: {x!r} != {y!r}"


def assert_same_records(a: list[StepRecord], b: list[StepRecord]) -> None:
    assert len(a) == len(b)
    for ra, rb in zip(a, b, strict=True):
        assert_same(ra, rb, f"step {ra.step}")


RNG_CASES = [  # every RNG the trainer owns is exercised: data, dropout (both kinds), scheduled sampling
    dict(cell="lstm", task="copy", layers=2, dropout=0.3, probe_every=2),
    dict(cell="gru", task="sine", dropout=0.2, variational_dropout=True, optimizer="sgd", momentum=0.9),
    dict(cell="lstm", decoder_cell="gru", task="reverse", teacher_forcing=0.5, dropout=0.1, layers=2),
]


@pytest.mark.parametrize("kw", RNG_CASES, ids=lambda kw: f"{kw['cell']}-{kw['task']}")
def test_same_config_and_seed_give_bit_identical_records(kw: dict[str, Any]) -> None:
    cfg = config(**kw)
    a = [Trainer(cfg) for _ in range(2)]
    recs = [[tr.step() for _ in range(4)] for tr in a]
    assert_same_records(recs[0], recs[1])
    for pa, pb in zip(a[0].model.parameters(), a[1].model.parameters(), strict=True):
        assert torch.equal(pa, pb)
    # and a different seed gives a different run
    other = Trainer(cfg.with_changes(seed=cfg.seed + 1)).step()
    assert other.loss != recs[0][0].loss


@pytest.mark.parametrize("kw", RNG_CASES, ids=lambda kw: f"{kw['cell']}-{kw['task']}")
def test_state_dict_resume_is_bit_identical(kw: dict[str, Any]) -> None:
    cfg = config(**kw)
    tr = Trainer(cfg)
    for _ in range(2):
        tr.step()
    state = tr.state_dict()
    frozen = copy.deepcopy(state)
    first = [tr.step() for _ in range(3)]
    # the state is a copy: training on did not change it
    for k, v in state["model"].items():
        assert torch.equal(v, frozen["model"][k]), k
    tr.load_state_dict(state)
    assert tr.step_count == 2
    again = [tr.step() for _ in range(3)]
    assert_same_records(first, again)
    assert [r.step for r in again] == [2, 3, 4]
    fresh = Trainer.from_state_dict(frozen)
    assert fresh.config == tr.config and fresh.step_count == 2
    assert_same_records(first, [fresh.step() for _ in range(3)])


def test_load_state_dict_refuses_other_structure() -> None:
    tr = Trainer(config(cell="lstm"))
    state = tr.state_dict()
    other = Trainer(config(cell="lstm", hidden_size=HIDDEN * 2))
    with pytest.raises(ValueError, match="hidden_size"):
        other.load_state_dict(state)
    with pytest.raises(ValueError, match="format"):
        tr.load_state_dict({**state, "format": 999})


def test_state_dict_carries_live_edits() -> None:
    tr = Trainer(config(cell="gru"))
    tr.step()
    tr.set_param("lr", 0.02)
    tr.set_param("clip", True)
    fresh = Trainer.from_state_dict(tr.state_dict())
    assert fresh.config.lr == 0.02 and fresh.config.clip is True
    assert all(g["lr"] == 0.02 for g in fresh.optimizer.param_groups)
    assert_same_records([tr.step()], [fresh.step()])


@pytest.mark.parametrize(
    "kw",
    [
        dict(cell="lstm", task="copy", layers=2, dropout=0.3),
        dict(cell="gru", decoder_cell="lstm", task="reverse", teacher_forcing=0.5, dropout=0.2),
    ],
    ids=["lstm-copy", "gru-reverse"],
)
def test_probing_does_not_change_training(kw: dict[str, Any]) -> None:
    probed = Trainer(config(probe_every=1, **kw))
    plain = Trainer(config(probe_every=0, **kw))
    for _ in range(4):
        rp, rq = probed.step(), plain.step()
        assert rp.has_frame and not rq.has_frame
        assert rp.loss == rq.loss and rp.grad_norm == rq.grad_norm
        for name in rp.parts:
            np.testing.assert_array_equal(rp.parts[name].h_grad_norm, rq.parts[name].h_grad_norm)
    for (n, p), q in zip(probed.model.named_parameters(), plain.model.parameters(), strict=True):
        assert torch.equal(p, q), n
    # a forced probe in between does not change the run either
    plain.step(probe=True)
    probed.step(probe=False)
    for p, q in zip(probed.model.parameters(), plain.model.parameters(), strict=True):
        assert torch.equal(p, q)


# --- live edits ---------------------------------------------------------------------------------------


def test_set_param_lr_takes_effect() -> None:
    tr = Trainer(config(cell="rnn", optimizer="sgd", lr=0.1))
    tr.step()
    edit = tr.set_param("lr", 0.5)
    assert edit == Edit(step=1, name="lr", old=0.1, new=0.5)
    assert tr.config.lr == 0.5
    assert all(g["lr"] == 0.5 for g in tr.optimizer.param_groups)
    before = {n: p.detach().clone() for n, p in tr.model.named_parameters()}
    rec = tr.step()
    assert rec.lr == 0.5
    for n, p in tr.model.named_parameters():  # plain SGD: w' = w - 0.5 * grad
        assert p.grad is not None
        torch.testing.assert_close(p.detach(), before[n] - 0.5 * p.grad, rtol=1e-6, atol=1e-7, msg=n)


def test_set_param_other_live_settings() -> None:
    tr = Trainer(config(cell="lstm", task="reverse", optimizer="sgd"))
    assert tr.set_param("momentum", 0.9).new == 0.9
    assert all(g["momentum"] == 0.9 for g in tr.optimizer.param_groups)
    e = tr.set_param("optimizer", "adam")
    assert (e.old, e.new) == ("sgd", "adam") and isinstance(tr.optimizer, torch.optim.Adam)
    assert tr.set_param("teacher_forcing", 0.25).new == 0.25
    assert tr.set_param("probe_index", BATCH - 1).new == BATCH - 1
    assert tr.set_param("clip", True).new is True
    rec = tr.step()
    assert rec.probe_index == BATCH - 1 and rec.clip_threshold == tr.config.clip_threshold
    assert "teacher_forced_fraction" in rec.extras


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("lr", -0.1, "lr"),
        ("lr", 0.0, "lr"),
        ("lr", True, "lr"),
        ("teacher_forcing", 1.5, "teacher_forcing"),
        ("dropout", 1.0, "dropout"),
        ("momentum", 1.0, "momentum"),
        ("probe_index", BATCH, "probe_index"),
        ("optimizer", "lbfgs", "optimizer"),
        ("clip_threshold", 0.0, "clip_threshold"),
        ("learning_rate", 0.1, "learning_rate"),
        ("hidden_size", 16, "hidden_size"),
        ("cell", "gru", "cell"),
        ("seed", 5, "seed"),
        ("layers", 2, "layers"),
    ],
)
def test_set_param_refuses_bad_values_without_change(name: str, value: Any, match: str) -> None:
    tr = Trainer(config(cell="lstm", task="reverse", optimizer="sgd", lr=0.1))
    tr.step()
    cfg_before = tr.config
    opt_before = tr.optimizer
    groups_before = copy.deepcopy(
        [{k: v for k, v in g.items() if k != "params"} for g in tr.optimizer.param_groups]
    )
    with pytest.raises(ValueError, match=match):
        tr.set_param(name, value)
    assert tr.config is cfg_before
    assert tr.optimizer is opt_before
    assert [{k: v for k, v in g.items() if k != "params"} for g in tr.optimizer.param_groups] == groups_before


def test_set_param_structural_message_says_so() -> None:
    tr = Trainer(config())
    with pytest.raises(ValueError, match="structural"):
        tr.set_param("hidden_size", 16)
    with pytest.raises(ValueError, match="unknown"):
        tr.set_param("not_a_setting", 1)


# --- clipping -------------------------------------------------------------------------------------


def _grad_norm(tr: Trainer) -> float:
    return float(torch.nn.utils.get_total_norm([p.grad for p in tr.model.parameters() if p.grad is not None]))


@pytest.mark.parametrize("cell", CELLS)
def test_clipping_caps_the_norm(cell: str) -> None:
    tr = Trainer(config(cell=cell, clip=True, clip_threshold=0.01, optimizer="sgd", lr=0.5))
    for _ in range(3):
        before = {n: p.detach().clone() for n, p in tr.model.named_parameters()}
        rec = tr.step()
        assert rec.clip_threshold == 0.01
        assert rec.grad_norm > 0.01  # the check bites
        assert rec.grad_norm_clipped <= 0.01 * (1 + 1e-5)
        close(rec.grad_norm_clipped, 0.01, "clipped norm", rtol=1e-4)
        # the gradients the optimizer used are the clipped ones, direction kept
        close(_grad_norm(tr), rec.grad_norm_clipped, "norm of the applied gradient", rtol=1e-5)
        for n, p in tr.model.named_parameters():
            assert p.grad is not None
            torch.testing.assert_close(p.detach(), before[n] - 0.5 * p.grad, rtol=1e-6, atol=1e-7, msg=n)


def test_clipping_off_and_below_threshold_leave_the_norm() -> None:
    off = Trainer(config(cell="gru", clip=False))
    for _ in range(2):
        rec = off.step()
        assert rec.clip_threshold is None
        assert rec.grad_norm_clipped == rec.grad_norm
        close(_grad_norm(off), rec.grad_norm, "unclipped norm", rtol=1e-5)
    high = Trainer(config(cell="gru", clip=True, clip_threshold=1e6))
    rec = high.step()
    assert rec.clip_threshold == 1e6 and rec.grad_norm_clipped == rec.grad_norm


def test_clip_edit_changes_the_norm_from_the_next_step() -> None:
    a = Trainer(config(cell="lstm"))
    b = Trainer(config(cell="lstm"))
    a.step(), b.step()
    b.set_param("clip", True)
    b.set_param("clip_threshold", 1e-3)
    ra, rb = a.step(), b.step()
    assert ra.grad_norm == rb.grad_norm  # same weights and batch before the edit took effect
    assert rb.grad_norm_clipped <= 1e-3 * (1 + 1e-5) < ra.grad_norm_clipped


# --- non-finite steps --------------------------------------------------------------------------------


def _params(tr: Trainer) -> dict[str, Tensor]:
    return {n: p.detach().clone() for n, p in tr.model.named_parameters()}


def _same_params(a: dict[str, Tensor], b: dict[str, Tensor]) -> bool:
    """Bitwise equal, NaNs (a poisoned weight) in the same places."""
    return set(a) == set(b) and all(
        torch.equal(a[k], b[k])
        or (torch.equal(a[k].isnan(), b[k].isnan()) and torch.equal(a[k].nan_to_num(), b[k].nan_to_num()))
        for k in a
    )


def test_exploding_run_records_nonfinite_and_skips_the_update() -> None:
    """init far too large, lr 10, plain SGD: the run overflows within a few steps."""
    tr = Trainer(
        config(
            cell="rnn", task="adding", seq_len=12, init="normal", init_scale=50.0, lr=10.0, optimizer="sgd"
        )
    )
    bad = None
    for _ in range(40):
        before = _params(tr)
        rec = tr.step()
        if rec.nonfinite is not None:
            bad = rec
            break
        assert all(bool(torch.isfinite(p).all()) for p in before.values())
    assert bad is not None, "the run never overflowed"
    nf = bad.nonfinite
    assert nf is not None
    assert nf.where in ("loss", "gradient", "forward", "parameter")
    assert not (math.isfinite(bad.loss) and math.isfinite(bad.grad_norm))
    if nf.where in ("forward", "gradient") and nf.part is not None:
        assert nf.part == "rnn" and nf.layer == 0 and nf.timestep is not None and 0 <= nf.timestep < 12
    assert nf.describe().startswith("non-finite value in " + nf.where)
    assert bad.extras.get("update_skipped") == 1.0
    assert _same_params(before, _params(tr)), "a non-finite step changed the weights"
    assert all(bool(torch.isfinite(p).all()) for p in tr.model.parameters())
    tr.step()  # and training goes on without an exception


def test_nan_weight_is_reported_as_parameter_and_update_skipped() -> None:
    tr = Trainer(config(cell="lstm", task="copy", layers=2))
    tr.step(), tr.step()  # Adam has state now
    with torch.no_grad():
        tr.model.rnn.weight_hh_l1[3, 2] = math.nan
    before = _params(tr)
    opt_before = copy.deepcopy(tr.optimizer.state_dict())
    rec = tr.step()
    assert rec.nonfinite is not None
    assert rec.nonfinite.where == "parameter" and rec.nonfinite.detail == "rnn.weight_hh_l1"
    assert math.isnan(rec.loss)
    assert rec.extras.get("update_skipped") == 1.0
    assert _same_params(before, _params(tr))
    opt_after = tr.optimizer.state_dict()
    for idx, st in opt_before["state"].items():
        for k, v in st.items():
            w = opt_after["state"][idx][k]
            assert torch.equal(v, w) if isinstance(v, Tensor) else v == w, (idx, k)


@pytest.mark.parametrize(("cell", "probe"), list(itertools.product(CELLS, (0, 1))))
def test_nan_input_is_located_in_the_forward_pass(cell: str, probe: int) -> None:
    """A NaN in the data at t=3 of sample 1: the first non-finite state is layer 0, t=3.
    When sample 1 is also the probe sample, its frame (Jacobian norms included) holds NaNs
    from t=3 on, but recording it must not raise."""
    tr = Trainer(config(cell=cell, task="sine", layers=2, probe_index=probe))
    sample = tr.task.sample

    def poisoned(gen: torch.Generator, batch_size: int) -> Batch:
        batch = sample(gen, batch_size)
        batch.x[1, 3, 0] = math.nan
        return batch

    tr.task.sample = poisoned  # type: ignore[method-assign]
    before = _params(tr)
    rec = tr.step()
    nf = rec.nonfinite
    assert nf is not None
    assert (nf.where, nf.part, nf.layer, nf.timestep) == ("forward", "rnn", 0, 3)
    assert rec.extras.get("update_skipped") == 1.0
    assert _same_params(before, _params(tr))
    part = rec.parts["rnn"]
    assert part.hidden is not None and part.jacobian_norm is not None
    assert np.isfinite(part.hidden[:, :3]).all() and np.isfinite(part.jacobian_norm[:, :3]).all()
    if probe == 1:
        assert np.isnan(part.hidden[0, 3:]).all()


# --- evaluation, tasks x cells, devices ---------------------------------------------------------------


@pytest.mark.parametrize("task", list(TASK_SIZES))
def test_evaluate_is_finite_and_repeatable(task: str) -> None:
    tr = Trainer(config(task=task, cell="gru", dropout=0.3))
    tr.step()
    state = tr.state_dict()
    loss, metric = tr.evaluate()
    assert math.isfinite(loss) and math.isfinite(metric) and loss > 0.0
    assert (loss, metric) == tr.evaluate()  # fixed validation batches, no dropout
    # evaluation touches no training state: the run continues as if it had not happened
    ref = Trainer.from_state_dict(state)
    assert_same_records([tr.step()], [ref.step()])


@pytest.mark.parametrize("task", ["reverse", "translate"])
def test_seq2seq_evaluation_decodes_greedily_without_teacher_forcing(task: str) -> None:
    """Validation of a Seq2Seq model is free-running: exact match of greedy decoding from
    <SOS>, each step fed the model's own previous output, never the reference."""
    tr = Trainer(config(task=task, cell="lstm", teacher_forcing=1.0, lr=3e-3, optimizer="adam"))
    for _ in range(30):
        tr.step()
    loss, metric = tr.evaluate()
    model = tr.model
    assert isinstance(model, Seq2SeqModel)
    hits, total, free_losses, forced_losses = 0.0, 0, [], []
    with torch.no_grad():
        model.eval()
        for vb in tr.task.validation_batches(tr.config.batch_size):
            ctx = RunContext(torch.Generator(), training=False)
            preds = model.greedy(vb, ctx, vb.y.shape[1])
            right = (preds == vb.y) | ~vb.mask
            hits += float(right.all(dim=1).float().sum())
            total += vb.y.shape[0]
            free_logits = model(vb, ctx, dec_in=teacher_forced_inputs(preds))
            free_losses.append(float(tr.task.loss(free_logits, vb)))
            forced_losses.append(float(tr.task.loss(model(vb, ctx), vb)))
        model.train()
    assert metric == pytest.approx(hits / total)
    assert loss == pytest.approx(sum(free_losses) / len(free_losses))
    assert loss != pytest.approx(sum(forced_losses) / len(forced_losses))  # not the teacher-forced loss


def _check_part_shapes(part: PartRecord, cell: str, L: int, T: int, H: int, frame: bool) -> None:
    assert part.cell_type == cell and part.length == T
    assert part.h_grad_norm.shape == (L, T) and part.h_grad_norm.dtype == np.float64  # issue 11: no underflow
    if cell == "lstm":
        assert part.c_grad_norm is not None and part.c_grad_norm.shape == (L, T)
    else:
        assert part.c_grad_norm is None
    if part.whh_singular_values is not None or frame:
        assert part.whh_singular_values is not None and part.whh_singular_values.shape == (L, H)
        assert (np.diff(part.whh_singular_values, axis=1) <= 0).all()
    assert part.has_frame == frame
    if not frame:
        assert part.gates is None and part.h_grad is None and part.jacobian_norm is None
        return
    assert part.gates is not None and tuple(part.gates) == GATE_NAMES[cell]
    for g in part.gates.values():
        assert g.shape == (L, T, H)
    for arr in (part.hidden, part.h_grad):
        assert arr is not None and arr.shape == (L, T, H) and arr.dtype == np.float32
    if cell == "lstm":
        assert part.cell is not None and part.cell.shape == (L, T, H)
        assert part.c_grad is not None and part.c_grad.shape == (L, T, H)
    else:
        assert part.cell is None and part.c_grad is None
    assert part.jacobian_norm is not None and part.jacobian_norm.shape == (L, T)
    assert np.isfinite(part.jacobian_norm).all() and (part.jacobian_norm >= 0).all()
    assert part.probe_length is not None and 1 <= part.probe_length <= T


def _check_probe(p: ProbeSample, tr: Trainer, T_in: int, T_out: int) -> None:
    kind = tr.task.kind
    E = tr.config.hidden_size if tr.config.tie_weights else tr.config.embed_size
    if kind == "continuous":
        assert p.input.shape == (T_in, tr.task.input_size)
        assert p.target.shape == p.prediction.shape == (T_out, tr.task.output_size)
    else:
        assert p.input.shape == (T_in,) and p.input.dtype == np.int64
        assert p.target.shape == p.prediction.shape == (T_out,)
        assert p.prediction.dtype == np.int64
    assert p.mask is not None and p.mask.shape == (T_out,) and p.mask.dtype == np.bool_
    assert p.embedded is not None and p.embedded.shape == (T_in, E)
    if kind == "seq2seq":
        assert p.free_running is not None and p.free_running.shape == (T_out,)
    else:
        assert p.free_running is None


@pytest.mark.parametrize(("task", "cell"), list(itertools.product(TASK_SIZES, CELLS)))
def test_every_task_and_cell_runs_with_documented_shapes(task: str, cell: str) -> None:
    L, H = 2, HIDDEN
    tr = Trainer(config(task=task, cell=cell, layers=L, probe_every=2, probe_index=1))
    recs = [tr.step(), tr.step()]
    assert [r.step for r in recs] == [0, 1]
    assert tr.step_count == 2
    for rec, frame in zip(recs, (True, False), strict=True):
        assert rec.metric_name == tr.task.metric_name
        assert math.isfinite(rec.loss) and math.isfinite(rec.metric) and rec.nonfinite is None
        assert rec.grad_norm_clipped == rec.grad_norm and rec.clip_threshold is None
        assert rec.probe_index == 1 and rec.has_frame == frame
        assert rec.layers == L
        assert (rec.probe is not None) == frame
        if tr.task.kind == "seq2seq":
            S = TASK_SIZES[task]["seq_len"]
            assert tuple(rec.parts) == ("encoder", "decoder")
            enc, dec = rec.parts["encoder"], rec.parts["decoder"]
            U = dec.length
            _check_part_shapes(enc, cell, L, S, H, frame)
            _check_part_shapes(dec, cell, L, U, H, frame)
            assert rec.h_grad_norm.shape == (L, S + U)
            if frame:
                assert rec.probe is not None
                _check_probe(rec.probe, tr, S, U)
                assert enc.probe_length == int((rec.probe.input != 0).sum())  # PAD_ID = 0
                assert dec.probe_length == int(rec.probe.mask.sum())
                assert rec.hidden is not None and rec.hidden.shape == (L, S + U, H)
                assert rec.jacobian_norm is not None and rec.jacobian_norm.shape == (L, S + U)
                gates = rec.gates
                assert gates is not None and tuple(gates) == GATE_NAMES[cell]
                assert rec.whh_singular_values is not None and rec.whh_singular_values.shape == (2 * L, H)
        else:
            T = TASK_SIZES[task]["seq_len"]
            assert tuple(rec.parts) == ("rnn",)
            _check_part_shapes(rec.parts["rnn"], cell, L, T, H, frame)
            assert rec.h_grad_norm.shape == (L, T)
            if frame:
                assert rec.probe is not None
                _check_probe(rec.probe, tr, T, T)
                assert rec.parts["rnn"].probe_length == T


def test_tied_weights_share_one_matrix() -> None:
    tied = Trainer(config(task="charlm", cell="lstm", tie_weights=True))
    untied = Trainer(config(task="charlm", cell="lstm", embed_size=HIDDEN))
    assert tied.model.read_out.weight is tied.model.embed.weight
    V = tied.task.output_size
    assert untied.param_count() - tied.param_count() == V * HIDDEN
    rec = tied.step()
    assert rec.probe is not None and rec.probe.embedded is not None and rec.probe.embedded.shape[1] == HIDDEN


def test_gru_has_fewer_recurrent_parameters_than_lstm() -> None:
    counts = {c: Trainer(config(cell=c)).recurrent_param_count() for c in CELLS}
    H, E = HIDDEN, EMBED
    per_gate = H * E + H * H + 2 * H
    assert counts == {"rnn": per_gate, "gru": 3 * per_gate, "lstm": 4 * per_gate}


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA present: device='cuda' is valid here")
def test_cuda_without_cuda_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="cuda"):
        Trainer(config(device="cuda"))


def test_training_never_touches_the_global_rng() -> None:
    """Two trainers in one process (a live run and a regeneration) must not disturb each
    other: every random draw of a step comes from the trainer's own generators."""
    trainers = [Trainer(config(**kw)) for kw in RNG_CASES]
    before = torch.get_rng_state()
    for tr in trainers:
        tr.step(), tr.step(probe=True)
        tr.evaluate()
        tr.load_state_dict(tr.state_dict())
    assert torch.equal(torch.get_rng_state(), before)


def test_construction_does_not_depend_on_or_consume_the_global_rng() -> None:
    cfg = config(cell="lstm", task="reverse", teacher_forcing=0.5)
    torch.manual_seed(1)
    a = Trainer(cfg)
    torch.manual_seed(2)
    before = torch.get_rng_state()
    b = Trainer(cfg)
    for (n, p), q in zip(a.model.named_parameters(), b.model.parameters(), strict=True):
        assert torch.equal(p, q), n
    # engine/trainer.py says it "never touches the global RNG"; nn.Embedding/nn.Linear
    # constructors draw their default init from it before _init_parameters overwrites it.
    assert torch.equal(torch.get_rng_state(), before), "Trainer() advanced the global torch RNG"


@pytest.mark.parametrize("variational", [False, True])
def test_dropout_masks(variational: bool) -> None:
    """Standard dropout: a fresh mask per timestep; variational: one mask per sequence,
    shared by every timestep. Kept units are scaled by 1/(1-p); eval mode is the identity."""
    from rnnscope.engine.models import RunContext

    p = 0.5
    ctx = RunContext(torch.Generator().manual_seed(0), dropout=p, variational=variational)
    x = torch.ones(6, 3, 40)
    y = ctx.drop(x)
    kept = y != 0
    assert set(torch.unique(y).tolist()) <= {0.0, 1.0 / (1 - p)}
    assert 0.3 < float(kept.float().mean()) < 0.7
    same_over_time = bool((kept == kept[:1]).all())
    assert same_over_time == variational
    quiet = RunContext(torch.Generator().manual_seed(0), dropout=p, variational=variational, training=False)
    assert torch.equal(quiet.drop(x), x)


@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("task", ["copy", "translate"])
def test_steps_leave_no_cyclic_garbage(model: str, task: str) -> None:
    """A long run must not depend on the cycle collector: a step that leaves a reference
    cycle behind keeps its activations alive until gc happens to run (a 10,000-step run
    once grew to 14 GB this way)."""
    import gc

    cfg = TrainConfig(
        cell=model, task=task, seq_len=6, delay=2, batch_size=4, hidden_size=8, layers=2, dropout=0.1
    )
    tr = Trainer(cfg)
    tr.step(probe=True)  # warm-up: first calls may build caches
    gc.collect()
    gc.disable()
    try:
        for k in range(4):
            tr.step(probe=k % 2 == 0)
        assert gc.collect() == 0
    finally:
        gc.enable()
