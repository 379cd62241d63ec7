"""What differs between the two compared runs, said plainly (no Qt).

Runs of different lengths, sequence lengths, depths or cells can be compared: each side
draws its own run, the shared step is clamped to each run's steps, the difference view
covers what both have. ``mismatch_notes`` says so, one sentence per difference, for the
banner of the compare window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SideFacts:
    name: str  # "A" or "B"
    opened: bool
    error: str = ""
    steps: int = 0
    lengths: dict[str, int] = field(default_factory=dict)  # part -> T (from the recorded steps)
    layers: int = 1
    cell: str = ""
    training: bool = False  # the main window trains it: it grows

    @classmethod
    def of(cls, model: Any) -> SideFacts:
        """From a gui.compare.source.SourceModel."""
        cfg, shape = model.config, model.shape
        if shape is None:
            return cls(model.name, False, model.error)
        if cfg is not None:
            cell = (
                cfg.cell if not cfg.is_seq2seq else f"seq2seq {cfg.cells['encoder']}→{cfg.cells['decoder']}"
            )
        else:  # a run of the user's own loop: its attached modules' cells
            cell = "/".join(dict.fromkeys(p.cell for p in shape.parts))
        return cls(
            model.name,
            True,
            model.error,
            model.steps,
            model.history.part_lengths() if model.steps else {},
            int(shape.layers),
            cell,
            bool(model.training),
        )

    @property
    def t(self) -> int:
        return sum(self.lengths.values())

    def t_text(self) -> str:
        if len(self.lengths) > 1:
            return " + ".join(f"{p} {t}" for p, t in self.lengths.items()) + f" = {self.t}"
        return str(self.t)


def mismatch_notes(a: SideFacts, b: SideFacts) -> list[str]:
    notes = []
    for s in (a, b):
        if s.error:
            notes.append(f"{s.name} cannot be shown: {s.error}")
        elif s.opened and not s.steps:
            more = " (they appear as the main window trains it)" if s.training else ""
            notes.append(f"{s.name} has no steps yet{more}: only the other run is drawn.")
    if not (a.opened and b.opened and a.steps and b.steps):
        return notes
    if a.steps != b.steps:
        short = a if a.steps < b.steps else b
        last = short.steps - 1
        notes.append(
            f"Step counts differ (A {a.steps}, B {b.steps}): past step {last} {short.name} stays at "
            f"its last step, and the difference covers steps 0–{last}."
        )
    if a.lengths != b.lengths:
        if list(a.lengths) == list(b.lengths):
            common = " + ".join(str(min(a.lengths[p], b.lengths[p])) for p in a.lengths)
            cover = f"each part's common timesteps ({common})"
        else:
            cover = f"t = 0–{min(a.t, b.t) - 1}"
        notes.append(
            f"Sequence lengths differ (A T = {a.t_text()}, B T = {b.t_text()}): the difference covers "
            f"{cover}; past a run's last timestep the timestep cursor marks nothing on that side."
        )
    if a.layers != b.layers:
        notes.append(
            f"Layer counts differ (A {a.layers}, B {b.layers}): the difference offers the "
            f"{min(a.layers, b.layers)} layer(s) both have."
        )
    if a.cell != b.cell:
        notes.append(
            f"Different cells (A {a.cell}, B {b.cell}): each side shows its own gates and states; "
            "only views both have (e.g. h and ∂L/∂h) share a colour scale."
        )
    return notes
