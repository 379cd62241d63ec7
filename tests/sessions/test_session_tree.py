"""Checkpoint trees: a Trainer's state_dict survives JSON skeleton + blobs exactly, with no pickle."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from session_fixtures import tiny_config

from rnnscope.engine import Trainer
from rnnscope.sessions import tree
from rnnscope.sessions.errors import BlobError


def assert_same_tree(a: Any, b: Any, where: str = "state") -> None:
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and b.device.type == "cpu", where
        assert torch.equal(
            a.view(torch.uint8) if a.dtype == torch.bool else a,
            b.view(torch.uint8) if b.dtype == torch.bool else b,
        ), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            assert type(k) is type(list(b)[list(a).index(k)])
            assert_same_tree(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_tree(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), where
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where


def test_trainer_state_round_trips_exactly() -> None:
    tr = Trainer(tiny_config())
    for _ in range(3):
        tr.step()
    state = tr.state_dict()
    skeleton, data = tree.pack_tree(state)
    back = tree.unpack_tree(skeleton, data)
    assert_same_tree(state, back)
    # optimizer state keeps its int keys; a trainer built from it continues identically
    assert all(isinstance(k, int) for k in back["optimizer"]["state"])
    a, b = Trainer.from_state_dict(state), Trainer.from_state_dict(back)
    ra, rb = a.step(probe=True), b.step(probe=True)
    assert ra.loss == rb.loss
    assert np.array_equal(ra.parts["rnn"].hidden, rb.parts["rnn"].hidden)


def test_every_supported_leaf_type_round_trips() -> None:
    state = {
        0: (1, 2.5, "x", None, True, float("nan"), -0.0, 2**62),
        "t": [torch.arange(6, dtype=torch.int64).reshape(2, 3), torch.tensor(1.5, dtype=torch.bfloat16)],
        "bool": torch.tensor([True, False]),
        "h": torch.randn(3, 4, dtype=torch.float64).t(),  # non-contiguous
        "np": np.arange(3, dtype=np.int16),
        "scalar": np.float32(0.25),
        "raw": b"\x00\x01bytes",
        (1, "k"): {"nested": [[]]},
        2.5: "float key",
    }
    back = tree.unpack_tree(*tree.pack_tree(state))
    assert_same_tree(state, back)
    assert back["scalar"].dtype == np.float32
    assert back["t"][1].dtype == torch.bfloat16


def test_arrays_are_copies_taken_at_encode_time() -> None:
    t = torch.zeros(3)
    skeleton, arrays = tree.encode_tree({"w": t})
    t += 1  # the optimizer changes parameters in place after a checkpoint is queued
    back = tree.decode_tree(skeleton, arrays)
    assert torch.equal(back["w"], torch.zeros(3))


def test_unsupported_objects_are_refused_with_their_place() -> None:
    with pytest.raises(BlobError, match=r"cannot store a object at state\['opt'\]\[0\]"):
        tree.encode_tree({"opt": [object()]})


class _Boom:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def test_pickle_payloads_stay_inert_bytes(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Boom(marker))
    # a crafted skeleton pointing a "bytes" node at the payload: it decodes as plain bytes
    arrays = [np.frombuffer(payload, np.uint8).copy()]
    back = tree.decode_tree(json.dumps({"t": "bytes", "i": 0}), arrays)
    assert back == payload and not marker.exists()
    # and as a "tensor" node it is a uint8 tensor of those bytes, nothing more
    back = tree.decode_tree(json.dumps({"t": "tensor", "i": 0, "dtype": "uint8"}), arrays)
    assert bytes(back.numpy()) == payload and not marker.exists()


@pytest.mark.parametrize(
    ("skeleton", "message"),
    [
        ('{"t": "pickle", "v": "gASV"}', "unknown checkpoint node tag 'pickle'"),
        ('{"t": "tensor", "i": 5, "dtype": "float32"}', "missing array 5"),
        ('{"t": "tensor", "i": 0, "dtype": "object"}', "dtype 'object'"),
        ('{"t": "dict", "k": [1], "v": []}', "different numbers"),
        ('{"t": "dict", "k": [[1]], "v": [2]}', "not hashable"),
        ("not json", "not valid JSON"),
        ("[" * 100 + "]" * 100, "deeper than"),
    ],
)
def test_malformed_skeletons_are_refused(skeleton: str, message: str) -> None:
    with pytest.raises(BlobError, match=message):
        tree.decode_tree(skeleton, [np.zeros(3, np.uint8)])
