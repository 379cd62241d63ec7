"""Summaries: every step's scalars and norms as arrays, on the fast (one layout) and general paths."""

from __future__ import annotations

import numpy as np
from session_fixtures import make_record

from rnnscope.sessions import blobs, summaries
from rnnscope.sessions.record_codec import summary_row


def _scan_row(rec: object) -> tuple[object, ...]:
    row = summary_row(rec)  # type: ignore[arg-type]
    return row[:11] + row[12:]  # the scan leaves out extras


def test_same_layout_rows_are_stacked_exactly() -> None:
    recs = [make_record(step=k, seed=k, frame=False) for k in range(6)]
    assert blobs.unpack_many([summary_row(r)[13] for r in recs]) is not None  # the fast path applies
    summ = summaries.build([_scan_row(r) for r in recs])
    assert summ.step.tolist() == list(range(6))
    np.testing.assert_array_equal(summ.loss, [1.25] * 6)
    assert summ.h_grad_norm.shape == (6, 1, 6) and summ.h_grad_norm.dtype == np.float32
    np.testing.assert_array_equal(summ.h_grad_norm, np.stack([r.h_grad_norm for r in recs]))
    c = summ.parts["rnn"].c_grad_norm
    assert c is not None
    np.testing.assert_array_equal(c, np.stack([r.parts["rnn"].c_grad_norm for r in recs]))
    assert summ.parts["rnn"].length.tolist() == [6] * 6


def test_varying_lengths_are_padded_with_nan() -> None:
    recs = [make_record(step=k, seed=k, seq2seq=True, frame=False) for k in range(3)]
    recs[1].parts["decoder"].length = 4
    recs[1].parts["decoder"].h_grad_norm = recs[1].parts["decoder"].h_grad_norm[:, :4].copy()
    assert blobs.unpack_many([summary_row(r)[13] for r in recs]) is None  # layouts differ
    summ = summaries.build([_scan_row(r) for r in recs])
    dec = summ.parts["decoder"]
    assert dec.h_grad_norm.shape == (3, 2, 7) and dec.length.tolist() == [7, 4, 7]
    assert np.isnan(dec.h_grad_norm[1, :, 4:]).all()
    np.testing.assert_array_equal(dec.h_grad_norm[1, :, :4], recs[1].parts["decoder"].h_grad_norm)
    assert dec.c_grad_norm is None  # a GRU decoder has no cell state
    assert summ.h_grad_norm.shape == (3, 2, 5 + 7)  # encoder then decoder along time
    assert np.isnan(summ.loss).all() and summ.nonfinite[0] == "gradient decoder 1 4 weight_hh_l1"


def test_packs_that_differ_only_in_a_header_byte_are_not_stacked() -> None:
    a = blobs.pack({"x": np.zeros(4, np.float32)})
    b = blobs.pack({"x": np.zeros(4, np.int32)})  # same length, other dtype
    assert blobs.unpack_many([a, b]) is None
    out = blobs.unpack_many([a, a])
    assert out is not None and out["x"].shape == (2, 4) and out["x"].dtype == np.float32
