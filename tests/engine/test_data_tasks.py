"""The tasks on the user's own data (series, text, pairs): windows, split, normalisation, learning."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
import torch

from rnnscope.engine import TrainConfig, Trainer
from rnnscope.engine.datasets import DataError, DataFile, store
from rnnscope.engine.tasks import DATA_TASKS, make_task


def register(name: str, data: bytes) -> str:
    return store.register(DataFile.of(name, data)).id


def sunspots() -> str:
    data = resources.files("rnnscope.engine").joinpath("data", "sunspots.csv").read_bytes()
    return register("sunspots.csv", data)


def ramp(rows: int = 50) -> str:
    lines = ["t,x,y"] + [f"{i},{i},{10 * i}" for i in range(rows)]
    return register("ramp.csv", ("\n".join(lines) + "\n").encode())


def test_the_data_tasks_and_the_kind_of_file_they_read() -> None:
    assert DATA_TASKS == {"series": "series", "text": "text", "pairs": "pairs"}
    with pytest.raises(
        ValueError, match=r"the series task trains on your own series file: give it \(--data FILE\)"
    ):
        TrainConfig(task="series")
    with pytest.raises(
        ValueError, match=r"data is read only by the tasks on your own data \(series, text, pairs\), not copy"
    ):
        TrainConfig(task="copy", data=ramp())


def test_series_windows_stay_on_their_side_of_the_time_split_and_normalise_by_the_training_part() -> None:
    cfg = TrainConfig(
        task="series", data=ramp(50), time_column="t", seq_len=5, horizon=2, stride=1, val_fraction=0.2
    )
    task = make_task(cfg)
    p = task.prepared
    assert p.inputs == ("x", "y") and p.targets == ("x", "y")
    # 50 rows: 40 training rows (0..39), 10 validation rows (40..49); a window is 5 + 2 rows
    assert p.train_starts.tolist() == list(range(0, 34)) and p.val_starts.tolist() == list(range(40, 44))
    train = np.arange(40.0)
    assert np.allclose(p.mean, [train.mean(), 10 * train.mean()]) and np.allclose(
        p.std, [train.std(), 10 * train.std()]
    )
    b = task.sample(torch.Generator().manual_seed(0), 16)
    assert b.x.shape == (16, 5, 2) and b.y.shape == (16, 5, 4) and task.output_size == 4
    x = b.x[..., 0] * p.std[0] + p.mean[0]
    y1 = b.y[..., 0] * p.std[0] + p.mean[0]  # targets at t+1, then t+2
    y2 = b.y[..., 2] * p.std[0] + p.mean[0]
    assert torch.allclose(y1, x + 1, atol=1e-4) and torch.allclose(y2, x + 2, atol=1e-4)
    assert float(x.max()) + 2 <= 39 + 1e-4  # no training window reads a validation row
    val = torch.cat([v.x[..., 0] for v in task.validation_batches(16)]) * p.std[0] + p.mean[0]
    assert float(val.min()) >= 40 - 1e-4
    assert "40 training" not in task.describe() and "34 training / 4 validation windows" in task.describe()


def test_series_horizon_zero_predicts_other_columns_and_refuses_reading_the_answer() -> None:
    data = ramp(30)
    task = make_task(
        TrainConfig(task="series", data=data, time_column="t", targets="y", horizon=0, seq_len=4)
    )
    assert task.prepared.inputs == ("x",) and task.output_size == 1
    b = task.sample(torch.Generator().manual_seed(1), 4)
    assert b.x.shape == (4, 4, 1) and b.y.shape == (4, 4, 1)
    with pytest.raises(DataError, match="column 'y': with horizon 0 the model would read the answer"):
        TrainConfig(task="series", data=data, inputs="x,y", targets="y", horizon=0, seq_len=4)


def test_series_too_short_for_a_window_says_what_to_change() -> None:
    data = ramp(20)
    with pytest.raises(
        DataError,
        match=r"ramp.csv: the validation part .* is shorter than one window of seq_len \+ horizon = 11 rows: lower seq_len",
    ):
        TrainConfig(task="series", data=data, time_column="t", seq_len=10)
    with pytest.raises(
        DataError, match=r"the training part is shorter than one window of seq_len \+ horizon = 31 rows"
    ):
        TrainConfig(task="series", data=data, time_column="t", seq_len=30)
    with pytest.raises(DataError, match="column 'z': no such column"):
        TrainConfig(task="series", data=data, inputs="z")


def test_several_series_split_each_by_time() -> None:
    rows = ["id,v"] + [f"a,{i}" for i in range(20)] + [f"b,{100 + i}" for i in range(10)]
    data = register("two.csv", ("\n".join(rows) + "\n").encode())
    p = make_task(
        TrainConfig(task="series", data=data, series_column="id", seq_len=3, val_fraction=0.3)
    ).prepared
    assert p.n_series == 2 and p.rows == 30
    # a: 14 training rows (windows of 4 start at 0..10), 6 validation (14..16); b from row 20: 7 + 3
    assert p.train_starts.tolist() == [*range(0, 11), *range(20, 24)]
    assert p.val_starts.tolist() == [14, 15, 16]


def test_an_lstm_learns_the_shipped_sunspot_series() -> None:
    """The proof the issue asks for: validation R^2 on the last 20% of the years (1947-2008)."""
    torch.manual_seed(0)
    cfg = TrainConfig(
        task="series",
        data=sunspots(),
        time_column="YEAR",
        cell="lstm",
        hidden_size=32,
        seq_len=30,
        device="cpu",
    )
    tr = Trainer(cfg)
    for _ in range(300):
        tr.step(probe=False)
    loss, r2 = tr.evaluate()
    print(f"sunspots LSTM H32 T30, 300 steps: validation R^2 {r2:.3f} (MSE {loss:.3f}, normalised)")
    assert r2 > 0.5


def test_a_text_task_on_words_with_unknown_ones() -> None:
    text = ("the cat sat on the mat . " * 30 + "a dog ran far away . " * 5).encode()
    data = register("story.txt", text)
    task = make_task(TrainConfig(task="text", data=data, tokens="word", seq_len=6, vocab_cap=8))
    c = task.corpus
    assert c.vocab[:1] == ("<unk>",) and len(c.vocab) == 7 and c.unit == "word"
    assert set(c.vocab) == {"<unk>", "the", "cat", "sat", "on", "mat", "."}  # the training part's words only
    assert task.unknown_share() > 0  # "dog ran far away" are only in the validation part
    tr = Trainer(
        TrainConfig(
            task="text", data=data, tokens="word", seq_len=6, vocab_cap=8, hidden_size=16, device="cpu"
        )
    )
    first = tr.step(probe=True)
    assert first.metric_name == "perplexity" and first.probe is not None
    with pytest.raises(ValueError, match=r"seq_len must be in \[1, \d+\] for the text task"):
        TrainConfig(task="text", data=data, tokens="word", seq_len=500)


def test_a_pairs_task_trains_seq2seq_with_exact_match_and_token_accuracy() -> None:
    pairs = (
        "\n".join(f"{w}\t{w[::-1]}" for w in ("abc", "bca", "cab", "abba", "cc", "bac", "acb", "a" * 30))
        + "\n"
    )
    data = register("rev.tsv", pairs.encode())
    cfg = TrainConfig(
        task="pairs", data=data, seq_len=6, val_fraction=0.25, hidden_size=16, embed_size=8, device="cpu"
    )
    task = make_task(cfg)
    assert task.pairs.too_long == 1 and len(task.pairs.train) == 5 and len(task.pairs.val) == 2
    assert task.source_vocab[:4] == ["<pad>", "<sos>", "<eos>", "<unk>"]
    b = task.sample(torch.Generator().manual_seed(0), 4)
    assert b.x.shape == (4, 6) and b.y.shape == (4, 7)
    rec = Trainer(cfg).step(probe=True)
    assert rec.metric_name == "exact_match" and 0.0 <= rec.extras["token_accuracy"] <= 1.0
    assert "1 longer than 6 characters left out" in task.describe()
    with pytest.raises(DataError, match="every one of its 8 pairs is longer than seq_len = 1 characters"):
        TrainConfig(task="pairs", data=data, seq_len=1)
