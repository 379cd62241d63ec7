"""State trees (``Trainer.state_dict()``) as a JSON skeleton plus array blobs: checkpoints without pickle.

A tree is built from dicts (any scalar/str/tuple keys: torch optimizer state uses int
keys), lists, tuples, torch tensors, numpy arrays and scalars, Python bool/int/float/str,
bytes and None. ``encode_tree`` returns a JSON string in which every container and
tensor is a tagged node, and a list of arrays the tensor nodes point into; ``decode_tree``
rebuilds the same tree: same types (tuple stays tuple, int key stays int), tensor dtype
and shape, on the CPU. Nodes::

    null / true / 1 / 1.5 / NaN / "text"          the scalar itself (JSON keeps int vs float)
    [node, ...]                                    a list
    {"t": "tuple", "v": [node, ...]}
    {"t": "dict", "k": [node, ...], "v": [node, ...]}
    {"t": "tensor", "i": n, "dtype": "float32"}    arrays[n]; bfloat16 travels as int16 bits
    {"t": "ndarray", "i": n}  {"t": "npscalar", "i": n}  {"t": "bytes", "i": n}

Decoding accepts only these tags and whitelisted dtypes: a crafted checkpoint can hold
wrong numbers, never code.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch

from rnnscope.sessions import blobs
from rnnscope.sessions.errors import BlobError

# torch dtype name -> (torch dtype, numpy dtype used for storage)
TORCH_DTYPES: dict[str, tuple[torch.dtype, np.dtype[Any]]] = {
    "float32": (torch.float32, np.dtype("<f4")),
    "float64": (torch.float64, np.dtype("<f8")),
    "float16": (torch.float16, np.dtype("<f2")),
    "bfloat16": (torch.bfloat16, np.dtype("<i2")),  # bits, viewed back on load
    "int64": (torch.int64, np.dtype("<i8")),
    "int32": (torch.int32, np.dtype("<i4")),
    "int16": (torch.int16, np.dtype("<i2")),
    "int8": (torch.int8, np.dtype("i1")),
    "uint8": (torch.uint8, np.dtype("u1")),
    "bool": (torch.bool, np.dtype("b1")),
    "complex64": (torch.complex64, np.dtype("<c8")),
}
_BY_TORCH = {dt: name for name, (dt, _) in TORCH_DTYPES.items()}
_SCALARS = (bool, int, float, str, type(None))
MAX_DEPTH = 64


class _Encoder:
    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []

    def add(self, arr: np.ndarray) -> int:
        self.arrays.append(arr)
        return len(self.arrays) - 1

    def node(self, obj: Any, where: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise BlobError(f"state tree deeper than {MAX_DEPTH} at {where}")
        if isinstance(obj, _SCALARS):
            return obj
        if isinstance(obj, torch.Tensor):
            name = _BY_TORCH.get(obj.dtype)
            if name is None:
                raise BlobError(f"cannot store a tensor of dtype {obj.dtype} at {where}")
            t = obj.detach().to("cpu").contiguous()
            if t.dtype == torch.bfloat16:
                t = t.view(torch.int16)
            # .copy(): a checkpoint must not alias live parameters that the optimizer mutates
            return {"t": "tensor", "i": self.add(t.numpy().copy()), "dtype": name}
        if isinstance(obj, np.ndarray):
            return {"t": "ndarray", "i": self.add(obj.copy())}
        if isinstance(obj, np.generic):
            return {"t": "npscalar", "i": self.add(np.asarray(obj))}
        if isinstance(obj, bytes | bytearray):
            return {"t": "bytes", "i": self.add(np.frombuffer(bytes(obj), np.uint8).copy())}
        if isinstance(obj, list):
            return [self.node(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"t": "tuple", "v": [self.node(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]}
        if isinstance(obj, dict):
            keys = [self.node(k, f"{where} key {k!r}", depth + 1) for k in obj]
            vals = [self.node(v, f"{where}[{k!r}]", depth + 1) for k, v in obj.items()]
            return {"t": "dict", "k": keys, "v": vals}
        raise BlobError(f"cannot store a {type(obj).__name__} at {where}")


def encode_tree(tree: Any) -> tuple[str, list[np.ndarray]]:
    """(JSON skeleton, arrays). The arrays are copies: later training cannot change them."""
    enc = _Encoder()
    skeleton = json.dumps(enc.node(tree, "state", 0), separators=(",", ":"))
    return skeleton, enc.arrays


def decode_tree(skeleton: str, arrays: list[np.ndarray]) -> Any:
    """The tree that ``encode_tree`` was given (tensors on the CPU). BlobError if malformed."""
    try:
        root = json.loads(skeleton)
    except (ValueError, RecursionError) as exc:
        raise BlobError(f"checkpoint skeleton is not valid JSON: {exc}") from None
    return _decode(root, arrays, 0)


def _array(node: dict[str, Any], arrays: list[np.ndarray]) -> np.ndarray:
    i = node.get("i")
    if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(arrays):
        raise BlobError(f"checkpoint refers to a missing array {i!r}")
    return arrays[i]


def _decode(node: Any, arrays: list[np.ndarray], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise BlobError(f"checkpoint tree deeper than {MAX_DEPTH}")
    if isinstance(node, _SCALARS):
        return node
    if isinstance(node, list):
        return [_decode(v, arrays, depth + 1) for v in node]
    if not isinstance(node, dict):
        raise BlobError(f"unexpected checkpoint node {type(node).__name__}")
    tag = node.get("t")
    if tag == "tuple":
        return tuple(_decode(v, arrays, depth + 1) for v in _list(node, "v"))
    if tag == "dict":
        keys, vals = _list(node, "k"), _list(node, "v")
        if len(keys) != len(vals):
            raise BlobError("checkpoint dict has different numbers of keys and values")
        out = {}
        for k, v in zip(keys, vals, strict=True):
            key = _decode(k, arrays, depth + 1)
            try:
                hash(key)
            except TypeError:
                raise BlobError("checkpoint dict key is not hashable") from None
            out[key] = _decode(v, arrays, depth + 1)
        return out
    if tag == "tensor":
        spec = TORCH_DTYPES.get(node.get("dtype"))  # type: ignore[arg-type]
        arr = _array(node, arrays)
        if spec is None or arr.dtype != spec[1]:
            raise BlobError(f"checkpoint tensor has dtype {node.get('dtype')!r} stored as {arr.dtype}")
        t = torch.from_numpy(np.array(arr, copy=True))
        return t.view(torch.bfloat16) if spec[0] == torch.bfloat16 else t
    if tag == "ndarray":
        return np.array(_array(node, arrays), copy=True)
    if tag == "npscalar":
        arr = _array(node, arrays)
        if arr.ndim != 0:
            raise BlobError("checkpoint numpy scalar is not 0-dimensional")
        return arr[()]
    if tag == "bytes":
        arr = _array(node, arrays)
        if arr.dtype != np.uint8 or arr.ndim != 1:
            raise BlobError("checkpoint bytes are not a 1-d uint8 array")
        return arr.tobytes()
    raise BlobError(f"unknown checkpoint node tag {tag!r}")


def _list(node: dict[str, Any], key: str) -> list[Any]:
    val = node.get(key)
    if not isinstance(val, list):
        raise BlobError(f"checkpoint node {node.get('t')!r} lacks its {key!r} list")
    return val


def pack_tree(tree: Any, *, compress: bool = True) -> tuple[str, bytes]:
    """(skeleton, one pack of all arrays): what a checkpoint row holds."""
    skeleton, arrays = encode_tree(tree)
    return skeleton, pack_arrays(arrays, compress=compress)


def pack_arrays(arrays: list[np.ndarray], *, compress: bool = True) -> bytes:
    return blobs.pack({str(i): a for i, a in enumerate(arrays)}, compress=compress)


def unpack_tree(skeleton: str, data: bytes | memoryview) -> Any:
    named = blobs.unpack(data)
    arrays = [named[str(i)] for i in range(len(named)) if str(i) in named]
    if len(arrays) != len(named):
        raise BlobError("checkpoint arrays are not numbered 0..n-1")
    return decode_tree(skeleton, arrays)
