"""A newcomer's first `rnnscope train --task T` learns something visible within the default
number of steps, for every task, with the default cell (LSTM) and with a GRU. (A tanh RNN on
the adding task does not: that is the lesson of the vanishing demo, not a bad default.)"""

from __future__ import annotations

import pytest
import torch

from rnnscope.cli.main import DEFAULT_STEPS, build_parser
from rnnscope.cli.options import config_from_args
from rnnscope.engine import Trainer
from rnnscope.engine.tasks import task_names

# metric after DEFAULT_STEPS on the validation batches, and whether higher is better;
# measured (LSTM / GRU): copy 0.89 / 0.77 accuracy (chance 1/8), adding 0.56 / 0.94,
# sine R^2 0.98 / 0.98, charlm perplexity 57 -> 11.8 / 10.6, reverse 0.40 / 0.20 exact match,
# translate 0.48 / 0.41.
LEARNED = {
    "copy": lambda before, after: after > 0.5,
    "adding": lambda before, after: after > 0.3,
    "sine": lambda before, after: after > 0.8,
    "charlm": lambda before, after: after < 0.35 * before,
    "reverse": lambda before, after: after > 0.1,
    "translate": lambda before, after: after > 0.2,
}


def test_every_task_has_a_learning_check() -> None:
    assert set(LEARNED) == set(task_names())


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("task", task_names())
def test_the_defaults_of_every_task_learn_within_the_default_steps(task: str, cell: str) -> None:
    parser, _ = build_parser()
    argv = ["train", "--task", task] + ([] if cell == "lstm" else ["--cell", cell])
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
    assert loss < 0.7 * loss0, (task, cell, loss0, loss)
    assert LEARNED[task](before, after), (task, cell, before, after)
