"""A newcomer's first `rnnscope train --task T` learns something visible within the default
number of steps, for every task, with the default cell (LSTM) and with a GRU. (A tanh RNN on
the adding task does not: that is the lesson of the vanishing demo, not a bad default.)"""

from __future__ import annotations

import random
from importlib import resources
from pathlib import Path

import pytest
import torch

from rnnscope.cli.main import DEFAULT_STEPS, build_parser
from rnnscope.cli.options import config_from_args
from rnnscope.engine import Trainer
from rnnscope.engine.tasks import task_names

# metric after DEFAULT_STEPS on the validation batches, and whether higher is better;
# measured (LSTM / GRU): copy 0.89 / 0.77 accuracy (chance 1/8), adding 0.56 / 0.94,
# sine R^2 0.98 / 0.98, charlm perplexity 57 -> 11.8 / 10.6, reverse 0.40 / 0.20 exact match,
# translate 0.48 / 0.41; on data files (data_args): series (sunspots) R^2 0.83 / 0.84, text
# (Coriolanus) perplexity 69 -> 14 / 13, pairs (reversals) 0.73 / 0.58 exact match.
LEARNED = {
    "copy": lambda before, after: after > 0.5,
    "adding": lambda before, after: after > 0.3,
    "sine": lambda before, after: after > 0.8,
    "charlm": lambda before, after: after < 0.35 * before,
    "reverse": lambda before, after: after > 0.1,
    "translate": lambda before, after: after > 0.2,
    "series": lambda before, after: after > 0.5,
    "text": lambda before, after: after < 0.35 * before,
    "pairs": lambda before, after: after > 0.1,
}


def data_args(task: str, tmp_path: Path) -> list[str]:
    """The data tasks on representative files: the shipped sunspots and Coriolanus, and a TSV
    of 400 letter strings and their reversals (word-free pairs any user could bring)."""
    shipped = resources.files("rnnscope.engine").joinpath("data")
    if task == "series":
        return ["--data", str(shipped.joinpath("sunspots.csv")), "--time-column", "YEAR"]
    if task == "text":
        return ["--data", str(shipped.joinpath("coriolanus.txt"))]
    if task == "pairs":
        rng = random.Random(0)
        words = ["".join(rng.choice("abcdefgh") for _ in range(rng.randint(2, 6))) for _ in range(400)]
        p = tmp_path / "pairs.tsv"
        p.write_text("".join(f"{w}\t{w[::-1]}\n" for w in words))
        return ["--data", str(p)]
    return []


def test_every_task_has_a_learning_check() -> None:
    assert set(LEARNED) == set(task_names())


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("task", task_names())
def test_the_defaults_of_every_task_learn_within_the_default_steps(
    task: str, cell: str, tmp_path: Path
) -> None:
    parser, _ = build_parser()
    argv = ["train", "--task", task, *data_args(task, tmp_path)] + (
        [] if cell == "lstm" else ["--cell", cell]
    )
    cfg = config_from_args(parser.parse_args(argv))
    assert cfg.cell == cell and cfg.task == task
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        trainer = Trainer(cfg.with_changes(probe_every=0, device="cpu"))
        loss0, before = trainer.evaluate()
        for _ in range(DEFAULT_STEPS):
            trainer.step()
        loss, after = trainer.evaluate()
    finally:
        torch.set_num_threads(threads)
    print(
        f"{task} {cell}: {trainer.task.metric_name} {before:.3g} -> {after:.3g}, loss {loss0:.3g} -> {loss:.3g}"
    )
    assert loss < 0.7 * loss0, (task, cell, loss0, loss)
    assert LEARNED[task](before, after), (task, cell, before, after)
