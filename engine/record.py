"""StepRecord: what one optimizer step reports, as numpy arrays (no torch, no Qt).

A record has a *summary* (every step: loss, metric, norms, per-timestep gradient norms,
where a NaN/Inf first appeared) and, on probe steps, a *frame*:
the gates, states and per-unit gradients of one probe sample.

Layout of the recurrent part
----------------------------
``record.parts`` maps a part name to a :class:`PartRecord`. A plain model has one part,
``"rnn"``. A Seq2Seq model has two, ``"encoder"`` and ``"decoder"``, each with its own
cell type and its own length (T_src, T_tgt).

The top-level conveniences (``record.h_grad_norm``, ``record.gates`` ...) return the
single part's arrays. For Seq2Seq they concatenate the parts along the time axis,
encoder first then decoder (T = T_src + T_tgt: the order in which the gradient flows
back), and fill with NaN where a part has no such array (e.g. the cell state of a GRU
decoder behind an LSTM encoder). ``record.part_slices`` gives each part's time range.
``whh_singular_values`` and ``whh_block_singular_values`` (frame fields: the SVD is the costliest summary, and any step's
frame can be regenerated) is per layer, not per timestep: for Seq2Seq the top level
stacks encoder layers then decoder layers.

Gates and states are those of the forward pass of that step (weights before its update).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

GATE_NAMES = {"rnn": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
# Sigmoid gates live in [0, 1]; tanh ones in [-1, 1] (used for colour scales).
SIGMOID_GATES = frozenset({"i", "f", "o", "r", "z"})

# The arrays of a PartRecord's frame: name -> (ndim, what it holds). One list for the session
# codec, the exports and the breakpoint language (gates are stored per name beside these).
FRAME_ARRAYS: dict[str, tuple[int, str]] = {
    "whh_singular_values": (2, "(layers, H) singular values of the stacked (G*H, H) W_hh, descending"),
    "whh_block_singular_values": (
        3,
        "(layers, G, H) singular values of each gate's block of W_hh (LSTM i f g o, GRU r z n), descending",
    ),
    "hidden": (3, "(layers, T, H) h_t of the probe sample"),
    "cell": (3, "(layers, T, H) c_t of the probe sample (LSTM)"),
    "h_grad": (3, "(layers, T, H) dL/dh_t of the probe sample"),
    "c_grad": (3, "(layers, T, H) dL/dc_t of the probe sample (LSTM)"),
    "jacobian_norm": (
        2,
        "(layers, T) recurrence gain of the probe sample: ||dh_t/dh_{t-1}||, LSTM ||d(h_t,c_t)/d(h_{t-1},c_{t-1})||",
    ),
}
FRAME_FIELDS = tuple(FRAME_ARRAYS)
# The fields of a ProbeSample, in the order they are stored.
PROBE_FIELDS = ("input", "target", "prediction", "mask", "free_running", "embedded")


@dataclass
class NonFinite:
    """Where the first NaN/Inf of a step appeared."""

    where: str  # "loss" | "gradient" | "forward" | "parameter"
    part: str | None = None  # "rnn" | "encoder" | "decoder" | None
    layer: int | None = None
    timestep: int | None = None
    detail: str = ""  # e.g. the parameter name

    def describe(self) -> str:
        bits = [self.where]
        if self.part:
            bits.append(self.part)
        if self.layer is not None:
            bits.append(f"layer {self.layer}")
        if self.timestep is not None:
            bits.append(f"t={self.timestep}")
        if self.detail:
            bits.append(self.detail)
        return "non-finite value in " + ", ".join(bits)


@dataclass
class PartRecord:
    """One recurrent stack (L layers, T timesteps, H units)."""

    cell_type: str  # rnn | lstm | gru
    length: int  # T (padded length of this step's batch)
    h_grad_norm: np.ndarray  # (L, T) float64 batch mean of ||dL/dh_t|| over samples with t < their length
    c_grad_norm: np.ndarray | None  # (L, T) the same for the LSTM cell state
    # --- probe frame (None on steps that are not probed) ---
    whh_singular_values: np.ndarray | None = None  # (L, H) of the stacked (G*H, H) W_hh, descending
    # (L, G, H) of each gate's (H, H) block of W_hh (GATE_NAMES order; G = 1 for a tanh RNN)
    whh_block_singular_values: np.ndarray | None = None
    gates: dict[str, np.ndarray] | None = None  # name -> (L, T, H)
    hidden: np.ndarray | None = None  # (L, T, H) h_t
    cell: np.ndarray | None = None  # (L, T, H) c_t (LSTM)
    h_grad: np.ndarray | None = None  # (L, T, H) dL/dh_t (total) of the probe sample
    c_grad: np.ndarray | None = None  # (L, T, H) dL/dc_t of the probe sample (LSTM)
    jacobian_norm: np.ndarray | None = (
        None  # (L, T) recurrence gain of the probe sample: ||dh_t/dh_{t-1}||, LSTM joint (h, c)
    )
    probe_length: int | None = None  # valid timesteps of the probe sample

    @property
    def has_frame(self) -> bool:
        return self.hidden is not None


@dataclass
class ProbeSample:
    """The probe sample's data. Token tasks hold int ids, continuous ones floats."""

    input: np.ndarray  # (T_in,) ids or (T_in, I) values, as fed to the first recurrent layer's input
    target: np.ndarray  # (T_out,) ids or (T_out, O) values
    prediction: np.ndarray  # (T_out,) argmax ids or (T_out, O) values (teacher-forced for Seq2Seq)
    mask: np.ndarray | None = None  # (T_out,) bool: positions that count in the loss
    free_running: np.ndarray | None = None  # Seq2Seq: greedy autoregressive output (T_out,)
    embedded: np.ndarray | None = None  # (T_in, E) the vectors the first layer actually saw


@dataclass
class StepRecord:
    step: int  # optimizer steps done before this one (the first step is 0)
    loss: float
    metric: float
    metric_name: str  # accuracy | perplexity | exact_match | mse ...
    grad_norm: float  # global gradient norm before clipping
    grad_norm_clipped: float  # after clipping (== grad_norm when clipping is off)
    lr: float
    clip_threshold: float | None  # None when clipping is off
    parts: dict[str, PartRecord]
    probe_index: int
    probe: ProbeSample | None = None
    nonfinite: NonFinite | None = None
    step_time: float = 0.0  # seconds spent in Trainer.step (not stored bit-exactly)
    extras: dict[str, float] = field(default_factory=dict)  # e.g. teacher_forcing used
    # Set by sessions on a regenerated frame that may not be the recorded one (replayed on another
    # machine kind, or deviating from the stored summaries): a headline line, then how far it is.
    # Never stored; "" for a trainer's own records and for frames known to be as recorded.
    provenance: str = ""

    def select(self, names: list[str] | tuple[str, ...]) -> StepRecord:
        """This step with only the parts ``names`` (in their order; the arrays are shared, not
        copied): what a window shows of a model whose parts cannot be drawn side by side."""
        missing = [n for n in names if n not in self.parts]
        if missing:
            raise KeyError(f"step {self.step} has no part {missing[0]!r} (parts: {', '.join(self.parts)})")
        if list(names) == list(self.parts):
            return self
        return dataclasses.replace(self, parts={n: self.parts[n] for n in names})

    # --- conveniences over parts (see module docstring) ---
    @property
    def has_frame(self) -> bool:
        return all(p.has_frame for p in self.parts.values())

    @property
    def part_slices(self) -> dict[str, slice]:
        out: dict[str, slice] = {}
        start = 0
        for name, part in self.parts.items():
            out[name] = slice(start, start + part.length)
            start += part.length
        return out

    def _concat(self, attr: str, per_unit: bool) -> np.ndarray | None:
        parts = list(self.parts.values())
        arrays = [getattr(p, attr) for p in parts]
        if len(parts) == 1:
            return arrays[0]
        if all(a is None for a in arrays):
            return None
        ref = next(a for a in arrays if a is not None)
        pieces = []
        for p, a in zip(parts, arrays, strict=False):
            if a is None:
                shape = (ref.shape[0], p.length) + ((ref.shape[2],) if per_unit else ())
                a = np.full(shape, np.nan, dtype=ref.dtype)
            pieces.append(a)
        return np.concatenate(pieces, axis=1)

    @property
    def h_grad_norm(self) -> np.ndarray:
        out = self._concat("h_grad_norm", per_unit=False)
        assert out is not None
        return out

    @property
    def c_grad_norm(self) -> np.ndarray | None:
        return self._concat("c_grad_norm", per_unit=False)

    @property
    def hidden(self) -> np.ndarray | None:
        return self._concat("hidden", per_unit=True)

    @property
    def cell(self) -> np.ndarray | None:
        return self._concat("cell", per_unit=True)

    @property
    def h_grad(self) -> np.ndarray | None:
        return self._concat("h_grad", per_unit=True)

    @property
    def c_grad(self) -> np.ndarray | None:
        return self._concat("c_grad", per_unit=True)

    @property
    def jacobian_norm(self) -> np.ndarray | None:
        return self._concat("jacobian_norm", per_unit=False)

    @property
    def whh_singular_values(self) -> np.ndarray | None:
        values = [p.whh_singular_values for p in self.parts.values()]
        if any(v is None for v in values):
            return None
        return np.concatenate([v for v in values if v is not None], axis=0)

    @property
    def whh_block_singular_values(self) -> np.ndarray | None:
        """(L_total, G, H): the parts' per-gate-block singular values stacked like
        ``whh_singular_values``; a part with fewer gates than another is padded with NaN."""
        values = [p.whh_block_singular_values for p in self.parts.values()]
        if any(v is None for v in values):
            return None
        arrays = [v for v in values if v is not None]
        g = max(a.shape[1] for a in arrays)
        padded = [
            a
            if a.shape[1] == g
            else np.concatenate(
                [a, np.full((a.shape[0], g - a.shape[1], a.shape[2]), np.nan, a.dtype)], axis=1
            )
            for a in arrays
        ]
        return np.concatenate(padded, axis=0)

    @property
    def gates(self) -> dict[str, np.ndarray] | None:
        parts = list(self.parts.values())
        if len(parts) == 1:
            return parts[0].gates
        if not all(p.has_frame for p in parts):
            return None
        names: list[str] = []
        for p in parts:
            for n in GATE_NAMES[p.cell_type]:
                if n not in names:
                    names.append(n)
        out = {}
        for n in names:
            pieces = []
            for p in parts:
                g = (p.gates or {}).get(n)
                if g is None:
                    assert p.hidden is not None
                    g = np.full(p.hidden.shape, np.nan, dtype=p.hidden.dtype)
                pieces.append(g)
            out[n] = np.concatenate(pieces, axis=1)
        return out

    @property
    def layers(self) -> int:
        return int(next(iter(self.parts.values())).h_grad_norm.shape[0])
