"""Gates: one heatmap (units x timesteps) per gate of the shown step's probe sample.

LSTM i, f, g, o; GRU r, z, n (PyTorch's convention: n = tanh(W_in x + r * (W_hn h + b_hn)),
h_t = (1 - z) * n + z * h_{t-1}, so z ~ 1 keeps the old state). Sigmoid gates use a fixed
0..1 scale, tanh ones -1..1. A vanilla RNN has no gates: it shows tanh'(a_t) = 1 - h_t^2
instead (0 = saturated, where the gradient stops), or for a relu RNN relu'(a_t) = [h_t > 0]
(0 = a dead unit at that step). Hovering shows the value under the mouse.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg

from rnnscope.engine.record import GATE_NAMES, SIGMOID_GATES
from rnnscope.gui.panels import colormaps
from rnnscope.gui.panels.base import HeatmapGrids, HeatmapPlot, LayerSelector, Panel, info_label
from rnnscope.gui.panels.registry import Dock, Place, step_view

DESCRIPTIONS = {
    "i": "i · input gate (σ)",
    "f": "f · forget gate (σ)",
    "g": "g · candidate (tanh)",
    "o": "o · output gate (σ)",
    "r": "r · reset gate (σ)",
    "z": "z · update gate (σ)",
    "n": "n · candidate (tanh)",
    "tanh'": "tanh′(aₜ) = 1 − hₜ²",
    "relu'": "relu′(aₜ) = [hₜ > 0]",
}
TIPS = {
    "i": "how much of the candidate g is written into the cell",
    "f": "how much of c_{t-1} is kept: f ~ 1 lets the gradient pass back through c unchanged",
    "g": "what is written into the cell",
    "o": "how much of tanh(c_t) is exposed as h_t",
    "r": "how much of W_hn h_{t-1} enters the candidate (PyTorch applies r after the matmul)",
    "z": "h_t = (1 - z) * n + z * h_{t-1}: z ~ 1 keeps the old state",
    "n": "the candidate state",
    "tanh'": "derivative of tanh at each unit: 0 = saturated, no gradient passes",
    "relu'": "derivative of relu at each unit: 0 = the unit is off at that step, no gradient passes",
}
CELL_NOTES = {
    "lstm": "LSTM: cₜ = f·cₜ₋₁ + i·g,  hₜ = o·tanh(cₜ)",
    "gru": "GRU (PyTorch form): hₜ = (1−z)·n + z·hₜ₋₁ (the course writes z and 1−z the other way round)",
    "rnn": "tanh RNN: hₜ = tanh(W xₜ + U hₜ₋₁ + b) has no gates",
    "relu": "relu RNN: hₜ = relu(W xₜ + U hₜ₋₁ + b) has no gates",
}


def gate_names(shape: Any) -> list[str]:
    """The heatmaps of a run's parts (a gui.model.shape.RunShape): each cell's gates, once."""
    cells = list(dict.fromkeys(shape.cells.values()))
    names: list[str] = []
    for cell in cells:
        for n in GATE_NAMES[cell] or ("relu'" if shape.relu else "tanh'",):
            if n not in names:
                names.append(n)
    return names


class GatesPanel(Panel):
    title = "Gates"

    def __init__(self, controller: Any, cursor: Any, parent: Any = None) -> None:
        super().__init__(controller, cursor, parent)
        self.layer = LayerSelector()
        self.layer.currentIndexChanged.connect(lambda _i: self._redraw_record())
        self.note = info_label()
        self.hover = info_label(style="color: #F0E442; font-family: monospace;")
        lay = self._layout()
        lay.addLayout(self._header(self.layer, self.hover, self.note))
        self.view = pg.GraphicsLayoutWidget()
        lay.addWidget(self.view, 1)
        self.maps: dict[str, HeatmapPlot] = {}
        self.grids = HeatmapGrids(self.view)
        self._drawn: tuple[Any, int] | None = None  # (record, layer) the heatmaps show
        self._names: list[str] = []
        self.view.scene().sigMouseMoved.connect(self._on_hover)
        self.view.scene().sigMouseClicked.connect(self._on_click)

    def _redraw_record(self) -> None:
        self._dirty.add("record")
        self.refresh()

    # ------------------------------------------------------------ updates
    def _update_run(self) -> None:
        self._drawn = None
        shape = self.controller.shape
        if shape is None:
            return
        self.layer.set_layers(shape.layers)
        names = gate_names(shape)
        cells = set(shape.cells.values())
        self.note.setText(
            "   ".join(CELL_NOTES["relu" if c == "rnn" and shape.relu else c] for c in sorted(cells))
        )
        self.note.setToolTip("\n".join(f"{n}: {TIPS[n]}" for n in names))
        if names == self._names:
            return
        self._names = names
        self.maps = self.grids.show(tuple(names), lambda layout: self._build(layout, names))

    @staticmethod
    def _build(layout: pg.GraphicsLayout, names: list[str]) -> dict[str, HeatmapPlot]:
        cols = 2 if len(names) > 1 else 1
        maps = {}
        for i, name in enumerate(names):
            sigmoid = name in SIGMOID_GATES or name in ("tanh'", "relu'")
            maps[name] = HeatmapPlot(
                layout,
                i // cols,
                i % cols,
                title=DESCRIPTIONS[name],
                x_label="timestep t",
                y_label="unit" if i % cols == 0 else "",
                colormap=colormaps.SEQUENTIAL if sigmoid else colormaps.DIVERGING,
                levels=colormaps.UNIT_LEVELS if sigmoid else colormaps.SIGNED_LEVELS,
            )
        return maps

    def _gate_images(self, rec: Any, layer: int) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        gates = rec.gates or {}
        for name in self._names:
            if name == "relu'":
                h = rec.hidden
                out[name] = (h[layer] > 0).astype(h.dtype).T if h is not None else None
            elif name == "tanh'":
                h = rec.hidden
                out[name] = (1.0 - h[layer] ** 2).T if h is not None else None
            elif name in gates:
                out[name] = gates[name][layer].T  # (H, T): rows = units, columns = t
        return out

    def _update_record(self, rec: Any) -> None:
        if rec is None:
            self._drawn = None
            for m in self.maps.values():
                m.set_data(None)
            return
        if not rec.has_frame:
            return  # keep the last frame (probe_every > 1)
        layer = min(self.layer.layer, rec.layers - 1)
        if self._drawn is not None and self._drawn[0] is rec and self._drawn[1] == layer:
            return  # this very frame is on screen already: nothing to upload
        self._drawn = (rec, layer)
        for name, img in self._gate_images(rec, layer).items():
            m = self.maps.get(name)
            if m is not None and img is not None:
                m.set_data(img)
        starts = [s.start for s in rec.part_slices.values()][1:]
        for m in self.maps.values():
            m.set_boundaries(starts)

    def _update_cursor(self, t: int) -> None:
        for m in self.maps.values():
            m.set_cursor(t + 0.5)

    # ------------------------------------------------------------ input
    def _on_hover(self, pos: Any) -> None:
        for name, m in self.maps.items():
            hit = m.value_at(pos)
            if hit is not None:
                unit, t, value = hit
                self.hover.setText(f"{name}[unit {unit}, t {t}] = {value:.3f}")
                return
        self.hover.setText("")

    def _on_click(self, event: Any) -> None:
        for m in self.maps.values():
            hit = m.value_at(event.scenePos())
            if hit is not None:
                self.cursor.set(hit[1])
                return


DOCK = Dock("gates", GatesPanel.title, step_view(GatesPanel), Place("split", "gradient_flow"), compares=True)
