"""Tasks: batch shapes and dtypes, determinism, ground truth, loss/metric, config limits."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from rnnscope.engine.config import TrainConfig
from rnnscope.engine.tasks import EOS_ID, PAD_ID, SOS_ID, Batch, Task, make_task
from rnnscope.engine.tasks.adding import TOLERANCE
from rnnscope.engine.tasks.charlm import load_corpus
from rnnscope.engine.tasks.copy import BLANK_ID, GO_ID, N_SYMBOLS
from rnnscope.engine.tasks.seq2seq_tasks import MAX_WORDS, WORDS, number_words
from rnnscope.engine.tasks.sine import NOISE_STD

CONFIGS = {
    "copy": {"task": "copy", "seq_len": 30, "delay": 10},
    "adding": {"task": "adding", "seq_len": 25},
    "sine": {"task": "sine", "seq_len": 40},
    "charlm": {"task": "charlm", "seq_len": 50},
    "reverse": {"task": "reverse", "seq_len": 9},
    "translate": {"task": "translate", "seq_len": 6},
}
ALL = list(CONFIGS)
B = 64


def task_for(name: str, **changes: object) -> Task:
    return make_task(TrainConfig(**{**CONFIGS[name], **changes}))  # type: ignore[arg-type]


def draw(task: Task, seed: int = 0, batch_size: int = B) -> Batch:
    return task.sample(torch.Generator().manual_seed(seed), batch_size)


def oracle(task: Task, batch: Batch) -> torch.Tensor:
    """What a perfect model outputs: the target values, or one-hot target logits x 10."""
    if task.kind == "continuous":
        return batch.y.clone()
    return F.one_hot(batch.y, task.output_size).float() * 10.0


def random_out(task: Task, batch: Batch, seed: int = 123) -> torch.Tensor:
    shape = (*batch.y.shape[:2], task.output_size)
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def same(a: Batch, b: Batch) -> bool:
    pairs = [(a.x, b.x), (a.y, b.y), (a.mask, b.mask), (a.src_len, b.src_len), (a.tgt_len, b.tgt_len)]
    return all(
        (p is None and q is None) or (p is not None and q is not None and torch.equal(p, q)) for p, q in pairs
    )


# --- every task -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_shapes_dtypes_and_mask(name: str) -> None:
    task = task_for(name)
    batch = draw(task)
    assert task.name == name
    for t in (batch.x, batch.y, batch.mask):
        assert t.device.type == "cpu"
    assert batch.mask.dtype == torch.bool
    assert batch.mask.shape == batch.y.shape[:2]
    assert batch.mask.any(dim=1).all()  # every sample has something to learn
    if task.kind == "continuous":
        T = task.cfg.seq_len
        assert batch.x.shape == (B, T, task.input_size) and batch.x.dtype == torch.float32
        assert batch.y.shape == (B, T, task.output_size) and batch.y.dtype == torch.float32
    else:
        assert batch.x.dtype == torch.int64 and batch.y.dtype == torch.int64
        assert int(batch.x.min()) >= 0 and int(batch.x.max()) < task.input_size
        assert int(batch.y.min()) >= 0 and int(batch.y.max()) < task.output_size
    if task.kind == "token":
        assert batch.x.shape == batch.y.shape == (B, task.cfg.seq_len)
    if task.kind == "seq2seq":
        assert batch.src_len is not None and batch.tgt_len is not None
        assert batch.src_len.dtype == torch.int64 and batch.tgt_len.dtype == torch.int64
        assert batch.x.shape == (B, task.cfg.seq_len)
        U = batch.y.shape[1]
        pos = torch.arange(U)[None, :]
        assert torch.equal(batch.mask, pos < batch.tgt_len[:, None])
        rows = torch.arange(B)
        assert (batch.y[rows, batch.tgt_len - 1] == EOS_ID).all()
        assert ((batch.y == PAD_ID) == ~batch.mask).all()  # padding exactly after the EOS
        src_pos = torch.arange(batch.x.shape[1])[None, :]
        assert ((batch.x == PAD_ID) == (src_pos >= batch.src_len[:, None])).all()
        assert not (batch.x == SOS_ID).any() and not (batch.x == EOS_ID).any()
        assert not (batch.y == SOS_ID).any()
    else:
        assert batch.src_len is None and batch.tgt_len is None


@pytest.mark.parametrize("name", ALL)
def test_sampling_is_deterministic(name: str) -> None:
    task = task_for(name)
    assert same(draw(task, seed=7), draw(task, seed=7))
    assert not same(draw(task, seed=7), draw(task, seed=8))
    # consecutive draws from one generator differ (the data cursor advances)
    gen = torch.Generator().manual_seed(7)
    assert not same(task.sample(gen, B), task.sample(gen, B))


@pytest.mark.parametrize("name", ALL)
def test_oracle_is_perfect_and_random_is_poor(name: str) -> None:
    task = task_for(name)
    batch = draw(task, batch_size=256)
    good = oracle(task, batch)
    good_loss = float(task.loss(good, batch))
    assert good_loss < 0.01
    good_metric = task.metric(good, batch, good_loss)
    assert isinstance(good_metric, float)
    bad = random_out(task, batch)
    bad_loss = float(task.loss(bad, batch))
    bad_metric = task.metric(bad, batch, bad_loss)
    assert bad_loss > 0.3
    if task.higher_is_better:
        assert good_metric == pytest.approx(1.0)
        assert bad_metric < 0.3
    else:  # perplexity
        assert good_metric == pytest.approx(1.0, abs=0.01)
        assert bad_metric > 10.0


@pytest.mark.parametrize("name", ALL)
def test_loss_is_a_differentiable_scalar(name: str) -> None:
    task = task_for(name)
    batch = draw(task)
    out = random_out(task, batch).requires_grad_(True)
    loss = task.loss(out, batch)
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    assert out.grad is not None
    # only masked positions receive gradient
    touched = out.grad.abs().sum(dim=-1) > 0
    assert torch.equal(touched, batch.mask)


@pytest.mark.parametrize("name", ALL)
def test_validation_batches_are_fixed(name: str) -> None:
    task = task_for(name)
    first, second = task.validation_batches(16), task.validation_batches(16)
    assert len(first) == len(second) >= 1
    assert all(same(a, b) for a, b in zip(first, second, strict=True))
    assert all(b.x.shape[0] == 16 for b in first)
    # a new task object built from the same config gives the same held-out data
    assert all(same(a, b) for a, b in zip(first, task_for(name).validation_batches(16), strict=True))


@pytest.mark.parametrize("name", ALL)
def test_describe_is_one_line(name: str) -> None:
    text = task_for(name).describe()
    assert text.startswith(name + ":") and "\n" not in text and len(text) > 30


def test_predictions_follow_kind() -> None:
    copy = task_for("copy")
    out = torch.zeros(2, 3, copy.output_size)
    out[..., 4] = 1.0
    assert torch.equal(copy.predictions(out), torch.full((2, 3), 4))
    sine = task_for("sine")
    vals = torch.randn(2, 3, 1)
    assert torch.equal(sine.predictions(vals), vals)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", ALL)
def test_metric_with_out_on_cuda(name: str) -> None:
    task = task_for(name)
    batch = draw(task)
    out = oracle(task, batch)
    on_gpu = batch.to("cuda")
    loss = float(task.loss(out.cuda(), on_gpu))
    assert task.metric(out.cuda(), batch, loss) == pytest.approx(task.metric(out, batch, loss))


# --- copy ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("seq_len", "delay", "P"), [(30, 10, 10), (13, 4, 4), (12, 10, 1), (3, 1, 1)])
def test_copy_layout(seq_len: int, delay: int, P: int) -> None:
    task = task_for("copy", seq_len=seq_len, delay=delay)
    assert task.input_size == task.output_size == N_SYMBOLS + 2
    b = draw(task)
    T = seq_len
    assert torch.equal(b.y[:, T - P :], b.x[:, :P])  # the targets are the pattern
    assert (b.x[:, :P] < N_SYMBOLS).all()
    assert (b.x[:, T - P - 1] == GO_ID).all()
    rest = torch.ones(T, dtype=torch.bool)
    rest[:P] = False
    rest[T - P - 1] = False
    assert (b.x[:, rest] == BLANK_ID).all()
    expected_mask = torch.zeros(T, dtype=torch.bool)
    expected_mask[T - P :] = True
    assert torch.equal(b.mask, expected_mask.expand(B, T))
    assert P + delay <= T - P  # each symbol is recalled at least P + delay steps after it was shown
    assert task.input_tokens([0, 7, BLANK_ID, GO_ID]) == ["A", "H", "_", "GO"]


def test_copy_pattern_uses_the_whole_alphabet() -> None:
    b = draw(task_for("copy"), batch_size=256)
    assert set(b.x[:, :10].unique().tolist()) == set(range(N_SYMBOLS))


def test_copy_accuracy_counts_recall_positions_only() -> None:
    task = task_for("copy")
    b = draw(task)
    out = oracle(task, b)
    out[:, :20] = 0.0  # garbage before the recall: not scored
    assert task.metric(out, b, 0.0) == 1.0
    wrong = (b.y[:, 20:25] + 1) % N_SYMBOLS
    out[:, 20:25] = F.one_hot(wrong, task.output_size).float() * 10.0  # first half of the recall wrong
    assert task.metric(out, b, 0.0) == pytest.approx(0.5)


def test_copy_check_config() -> None:
    with pytest.raises(ValueError, match=r"seq_len must be >= delay \+ 2 = 12"):
        TrainConfig(task="copy", seq_len=11, delay=10)
    with pytest.raises(ValueError, match=r"delay must be in \[1, "):
        TrainConfig(task="copy", seq_len=10, delay=0)
    assert TrainConfig(task="copy", seq_len=12, delay=10).seq_len == 12


# --- adding -------------------------------------------------------------------------------------


@pytest.mark.parametrize("T", [2, 3, 25, 100])
def test_adding_ground_truth(T: int) -> None:
    task = task_for("adding", seq_len=T)
    b = draw(task, batch_size=128)
    values, markers = b.x[..., 0], b.x[..., 1]
    assert ((values >= 0) & (values < 1)).all()
    assert (markers.sum(dim=1) == 2).all() and set(markers.unique().tolist()) <= {0.0, 1.0}
    half = T // 2
    assert (markers[:, :half].sum(dim=1) == 1).all() and (markers[:, half:].sum(dim=1) == 1).all()
    total = (values * markers).sum(dim=1)
    assert torch.allclose(b.y[..., 0], total[:, None].expand(-1, T))
    assert b.mask[:, -1].all() and not b.mask[:, :-1].any()


def test_adding_loss_and_tolerance() -> None:
    task = task_for("adding")
    b = draw(task)
    assert float(task.loss(b.y + 0.1, b)) == pytest.approx(0.01, rel=1e-4)
    inside, outside = TOLERANCE * 0.75, TOLERANCE * 1.25
    assert task.metric(b.y + inside, b, 0.0) == 1.0
    assert task.metric(b.y - outside, b, 0.0) == 0.0
    out = b.y.clone()
    out[: B // 4, -1] += outside
    out[:, :-1] = 99.0  # only the last step counts
    assert task.metric(out, b, 0.0) == pytest.approx(0.75)


def test_adding_check_config() -> None:
    with pytest.raises(ValueError, match=r"seq_len must be in \[2, "):
        TrainConfig(task="adding", seq_len=1)


# --- sine ---------------------------------------------------------------------------------------


def test_sine_targets_are_the_next_clean_value() -> None:
    task = task_for("sine")
    b = draw(task, batch_size=512)
    assert b.mask.all()
    noise = b.x[:, 1:, 0] - b.y[:, :-1, 0]  # x_{t+1} = clean_{t+1} + noise = y_t + noise
    assert abs(float(noise.mean())) < 0.005
    assert float(noise.std()) == pytest.approx(NOISE_STD, rel=0.05)
    assert float(b.y.abs().max()) <= 1.5 + 1e-6
    # each sample's clean values are one sine: y_{t+1} + y_{t-1} = 2 cos(w) y_t with a fixed w
    y = b.y[..., 0].double()
    ratio = (y[:, 2:] + y[:, :-2]) / (2 * y[:, 1:-1])
    well = y[:, 1:-1].abs() > 0.2
    cosw = torch.where(well, ratio, torch.nan).nanmedian(dim=1).values
    assert torch.allclose(torch.where(well, ratio, cosw[:, None]), cosw[:, None].expand_as(ratio), atol=1e-3)
    periods = 2 * math.pi / torch.arccos(cosw.clamp(-1, 1))
    assert float(periods.min()) >= 8 - 0.1 and float(periods.max()) <= 40 + 0.5


def test_sine_r2_values() -> None:
    task = task_for("sine")
    b = draw(task)
    mean_out = torch.full_like(b.y, float(b.y.mean()))
    assert task.metric(mean_out, b, 0.0) == pytest.approx(0.0, abs=1e-6)
    out = b.y + 0.1
    sse = float(((out - b.y) ** 2).sum())
    sst = float(((b.y - b.y.mean()) ** 2).sum())
    assert task.metric(out, b, 0.0) == pytest.approx(1 - sse / sst, rel=1e-5)
    assert task.higher_is_better


# --- charlm -------------------------------------------------------------------------------------


def test_charlm_corpus() -> None:
    corpus = load_corpus()
    assert load_corpus() is corpus  # cached once per process
    assert corpus.text.startswith("First Citizen:\nBefore we proceed any further")
    assert "#" not in corpus.text  # the source header is stripped
    assert len(corpus.text) >= 15_000
    assert list(corpus.vocab) == sorted(set(corpus.text))
    assert corpus.n_val == len(corpus.text) // 10
    task = task_for("charlm")
    assert task.input_size == task.output_size == len(corpus.vocab)
    assert "".join(task.input_tokens(corpus.ids[:14].tolist())) == "First Citizen:"


def test_charlm_windows() -> None:
    task = task_for("charlm")
    corpus = load_corpus()
    train_text, val_text = corpus.text[: corpus.n_train], corpus.text[corpus.n_train :]
    b = draw(task)
    assert torch.equal(b.y[:, :-1], b.x[:, 1:])  # y is x shifted by one
    assert b.mask.all()
    for row in range(4):
        window = "".join(task.input_tokens(b.x[row].tolist())) + task.output_tokens([int(b.y[row, -1])])[0]
        assert window in train_text
    val = task.validation_batches(8)
    assert len(val) == 4
    starts = []
    for vb in val:
        assert torch.equal(vb.y[:, :-1], vb.x[:, 1:])
        for row in range(vb.x.shape[0]):
            window = "".join(task.input_tokens(vb.x[row].tolist()))
            assert window in val_text
            starts.append(val_text.index(window))
    assert len(set(starts)) == len(starts)  # distinct windows spread over the split
    assert task.higher_is_better is False


def test_charlm_metric_is_perplexity() -> None:
    task = task_for("charlm")
    b = draw(task)
    out = random_out(task, b)
    loss = float(task.loss(out, b))
    assert task.metric(out, b, loss) == pytest.approx(math.exp(loss))
    uniform = torch.zeros(*b.y.shape, task.output_size)
    loss_u = float(task.loss(uniform, b))
    assert task.metric(uniform, b, loss_u) == pytest.approx(task.output_size, rel=1e-4)


def test_charlm_check_config() -> None:
    hi = load_corpus().n_val - 1
    assert TrainConfig(task="charlm", seq_len=hi).seq_len == hi
    task = task_for("charlm", seq_len=hi)
    assert draw(task, batch_size=2).x.shape == (2, hi)
    assert len(task.validation_batches(3)) == 1
    with pytest.raises(ValueError, match=rf"seq_len must be in \[1, {hi}\] for the charlm task"):
        TrainConfig(task="charlm", seq_len=hi + 1)


# --- reverse ------------------------------------------------------------------------------------


def test_reverse_ground_truth() -> None:
    task = task_for("reverse")
    b = draw(task, batch_size=512)
    assert b.src_len is not None and b.tgt_len is not None
    assert torch.equal(b.tgt_len, b.src_len + 1)
    assert b.y.shape == (512, 10)
    assert set(b.src_len.tolist()) == set(range(4, 10))  # [seq_len // 2, seq_len]
    for row in range(512):
        n = int(b.src_len[row])
        src = b.x[row, :n].tolist()
        assert b.y[row, : n + 1].tolist() == [*src[::-1], EOS_ID]
    assert task.input_tokens([0, 1, 2, 3, 12]) == ["<pad>", "<sos>", "<eos>", "a", "j"]
    assert task.input_size == task.output_size == 13


def test_reverse_length_one() -> None:
    b = draw(task_for("reverse", seq_len=1))
    assert b.src_len is not None and (b.src_len == 1).all()
    assert torch.equal(b.y[:, 0], b.x[:, 0]) and (b.y[:, 1] == EOS_ID).all()


def test_exact_match_needs_every_masked_position() -> None:
    task = task_for("reverse")
    b = draw(task)
    assert b.tgt_len is not None
    out = oracle(task, b)
    unmasked = ~b.mask
    out[unmasked] = F.one_hot(torch.full((int(unmasked.sum()),), 5), task.output_size).float() * 10
    assert task.metric(out, b, 0.0) == 1.0  # predictions past the EOS do not count
    rows = torch.arange(8)
    last = b.tgt_len[:8] - 1
    out[rows, last] = F.one_hot(torch.full((8,), 5), task.output_size).float() * 10  # no EOS for 8 samples
    assert task.metric(out, b, 0.0) == pytest.approx((B - 8) / B)


# --- translate ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (15, "fifteen"),
        (20, "twenty"),
        (42, "forty two"),
        (100, "one hundred"),
        (307, "three hundred seven"),
        (1000, "one thousand"),
        (12045, "twelve thousand forty five"),
        (100000, "one hundred thousand"),
        (700011, "seven hundred thousand eleven"),
        (999999, "nine hundred ninety nine thousand nine hundred ninety nine"),
    ],
)
def test_number_words(n: int, words: str) -> None:
    assert " ".join(number_words(n)) == words


def test_number_words_fit_the_vocabulary_and_max_length() -> None:
    longest: dict[int, int] = {}
    for n in range(100_000):
        w = number_words(n)
        assert set(w) <= set(WORDS)
        longest[len(str(n))] = max(longest.get(len(str(n)), 0), len(w))
    assert longest == {d: MAX_WORDS[d] for d in range(1, 6)}
    # six digits: "<words(a)> thousand <words(b)>", so at most 4 + 1 + 4 words
    for a, b in [(777, 777), (100, 1), (999, 0), (123, 456)]:
        expected = [*number_words(a), "thousand", *(number_words(b) if b else [])]
        assert number_words(a * 1000 + b) == expected
    assert len(number_words(777_777)) == MAX_WORDS[6] == 9
    with pytest.raises(ValueError):
        number_words(1_000_000)


def test_translate_ground_truth() -> None:
    task = task_for("translate")
    b = draw(task, batch_size=512)
    assert b.src_len is not None and b.tgt_len is not None
    assert task.input_size == 13 and task.output_size == 3 + len(WORDS) == 33
    assert b.y.shape == (512, MAX_WORDS[6] + 1)
    assert set(b.src_len.tolist()) == set(range(1, 7))
    assert (b.src_len != b.tgt_len - 1).any()  # input and output lengths differ
    for row in range(512):
        digits = "".join(task.input_tokens(b.x[row, : int(b.src_len[row])].tolist()))
        assert digits.isdigit() and (len(digits) == 1 or digits[0] != "0")
        words = task.output_tokens(b.y[row, : int(b.tgt_len[row])].tolist())
        assert words == [*number_words(int(digits)), "<eos>"]


def test_translate_check_config() -> None:
    with pytest.raises(ValueError, match=r"seq_len must be in \[1, 6\] for the translate task; got 7"):
        TrainConfig(task="translate", seq_len=7)
    b = draw(task_for("translate", seq_len=1), batch_size=256)
    assert b.y.shape == (256, 2)
    assert set(b.x[:, 0].tolist()) == set(range(3, 13))  # 0..9 all appear, including zero
