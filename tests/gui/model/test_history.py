"""History buffers: doubling growth, truncation on rewind, binned gradient-flow image."""

from __future__ import annotations

import numpy as np

from rnnscope.engine import TrainConfig, Trainer
from rnnscope.gui.model.history import Buffer, History


def test_buffer_grows_and_pads():
    b = Buffer((1, 2), np.float32)
    for i in range(100):
        b.append(np.full((1, 2 + i % 3), i, np.float32))
    assert b.view.shape == (100, 1, 4)
    assert np.isnan(b.view[0, 0, 3]) and b.view[2, 0, 3] == 2
    b.truncate(10)
    assert b.view.shape[0] == 10


def test_history_bins_and_truncates():
    tr = Trainer(TrainConfig(hidden_size=8, seq_len=10, delay=3, batch_size=4, device="cpu", probe_every=0))
    h = History()
    for _ in range(40):
        h.append(tr.step())
    assert len(h) == 40 and h.series("loss").shape == (40,)
    img, b = h.log10_h_grad(0, max_columns=16)
    assert b == 4 and img.shape == (10, 10)
    raw = h.log_h["rnn"].view[:, 0, :]
    np.testing.assert_allclose(img[:, 0], raw[:4].mean(axis=0), rtol=1e-5)
    again, _ = h.log10_h_grad(0, max_columns=16)  # cached bins give the same picture
    np.testing.assert_array_equal(img, again)
    h.truncate(10)
    img, b = h.log10_h_grad(0, max_columns=16)
    assert b == 1 and img.shape == (10, 10) and len(h) == 10
