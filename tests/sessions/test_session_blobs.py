"""Typed array blobs: exact round trips, and refusal of anything that is not plain numbers."""

from __future__ import annotations

import pickle
import struct
import zlib

import numpy as np
import pytest

from rnnscope.sessions import blobs
from rnnscope.sessions.errors import BlobError

DTYPES = ["<f2", "<f4", "<f8", "i1", "<i2", "<i4", "<i8", "u1", "<u2", "<u4", "<u8", "?", "<c8", "<c16"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_keeps_dtype_shape_and_bits(dtype: str, compress: bool) -> None:
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((3, 70, 5)) * 100).astype(dtype)
    b = blobs.decode(blobs.encode(a, compress=compress))
    assert b.dtype == a.dtype and b.shape == a.shape
    assert b.tobytes() == a.tobytes()
    assert b.flags.writeable and b.flags.c_contiguous


def test_special_values_and_odd_shapes() -> None:
    a = np.array([np.nan, -np.nan, np.inf, -np.inf, -0.0, 1e-45], np.float32)
    assert blobs.decode(blobs.encode(a, compress=True)).tobytes() == a.tobytes()
    for shape in [(), (0,), (4, 0, 3), (1,) * 10]:
        z = np.ones(shape, np.float64)
        out = blobs.decode(blobs.encode(z))
        assert out.shape == shape and out.dtype == np.float64


def test_non_contiguous_and_big_endian_arrays_come_back_equal() -> None:
    a = np.arange(60, dtype=">f8").reshape(6, 10)[:, ::3]
    out = blobs.decode(blobs.encode(a, compress=True))
    assert out.dtype == np.dtype("<f8")
    np.testing.assert_array_equal(out, a)


def test_compression_is_lossless_and_helps_on_smooth_data() -> None:
    a = np.linspace(0, 1, 10_000, dtype=np.float32)
    packed = blobs.encode(a, compress=True)
    assert len(packed) < a.nbytes // 2
    assert packed[4] == blobs.SHUFFLE_ZLIB
    assert blobs.decode(packed).tobytes() == a.tobytes()


def test_object_and_string_dtypes_are_refused() -> None:
    with pytest.raises(BlobError, match="dtype object"):
        blobs.encode(np.array([{"a": 1}], dtype=object))
    with pytest.raises(BlobError, match="dtype <U"):
        blobs.encode(np.array(["text"]))


def _forge(dtype: str, shape: tuple[int, ...], payload: bytes, codec: int = blobs.RAW) -> bytes:
    d = dtype.encode()
    return (
        blobs.BLOB_MAGIC
        + struct.pack("<BB", codec, len(d))
        + d
        + struct.pack(f"<B{len(shape)}Q", len(shape), *shape)
        + payload
    )


def test_forged_object_dtype_with_pickle_payload_is_refused() -> None:
    payload = pickle.dumps({"x": 1})
    with pytest.raises(BlobError, match="refusing array dtype '\\|O'"):
        blobs.decode(_forge("|O", (1,), payload))


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "bad magic"),
        (b"PK\x03\x04garbage", "bad magic"),
        (_forge("<f4", (4,), b"\x00" * 15), "needs 16"),
        (_forge("<f4", (4,), b"\x00" * 17), "needs 16"),
        (_forge("<f4", (2**40,), b""), "larger than"),
        (_forge("<f4", (4,), b"not zlib", codec=blobs.ZLIB), "corrupt compressed"),
        (_forge("<f4", (4,), zlib.compress(b"\x00" * 1000), codec=blobs.ZLIB), "longer than its shape"),
        (_forge("<f4", (4,), zlib.compress(b"\x00" * 16) + b"x", codec=blobs.ZLIB), "trailing bytes"),
        (_forge("<f4", (4,), zlib.compress(b"\x00" * 16)[:-3], codec=blobs.ZLIB), "truncated"),
        (_forge("<f4", (4,), b"", codec=9), "compression code 9"),
        (blobs.encode(np.zeros(3))[:12], "truncated"),
    ],
)
def test_malformed_blobs_raise_clear_errors(blob: bytes, message: str) -> None:
    with pytest.raises(BlobError, match=message):
        blobs.decode(blob)


def test_pack_round_trip_keeps_names_and_order() -> None:
    arrays = {
        "rnn/gates/i": np.ones((1, 2, 3), np.float32),
        "probe/mask": np.array([True, False]),
        "é": np.zeros(0),
    }
    out = blobs.unpack(blobs.pack(arrays, compress=True))
    assert list(out) == list(arrays)
    for k in arrays:
        assert out[k].dtype == arrays[k].dtype and out[k].tobytes() == arrays[k].tobytes()


def test_truncated_pack_is_refused() -> None:
    data = blobs.pack({"a": np.arange(100.0)})
    with pytest.raises(BlobError, match="truncated"):
        blobs.unpack(data[:-5])
    with pytest.raises(BlobError, match="trailing"):
        blobs.unpack(data + b"x")


def test_fast_uncompressed_pack_is_byte_identical_to_the_documented_layout() -> None:
    arrays = {
        "rnn/h_grad_norm": np.arange(6, dtype=np.float32).reshape(1, 6),
        "scalar": np.float64(2.5) * np.ones(()),
        "empty": np.zeros((0, 3), np.int16),
        "strided": np.arange(10, dtype=">i4")[::3],
    }
    expected = [blobs.PACK_MAGIC, struct.pack("<I", len(arrays))]
    for name, arr in arrays.items():
        blob = blobs.encode(arr)
        expected += [struct.pack("<H", len(name)), name.encode(), struct.pack("<Q", len(blob)), blob]
    for _ in range(2):  # the second call uses the cached header bytes
        assert blobs.pack(arrays) == b"".join(expected)
    assert blobs.pack({}) == blobs.PACK_MAGIC + struct.pack("<I", 0)
