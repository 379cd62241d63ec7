"""StepRecord <-> rows: every field, None and NaN come back exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from session_fixtures import make_record

from rnnscope.sessions import record_codec


@pytest.mark.parametrize("seq2seq", [False, True])
def test_summary_and_frame_round_trip(seq2seq: bool) -> None:
    rec = make_record(seq2seq=seq2seq)
    back = record_codec.decode_summary(record_codec.summary_row(rec))
    assert record_codec.diff_records(rec, back, frames=False) == []
    assert not back.has_frame and back.probe is None
    meta, data = record_codec.frame_row(rec)
    record_codec.attach_frame(back, meta, data)
    assert record_codec.diff_records(rec, back) == []
    assert back.has_frame
    if seq2seq:
        assert math.isnan(back.loss) and back.metric == math.inf and back.clip_threshold is None
        assert back.nonfinite is not None and back.nonfinite.describe() == rec.nonfinite.describe()  # type: ignore[union-attr]
        assert back.parts["decoder"].c_grad_norm is None and back.parts["decoder"].cell is None
        assert back.extras == {"teacher_forced_fraction": 0.75}
        assert back.probe is not None and back.probe.free_running is not None
    else:
        assert back.loss == 1.25 and back.clip_threshold == 1.0 and back.nonfinite is None
        assert back.probe is not None and back.probe.free_running is None
    # the conveniences of StepRecord work on a decoded record
    np.testing.assert_array_equal(back.h_grad_norm, rec.h_grad_norm)
    assert back.gates is not None and set(back.gates) == set(rec.gates or {})


def test_empty_gate_dict_and_none_gates_stay_distinct() -> None:
    rec = make_record()
    rec.parts["rnn"].gates = {}
    back = record_codec.decode_summary(record_codec.summary_row(rec))
    record_codec.attach_frame(back, *record_codec.frame_row(rec))
    assert back.parts["rnn"].gates == {}
    rec.parts["rnn"].gates = None
    back = record_codec.decode_summary(record_codec.summary_row(rec))
    record_codec.attach_frame(back, *record_codec.frame_row(rec))
    assert back.parts["rnn"].gates is None


def test_diff_records_reports_single_bit_changes() -> None:
    a, b = make_record(), make_record()
    assert record_codec.diff_records(a, b) == []
    assert b.parts["rnn"].hidden is not None
    b.parts["rnn"].hidden.view(np.uint32)[0, 0, 0] ^= 1
    b.loss = float(np.nextafter(b.loss, 2.0))
    assert record_codec.diff_records(a, b) == ["loss: 1.25 != 1.2500000000000002", "rnn.hidden differs"]


def test_summary_only_record_has_no_frame_data() -> None:
    rec = make_record(frame=False)
    assert not record_codec.has_frame_data(rec)
    assert record_codec.has_frame_data(make_record())
