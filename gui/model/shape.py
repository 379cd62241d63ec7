"""RunShape: the recurrent parts a run's panels are built for (Qt-free).

A panel needs to know, before any step arrives, which parts the shown run has, each part's
cell (its gates) and its number of layers. rnnscope's own runs take that from their
TrainConfig (``"rnn"``, or Seq2Seq's ``"encoder"`` and ``"decoder"``); a run recorded from the
user's own loop (rnnscope.attach) from the modules its file describes: one part per attached
module and direction, named by the module's path (``lstm``, ``lstm.reverse``, ``decoder.gru``).

The window shows the parts of one *view* at a time. Parts are drawn side by side along time
(StepRecord's concatenation), which needs them to share their number of layers and hidden
size; an attached model whose modules differ in either is shown one module per view
(``views_of_external``), and the window offers a choice between them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rnnscope.engine.attach.steps import part_name


@dataclass(frozen=True)
class PartShape:
    name: str
    cell: str  # rnn | lstm | gru
    layers: int
    hidden: int
    nonlinearity: str = "tanh"  # an RNN's: tanh | relu (nn.RNN(nonlinearity="relu"), attached)


@dataclass(frozen=True)
class RunShape:
    parts: tuple[PartShape, ...]
    label: str = ""  # what the view is called where there is a choice ("" for a run's only view)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parts]

    @property
    def cells(self) -> dict[str, str]:
        return {p.name: p.cell for p in self.parts}

    @property
    def layers(self) -> int:
        return max((p.layers for p in self.parts), default=1)

    @property
    def relu(self) -> bool:
        """An RNN part computes relu (its derivative is shown in place of tanh's)."""
        return any(p.cell == "rnn" and p.nonlinearity == "relu" for p in self.parts)

    @property
    def has_cell_state(self) -> bool:
        return any(p.cell == "lstm" for p in self.parts)

    @classmethod
    def of_config(cls, config: Any) -> RunShape:
        """The parts of one of rnnscope's own runs (an engine TrainConfig)."""
        return cls(
            tuple(
                PartShape(name, cell, int(config.layers), int(config.hidden_size))
                for name, cell in config.cells.items()
            )
        )


def module_parts(module: Mapping[str, Any]) -> list[PartShape]:
    """The parts an attached module records (engine.attach.steps names them): one per direction."""
    path, cell = str(module["path"]), str(module["cell"])
    layers, hidden = int(module["num_layers"]), int(module["hidden_size"])
    nonlinearity = str(module.get("nonlinearity", "tanh"))
    directions = 2 if module.get("bidirectional") else 1
    return [PartShape(part_name(path, d), cell, layers, hidden, nonlinearity) for d in range(directions)]


def views_of_external(modules: Sequence[Mapping[str, Any]]) -> list[RunShape]:
    """The views of an attached run (its file's ``external.modules``): all parts in one view when
    they share layers and hidden size, else one view per module, in the order they were attached."""
    per_module = [(str(m["path"]), module_parts(m)) for m in modules]
    every = [p for _, parts in per_module for p in parts]
    if not every:
        return []
    if len({(p.layers, p.hidden) for p in every}) == 1:
        label = "all modules" if len(per_module) > 1 else per_module[0][0]
        return [RunShape(tuple(every), label)]
    return [RunShape(tuple(parts), path) for path, parts in per_module]
