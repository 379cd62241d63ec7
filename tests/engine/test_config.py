"""TrainConfig validation: every refusal names the field and what it accepts."""

from __future__ import annotations

import dataclasses
import math
import re

import pytest

from rnnscope.engine.config import CELLS, LIVE_FIELDS, TrainConfig
from rnnscope.engine.tasks import task_names
from rnnscope.engine.tasks.charlm import CharLMTask

TINY = dict(hidden_size=8, batch_size=4, seq_len=12, delay=4)

# (changes, field the message must name, fragments of the allowed range / choices it must show)
BAD: list[tuple[dict, str, tuple[str, ...]]] = [
    ({"hidden_size": 0}, "hidden_size", ("[1, 1024]", "0")),
    ({"hidden_size": 1025}, "hidden_size", ("[1, 1024]",)),
    ({"layers": 5}, "layers", ("[1, 4]", "5")),
    ({"layers": 0}, "layers", ("[1, 4]",)),
    ({"embed_size": 0}, "embed_size", ("[1, 1024]",)),
    ({"batch_size": 0}, "batch_size", ("[1, 4096]",)),
    ({"seq_len": 0}, "seq_len", ("1",)),
    ({"seed": -1}, "seed", ("0",)),
    ({"probe_every": -1}, "probe_every", ("0",)),
    ({"lr": -0.1}, "lr", ("(0, 10]", "-0.1")),
    ({"lr": 0.0}, "lr", ("(0, 10]",)),
    ({"lr": 11.0}, "lr", ("(0, 10]",)),
    ({"momentum": 1.0}, "momentum", ("[0, 1)",)),
    ({"momentum": -0.5}, "momentum", ("[0, 1)",)),
    ({"clip_threshold": 0.0}, "clip_threshold", ("(0,",)),
    ({"init_scale": 0.0}, "init_scale", ("(0, 100]",)),
    ({"init_scale": 101.0}, "init_scale", ("(0, 100]",)),
    ({"forget_bias": 1000.0}, "forget_bias", ("[-100, 100]",)),
    ({"dropout": 1.0}, "dropout", ("[0, 1)", "1.0")),
    ({"dropout": -0.1}, "dropout", ("[0, 1)",)),
    ({"task": "reverse", "seq_len": 8, "teacher_forcing": 1.5}, "teacher_forcing", ("[0, 1]", "1.5")),
    ({"task": "reverse", "seq_len": 8, "teacher_forcing": -0.5}, "teacher_forcing", ("[0, 1]",)),
    ({"cell": "transformer"}, "cell", CELLS),
    ({"task": "mnist"}, "task", task_names()),
    ({"optimizer": "rmsprop"}, "optimizer", ("sgd", "adam")),
    ({"init": "xavier"}, "init", ("orthogonal", "normal", "default")),
    ({"device": "tpu"}, "device", ("auto", "cpu", "cuda")),
    ({"decoder_cell": "transformer", "task": "reverse", "seq_len": 8}, "decoder_cell", CELLS),
    ({"probe_index": 4}, "probe_index", ("[0, 3]", "4")),
    ({"probe_index": -1}, "probe_index", ("[0, 3]",)),
    ({"task": "translate", "seq_len": 9}, "seq_len", ("[1, 6]", "translate", "9")),
    ({"task": "translate", "seq_len": 0}, "seq_len", ("1",)),
    ({"task": "copy", "seq_len": 5, "delay": 4}, "seq_len", ("delay + 2", "6")),
    ({"task": "copy", "delay": 0}, "delay", ("[1,",)),
    # bool where a number is expected: the message names the field and the accepted range
    ({"hidden_size": True}, "hidden_size", ("integer", "[1, 1024]")),
    ({"lr": True}, "lr", ("number", "(0, 10]")),
    ({"dropout": False}, "dropout", ("number", "[0, 1)")),
    ({"probe_index": True}, "probe_index", ("integer", "[0, 3]")),
    ({"hidden_size": 8.0}, "hidden_size", ("integer", "[1, 1024]")),
    ({"lr": "0.1"}, "lr", ("number", "(0, 10]")),
    ({"lr": math.nan}, "lr", ("finite", "(0, 10]")),
    ({"clip": 1}, "clip", ("true or false",)),
    ({"variational_dropout": "yes"}, "variational_dropout", ("true or false",)),
    ({"tie_weights": 0}, "tie_weights", ("true or false",)),
    ({"task": "adding", "tie_weights": True}, "tie_weights", ("copy", "charlm", "reverse", "translate")),
    ({"task": "sine", "tie_weights": True}, "tie_weights", ("token",)),
    ({"task": "copy", "decoder_cell": "gru"}, "decoder_cell", ("reverse", "translate")),
    ({"task": "charlm", "decoder_cell": "lstm"}, "decoder_cell", ("Seq2Seq",)),
]


def _id(case: tuple[dict, str, tuple[str, ...]]) -> str:
    changes = case[0]
    return ",".join(f"{k}={v!r}" for k, v in changes.items())


@pytest.mark.parametrize("case", BAD, ids=[_id(c) for c in BAD])
def test_bad_value_message_names_field_and_range(case: tuple[dict, str, tuple[str, ...]]) -> None:
    changes, field, fragments = case
    with pytest.raises(ValueError) as info:
        TrainConfig(**{**TINY, **changes})
    msg = str(info.value)
    assert re.search(rf"\b{field}\b", msg), f"message does not name {field}: {msg}"
    for frag in fragments:
        assert frag in msg, f"message lacks {frag!r}: {msg}"


def test_charlm_seq_len_beyond_the_text() -> None:
    hi = CharLMTask.max_seq_len()
    assert 50 < hi < 10_000
    TrainConfig(**{**TINY, "task": "charlm", "seq_len": hi})  # the longest window is fine
    with pytest.raises(ValueError) as info:
        TrainConfig(**{**TINY, "task": "charlm", "seq_len": hi + 1})
    msg = str(info.value)
    assert "seq_len" in msg and f"[1, {hi}]" in msg and "charlm" in msg
    with pytest.raises(ValueError, match=r"seq_len"):
        TrainConfig(**{**TINY, "task": "charlm", "seq_len": 9_999})


def test_boundaries_are_accepted() -> None:
    for changes in (
        {"hidden_size": 1},
        {"hidden_size": 1024},
        {"layers": 4},
        {"lr": 10.0},
        {"lr": 1e-9},
        {"momentum": 0.0},
        {"dropout": 0.0},
        {"dropout": 0.99},
        {"probe_index": 3},
        {"probe_every": 0},
        {"task": "reverse", "seq_len": 8, "teacher_forcing": 0.0},
        {"task": "reverse", "seq_len": 8, "teacher_forcing": 1.0},
        {"task": "translate", "seq_len": 6},
        {"task": "translate", "seq_len": 1},
        {"task": "reverse", "seq_len": 8, "decoder_cell": "gru"},
        {"task": "charlm", "tie_weights": True},
        {"task": "copy", "tie_weights": True},
        {"lr": 1},  # an int where a float is expected is a number
    ):
        cfg = TrainConfig(**{**TINY, **changes})
        for k, v in changes.items():
            assert getattr(cfg, k) == v


def test_decoder_cell_defaults_to_the_encoders() -> None:
    cfg = TrainConfig(**{**TINY, "task": "reverse", "seq_len": 8, "cell": "gru"})
    assert cfg.is_seq2seq and cfg.cells == {"encoder": "gru", "decoder": "gru"} and cfg.decoder_cell is None
    cfg = cfg.with_changes(decoder_cell="rnn")
    assert cfg.cells == {"encoder": "gru", "decoder": "rnn"} and cfg.cell == "gru"
    assert not TrainConfig(**TINY).is_seq2seq and TrainConfig(**TINY).cells == {"rnn": "lstm"}


def test_with_changes_validates_and_leaves_original() -> None:
    cfg = TrainConfig(**TINY)
    new = cfg.with_changes(lr=0.5, dropout=0.2)
    assert (new.lr, new.dropout) == (0.5, 0.2)
    assert (cfg.lr, cfg.dropout) == (1e-3, 0.0)  # frozen: the original is untouched
    with pytest.raises(ValueError, match=r"lr.*\(0, 10\]"):
        cfg.with_changes(lr=-1.0)
    with pytest.raises(ValueError, match="probe_index"):
        cfg.with_changes(batch_size=2, probe_index=3)
    with pytest.raises(ValueError, match="learning_rate"):
        cfg.with_changes(learning_rate=0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 0.5  # type: ignore[misc]
    assert cfg == TrainConfig(**TINY)


def test_to_dict_from_dict_round_trip() -> None:
    cfg = TrainConfig(
        cell="gru",
        task="reverse",
        decoder_cell="lstm",
        hidden_size=16,
        layers=2,
        seq_len=7,
        batch_size=4,
        seed=123,
        optimizer="sgd",
        lr=0.05,
        momentum=0.9,
        clip=True,
        clip_threshold=0.5,
        init="normal",
        init_scale=1.5,
        forget_bias=1.0,
        dropout=0.3,
        variational_dropout=True,
        tie_weights=True,
        teacher_forcing=0.75,
        probe_index=3,
        probe_every=5,
        device="cpu",
    )
    d = cfg.to_dict()
    assert set(d) == {f.name for f in dataclasses.fields(TrainConfig)}
    assert TrainConfig.from_dict(d) == cfg
    import json

    assert TrainConfig.from_dict(json.loads(json.dumps(d))) == cfg  # survives JSON
    with pytest.raises(ValueError, match="bogus"):
        TrainConfig.from_dict({**d, "bogus": 1})
    with pytest.raises(ValueError, match="hidden_size"):
        TrainConfig.from_dict({**d, "hidden_size": -3})


def test_live_fields_are_config_fields() -> None:
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    assert names >= LIVE_FIELDS
    for structural in ("cell", "hidden_size", "layers", "task", "seq_len", "init", "seed"):
        assert structural not in LIVE_FIELDS
