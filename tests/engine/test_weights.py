"""Your own weights: a trained nn.RNN/LSTM/GRU in, rnnscope's weights out, and the inspect mode."""

from __future__ import annotations

import os
import pickle
from importlib import resources
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from rnnscope.engine import TrainConfig, Trainer
from rnnscope.engine.datasets import DataError, DataFile, store
from rnnscope.engine.weights import export_state_dict, read_weights, strip_part
from rnnscope.sessions import Session
from rnnscope.sessions.live import LiveSession
from rnnscope.sessions.weights_export import write_weights

MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class UserNet(nn.Module):
    """What a user has: a token model with an embedding, a recurrent module and a head."""

    def __init__(self, cell: str, vocab: int, embed: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.encoder = MODULES[cell](embed, hidden, layers, batch_first=True)
        self.fc = nn.Linear(hidden, vocab)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_trained_module_imports_exactly_and_the_stack_computes_what_it_computes(
    cell: str, tmp_path: Path
) -> None:
    cfg = TrainConfig(
        cell=cell, task="charlm", hidden_size=24, embed_size=12, layers=2, seq_len=16, device="cpu"
    )
    tr = Trainer(cfg)
    vocab = tr.task.input_size
    torch.manual_seed(3)
    net = UserNet(cell, vocab, 12, 24, 2)
    path = tmp_path / "net.pt"
    torch.save(net.state_dict(), path)
    plan = tr.import_weights(path)
    assert (
        plan.mapping
        == {
            **{f"encoder.{k}": f"rnn.{k}" for k in net.encoder.state_dict()},
            "embedding.weight": "embed.weight",
            "fc.weight": "read_out.weight",
            "fc.bias": "read_out.bias",
        }
        and plan.unused == []
    )
    x = torch.randn(16, 5, 12)
    ours, _, _ = tr.model.rnn(x)
    theirs, _ = net.encoder(x.transpose(0, 1))
    assert torch.allclose(ours, theirs.transpose(0, 1), atol=1e-5)
    assert torch.equal(tr.model.embed.weight, net.embedding.weight)


def test_misfits_name_the_key_and_both_shapes(tmp_path: Path) -> None:
    tr = Trainer(TrainConfig(hidden_size=16, device="cpu"))
    cases = {
        "wide.pt": (
            nn.LSTM(32, 20).state_dict(),
            r"weight_ih_l0: expected shape \(64, 32\) for the run's lstm rnn, found \(80, 32\)",
        ),
        "deep.pt": (nn.LSTM(32, 16, 2).state_dict(), "has 2 layer\\(s\\); the run's rnn has 1"),
        "both.pt": (
            nn.LSTM(32, 16, bidirectional=True).state_dict(),
            "weight_ih_l0_reverse: a bidirectional layer cannot be imported",
        ),
        "proj.pt": (nn.LSTM(32, 16, proj_size=8).state_dict(), "weight_hr_l0: a proj_size > 0 layer"),
        "head.pt": ({"fc.weight": torch.zeros(3, 3)}, "no recurrent layer in it"),
    }
    before = {k: v.clone() for k, v in tr.model.state_dict().items()}
    for name, (sd, says) in cases.items():
        torch.save(sd, tmp_path / name)
        with pytest.raises(DataError, match=says):
            tr.import_weights(tmp_path / name)
    assert all(torch.equal(before[k], v) for k, v in tr.model.state_dict().items())  # nothing changed


class Payload:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_pickle_payload_is_refused_and_never_runs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        torch.save({"weight_ih_l0": torch.zeros(1), "x": Payload()}, fh, pickle_module=pickle)
    with pytest.raises(
        DataError, match=r"evil\.pt: holds more than tensors \(refused, nothing of it was run\)"
    ):
        read_weights(path)
    assert not (tmp_path / "pwned").exists()
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match=r"junk\.pt: not a PyTorch state_dict"):
        read_weights(tmp_path / "junk.pt")


def test_safetensors_and_nested_checkpoints(tmp_path: Path) -> None:
    lstm = nn.LSTM(32, 16)
    save_file(
        {f"rnn.{k}": v.contiguous() for k, v in lstm.state_dict().items()}, str(tmp_path / "w.safetensors")
    )
    torch.save({"epoch": 3, "model_state_dict": {"lstm": lstm.state_dict()}}, tmp_path / "ckpt.pt")
    for name in ("w.safetensors", "ckpt.pt"):
        tr = Trainer(TrainConfig(hidden_size=16, device="cpu"))
        tr.import_weights(tmp_path / name)
        assert torch.equal(tr.model.rnn.weight_hh_l0, lstm.weight_hh_l0)


def test_exported_weights_load_strictly_into_the_torch_modules(tmp_path: Path) -> None:
    tr = Trainer(TrainConfig(cell="gru", hidden_size=16, layers=2, device="cpu"))
    tr.step()
    files = write_weights(tr.model, tmp_path / "run.step1", "state_dict")
    assert [f.name for f in files] == ["run.step1.pt", "run.step1.model.pt"]
    gru = nn.GRU(tr.model.rnn.input_size, 16, 2)
    gru.load_state_dict(torch.load(files[0], weights_only=True), strict=True)
    assert torch.equal(gru.weight_hh_l1, tr.model.rnn.weight_hh_l1)
    s2s = Trainer(TrainConfig(task="reverse", seq_len=6, hidden_size=16, device="cpu", decoder_cell="gru"))
    files = write_weights(s2s.model, tmp_path / "s2s", "state_dict")
    assert [f.name for f in files] == ["s2s.encoder.pt", "s2s.decoder.pt", "s2s.model.pt"]
    nn.GRU(s2s.model.decoder.input_size, 16).load_state_dict(
        torch.load(files[1], weights_only=True), strict=True
    )
    (st,) = write_weights(s2s.model, tmp_path / "s2s", "safetensors")
    back = Trainer(TrainConfig(task="reverse", seq_len=6, hidden_size=16, device="cpu", decoder_cell="gru"))
    back.import_weights(st)  # what rnnscope writes, it reads back
    assert all(
        torch.equal(a, b)
        for a, b in zip(
            export_state_dict(back.model).values(), export_state_dict(s2s.model).values(), strict=True
        )
    )
    assert set(strip_part(export_state_dict(s2s.model), "encoder")) == set(nn.LSTM(8, 16).state_dict())


def test_inspect_steps_through_the_data_in_order_without_updating_and_replays(tmp_path: Path) -> None:
    data = resources.files("rnnscope.engine").joinpath("data", "sunspots.csv").read_bytes()
    df = store.register(DataFile.of("sunspots.csv", data))
    cfg = TrainConfig(
        task="series",
        data=df.id,
        time_column="YEAR",
        seq_len=10,
        batch_size=4,
        hidden_size=8,
        device="cpu",
        inspect=True,
    )
    live = LiveSession.create(tmp_path / "inspect.rnnscope", Trainer(cfg))
    before = {k: v.clone() for k, v in live.trainer.model.state_dict().items()}
    recs = [live.step() for _ in range(6)]
    live.close()
    assert all(torch.equal(before[k], v) for k, v in live.trainer.model.state_dict().items())
    assert [r.extras["inspected"] for r in recs] == [0, 1, 2, 3, 4, 5] and recs[0].grad_norm > 0
    starts = torch.cat([live.trainer.task.prepared.train_starts, live.trainer.task.prepared.val_starts])
    assert torch.equal(live.trainer.task.ordered_batch(1, 4).x, live.trainer.task._windows(starts[4:8]).x)
    with Session.open(tmp_path / "inspect.rnnscope") as s:
        assert s.record(4).loss == recs[4].loss and s.mismatches == []


def test_a_forecaster_that_reads_its_features_directly_is_inspected_exactly(tmp_path: Path) -> None:
    """nn.LSTM(n_features, H) + a linear head, the usual time-series model: with embed_size =
    n_features the read-in starts as the identity and rnnscope computes what the model computes."""
    data = resources.files("rnnscope.engine").joinpath("data", "sunspots.csv").read_bytes()
    df = store.register(DataFile.of("sunspots.csv", data))

    class Forecaster(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(1, 16, batch_first=True)
            self.head = nn.Linear(16, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.lstm(x)[0])

    torch.manual_seed(5)
    user = Forecaster()
    torch.save(user.state_dict(), tmp_path / "forecaster.pt")
    cfg = TrainConfig(
        task="series",
        data=df.id,
        time_column="YEAR",
        seq_len=12,
        hidden_size=16,
        batch_size=8,
        device="cpu",
        inspect=True,
    )
    with pytest.raises(DataError, match=r"set embed_size to 1 \(--embed-size 1\)"):
        Trainer(cfg).import_weights(tmp_path / "forecaster.pt")
    tr = Trainer(cfg.with_changes(embed_size=1))
    plan = tr.import_weights(tmp_path / "forecaster.pt")
    assert (
        plan.identity == ["read_in.weight", "read_in.bias"]
        and plan.mapping["head.weight"] == "read_out.weight"
    )
    assert "(none) -> read_in = identity (weight I, bias 0" in plan.describe()
    batch = tr.task.ordered_batch(0, 8)
    from rnnscope.engine.models import RunContext

    ours = tr.model(batch, RunContext(torch.Generator(), training=False))
    assert torch.allclose(ours, user(batch.x), atol=1e-5)
    rec = tr.step()
    with torch.no_grad():
        assert abs(rec.loss - float(nn.functional.mse_loss(user(batch.x), batch.y))) < 1e-5
