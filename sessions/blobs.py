"""Typed array blobs: how every numpy array is stored in a session file (never pickle).

One array becomes one self-describing byte string::

    magic   b"RSB\\x01"                      4 bytes
    codec   u8   0 raw | 1 zlib | 2 byte-shuffle + zlib
    dtype   u8 length + ASCII dtype string from ``DTYPES`` (little-endian, e.g. "<f4")
    ndim    u8   then ndim x u64 dimensions
    payload raw C-order little-endian bytes, or their zlib stream

Byte-shuffle (codec 2) stores byte 0 of every element, then byte 1 ... before zlib, as
HDF5's shuffle filter does: the sign/exponent bytes of float arrays compress well, so
checkpoints shrink without losing a bit. Decoding checks the dtype against the
whitelist (object dtypes are refused: nothing in a file can become a Python object),
the payload length against the shape, and bounds the decompressed size.

A *pack* is a list of named blobs in one byte string (``pack`` / ``unpack``)::

    magic b"RSP\\x01", u32 count, then per array: u16 name length, UTF-8 name,
    u64 blob length, blob
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from rnnscope.sessions.errors import BlobError

BLOB_MAGIC = b"RSB\x01"
PACK_MAGIC = b"RSP\x01"
RAW, ZLIB, SHUFFLE_ZLIB = 0, 1, 2
CODECS = (RAW, ZLIB, SHUFFLE_ZLIB)
# Every dtype a session may hold (numpy ``dtype.str``, little-endian). No object, void or str.
DTYPES = frozenset(
    {"<f2", "<f4", "<f8", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "|b1", "<c8", "<c16"}
)
MAX_BYTES = 1 << 32  # one array may not claim more than 4 GiB (a crafted shape cannot exhaust memory)
MAX_NDIM = 32
MIN_COMPRESS = 256  # arrays smaller than this are stored raw even when compression is asked
_LEVEL = 1  # zlib level: 1 is ~4x faster than 6 and within a few % in size on float data


def _canonical(arr: np.ndarray) -> np.ndarray:
    """C-contiguous little-endian view or copy of ``arr``; refuses dtypes outside DTYPES."""
    dt = arr.dtype
    if dt.byteorder == ">":
        dt = dt.newbyteorder("<")
        arr = arr.astype(dt)
    if dt.str not in DTYPES:
        raise BlobError(f"cannot store arrays of dtype {arr.dtype} (allowed: {', '.join(sorted(DTYPES))})")
    return arr if arr.flags.c_contiguous else arr.copy(order="C")


def encode(arr: np.ndarray, *, compress: bool = False) -> bytes:
    """One array as a blob. ``compress``: zlib (byte-shuffled for multi-byte dtypes) when it helps."""
    arr = _canonical(np.asarray(arr))
    dtype = arr.dtype.str.encode("ascii")
    raw = arr.tobytes()
    codec, payload = RAW, raw
    if compress and len(raw) >= MIN_COMPRESS:
        if arr.dtype.itemsize > 1:
            shuffled = np.frombuffer(raw, np.uint8).reshape(-1, arr.dtype.itemsize).T.tobytes()
            packed, cand = zlib.compress(shuffled, _LEVEL), SHUFFLE_ZLIB
        else:
            packed, cand = zlib.compress(raw, _LEVEL), ZLIB
        if len(packed) < len(raw):
            codec, payload = cand, packed
    header = BLOB_MAGIC + struct.pack("<BB", codec, len(dtype)) + dtype
    header += struct.pack(f"<B{arr.ndim}Q", arr.ndim, *arr.shape)
    return header + payload


def decode(blob: bytes | memoryview) -> np.ndarray:
    """The array of a blob (a fresh, writable array). Raises BlobError on anything malformed."""
    view = memoryview(blob)
    if len(view) < 7 or bytes(view[:4]) != BLOB_MAGIC:
        raise BlobError("not an array blob (bad magic)")
    codec, dlen = view[4], view[5]
    if codec not in CODECS:
        raise BlobError(f"unknown array compression code {codec}")
    pos = 6 + dlen
    if len(view) < pos + 1:
        raise BlobError("array blob truncated in its header")
    dtype = bytes(view[6:pos]).decode("ascii", errors="replace")
    if dtype not in DTYPES:
        raise BlobError(f"refusing array dtype {dtype!r} (allowed: {', '.join(sorted(DTYPES))})")
    ndim = view[pos]
    pos += 1
    if ndim > MAX_NDIM or len(view) < pos + 8 * ndim:
        raise BlobError("array blob truncated in its shape")
    shape = struct.unpack_from(f"<{ndim}Q", view, pos)
    pos += 8 * ndim
    dt = np.dtype(dtype)
    count = 1
    for d in shape:
        count *= d
    nbytes = count * dt.itemsize
    if nbytes > MAX_BYTES:
        raise BlobError(f"array of shape {shape} is larger than {MAX_BYTES} bytes")
    payload = view[pos:]
    if codec == RAW:
        raw: bytes | memoryview = payload
    else:
        inflater = zlib.decompressobj()
        try:
            raw = inflater.decompress(payload, nbytes + 1)
        except zlib.error as exc:
            raise BlobError(f"corrupt compressed array: {exc}") from None
        if len(raw) > nbytes:
            raise BlobError(f"compressed array is longer than its shape {shape} says")
        if not inflater.eof:
            raise BlobError("compressed array is truncated")
        if inflater.unused_data:
            raise BlobError("compressed array has trailing bytes")
    if len(raw) != nbytes:
        raise BlobError(f"array payload has {len(raw)} bytes; shape {shape} of {dtype} needs {nbytes}")
    if codec == SHUFFLE_ZLIB and dt.itemsize > 1:
        planes = np.frombuffer(raw, np.uint8).reshape(dt.itemsize, count)
        return np.ascontiguousarray(planes.T).view(dt).reshape(shape)
    return np.frombuffer(raw, dt).reshape(shape).copy()


_HEADERS: dict[tuple[Any, ...], list[bytes]] = {}  # layout -> the fixed bytes between payloads


def _raw_pack(arrays: Mapping[str, np.ndarray]) -> bytes:
    """``pack`` without compression, with the non-payload bytes cached per layout: a step's
    summary is encoded in a few microseconds (it runs on the writer thread, under the GIL)."""
    canon = [_canonical(np.asarray(a)) for a in arrays.values()]
    key = tuple((name, a.dtype.str, a.shape) for name, a in zip(arrays, canon, strict=True))
    headers = _HEADERS.get(key)
    if headers is None:
        headers = []
        lead = PACK_MAGIC + struct.pack("<I", len(canon))
        for name, a in zip(arrays, canon, strict=True):
            k = name.encode("utf-8")
            dtype = a.dtype.str.encode("ascii")
            blob_head = BLOB_MAGIC + struct.pack("<BB", RAW, len(dtype)) + dtype
            blob_head += struct.pack(f"<B{a.ndim}Q", a.ndim, *a.shape)
            headers.append(
                lead
                + struct.pack("<H", len(k))
                + k
                + struct.pack("<Q", len(blob_head) + a.nbytes)
                + blob_head
            )
            lead = b""
        if len(_HEADERS) > 256:
            _HEADERS.clear()
        _HEADERS[key] = headers
    out: list[bytes] = []
    for head, a in zip(headers, canon, strict=True):
        out += [head, a.tobytes()]
    return b"".join(out) if out else PACK_MAGIC + struct.pack("<I", 0)


def pack(arrays: Mapping[str, np.ndarray], *, compress: bool = False) -> bytes:
    """Named arrays in one byte string (order kept)."""
    if not compress:
        return _raw_pack(arrays)
    out = [PACK_MAGIC, struct.pack("<I", len(arrays))]
    for name, arr in arrays.items():
        key = name.encode("utf-8")
        blob = encode(arr, compress=compress)
        out += [struct.pack("<H", len(key)), key, struct.pack("<Q", len(blob)), blob]
    return b"".join(out)


def unpack(data: bytes | memoryview) -> dict[str, np.ndarray]:
    """The named arrays of a pack. Raises BlobError on anything malformed."""
    view = memoryview(data)
    if len(view) < 8 or bytes(view[:4]) != PACK_MAGIC:
        raise BlobError("not an array pack (bad magic)")
    (count,) = struct.unpack_from("<I", view, 4)
    pos = 8
    out: dict[str, np.ndarray] = {}
    for _ in range(count):
        if len(view) < pos + 2:
            raise BlobError("array pack truncated")
        (klen,) = struct.unpack_from("<H", view, pos)
        pos += 2
        name = bytes(view[pos : pos + klen]).decode("utf-8", errors="replace")
        pos += klen
        if len(view) < pos + 8:
            raise BlobError("array pack truncated")
        (blen,) = struct.unpack_from("<Q", view, pos)
        pos += 8
        if len(view) < pos + blen:
            raise BlobError(f"array pack truncated in {name!r}")
        out[name] = decode(view[pos : pos + blen])
        pos += blen
    if pos != len(view):
        raise BlobError("array pack has trailing bytes")
    return out


def _raw_layout(data: bytes) -> list[tuple[str, np.dtype[Any], tuple[int, ...], int, int]] | None:
    """(name, dtype, shape, payload start, payload end) of each array of an uncompressed pack."""
    view = memoryview(data)
    if len(view) < 8 or bytes(view[:4]) != PACK_MAGIC:
        return None
    (count,) = struct.unpack_from("<I", view, 4)
    pos, out = 8, []
    try:
        for _ in range(count):
            (klen,) = struct.unpack_from("<H", view, pos)
            name = bytes(view[pos + 2 : pos + 2 + klen]).decode("utf-8", errors="replace")
            pos += 2 + klen
            (blen,) = struct.unpack_from("<Q", view, pos)
            pos += 8
            blob = view[pos : pos + blen]
            if bytes(blob[:4]) != BLOB_MAGIC or blob[4] != RAW:
                return None
            dlen = blob[5]
            dtype = bytes(blob[6 : 6 + dlen]).decode("ascii", errors="replace")
            if dtype not in DTYPES:
                return None
            ndim = blob[6 + dlen]
            shape = struct.unpack_from(f"<{ndim}Q", blob, 7 + dlen)
            start = pos + 7 + dlen + 8 * ndim
            out.append((name, np.dtype(dtype), tuple(shape), start, pos + blen))
            pos += blen
    except (struct.error, IndexError):
        return None
    return out if pos == len(view) else None


def unpack_many(packs: list[bytes]) -> dict[str, np.ndarray] | None:
    """The arrays of many uncompressed packs with one layout (same names, dtypes, shapes),
    stacked: name -> (N, *shape). None when the packs differ (then unpack them one by one).
    One numpy pass instead of N parses: loading 10,000 summaries takes milliseconds."""
    if not packs or any(len(p) != len(packs[0]) for p in packs):
        return None
    layout = _raw_layout(packs[0])
    if layout is None:
        return None
    n, width = len(packs), len(packs[0])
    mat = np.frombuffer(b"".join(packs), np.uint8).reshape(n, width)
    header = np.ones(width, bool)
    for _, dt, shape, start, stop in layout:
        if stop - start != int(np.prod(shape, dtype=np.int64)) * dt.itemsize:
            return None
        header[start:stop] = False
    if not (mat[:, header] == mat[0, header]).all():
        return None
    return {
        name: np.ascontiguousarray(mat[:, start:stop]).view(dt).reshape((n, *shape))
        for name, dt, shape, start, stop in layout
    }
