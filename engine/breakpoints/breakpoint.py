"""Breakpoint, its Hit, and BreakpointSet: what a kind (engine.breakpoints.kinds) is checked on.

A :class:`Breakpoint` is checked against every :class:`~engine.record.StepRecord`;
``hit(record)`` returns a :class:`Hit` (which breakpoint, the step, the value, and where)
or None. Its kind decides how (see kinds.py); its settings are validated here, at construction.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rnnscope.engine.breakpoints.expression import Expression, parse_expression
from rnnscope.engine.breakpoints.kinds import KINDS
from rnnscope.engine.record import StepRecord


@dataclass(frozen=True)
class Hit:
    """A breakpoint that held on a step: which one, the step, the value, and where."""

    breakpoint_id: str
    name: str
    kind: str
    step: int
    value: float | None
    threshold: float | None
    message: str  # one line for the status bar / timeline tooltip
    where: str = ""  # e.g. "rnn, layer 0, t=17" (empty when the condition has no place)
    part: str | None = None
    layer: int | None = None
    timestep: int | None = None
    error: str | None = None  # set when an expression failed to evaluate (pdb: counts as a hit)

    def to_dict(self) -> dict[str, Any]:
        return {
            "breakpoint_id": self.breakpoint_id,
            "name": self.name,
            "kind": self.kind,
            "step": self.step,
            "value": _json_float(self.value),
            "threshold": _json_float(self.threshold),
            "message": self.message,
            "where": self.where,
            "part": self.part,
            "layer": self.layer,
            "timestep": self.timestep,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Hit:
        d = dict(data)
        d["value"] = _from_json_float(d.get("value"))
        d["threshold"] = _from_json_float(d.get("threshold"))
        return cls(**d)


def _json_float(v: float | None) -> float | str | None:
    """JSON has no NaN/Infinity: store those as strings."""
    if v is None or math.isfinite(v):
        return v
    return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")


def _from_json_float(v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, str):
        if v not in ("nan", "inf", "-inf"):
            raise ValueError(f"bad number {v!r} in stored breakpoint")
        return float(v)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"bad number {v!r} in stored breakpoint")
    return float(v)


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class Breakpoint:
    """One watch condition. ``threshold`` is required by the threshold kinds, ``expression``
    by the expression kind; ``layer`` (None = top layer / any layer) narrows the per-layer
    kinds. Invalid settings raise ValueError at construction."""

    kind: str
    threshold: float | None = None
    expression: str | None = None
    enabled: bool = True
    layer: int | None = None
    name: str = ""  # display label; "" -> describe()
    id: str = field(default_factory=_new_id)
    _parsed: Expression | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown breakpoint kind {self.kind!r}; known: {', '.join(KINDS)}")
        kind = KINDS[self.kind]
        if kind.takes_threshold:
            if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)):
                raise ValueError(
                    f"breakpoint kind {self.kind} needs a numeric threshold; got {self.threshold!r}"
                )
            if math.isnan(self.threshold):
                raise ValueError(f"breakpoint threshold must be a number, not NaN ({self.kind})")
            self.threshold = float(self.threshold)
        elif self.threshold is not None:
            raise ValueError(f"breakpoint kind {self.kind} takes no threshold; got {self.threshold!r}")
        if kind.takes_expression:
            if self.expression is None:
                raise ValueError(f"breakpoint kind {self.kind} needs an expression")
            self._parsed = parse_expression(self.expression)
            self.expression = self._parsed.text
        elif self.expression is not None:
            raise ValueError(f"breakpoint kind {self.kind} takes no expression")
        if self.layer is not None and (
            isinstance(self.layer, bool) or not isinstance(self.layer, int) or self.layer < 0
        ):
            raise ValueError(f"breakpoint layer must be a non-negative integer or None; got {self.layer!r}")
        if not isinstance(self.enabled, bool):
            raise ValueError(f"breakpoint enabled must be true or false; got {self.enabled!r}")
        if not isinstance(self.name, str) or not isinstance(self.id, str) or not self.id:
            raise ValueError("breakpoint name and id must be text (id not empty)")

    # -- info ----------------------------------------------------------------
    @property
    def needs_frame(self) -> bool:
        """True when the condition reads probe-frame fields: force a frame on every step it
        watches (``Trainer.step(probe=True)``), or it is only evaluated on probe steps."""
        if KINDS[self.kind].needs_frame:
            return True
        return self._parsed is not None and self._parsed.needs_frame

    @property
    def parsed(self) -> Expression | None:
        """The checked expression (expression kinds), else None."""
        return self._parsed

    @property
    def label(self) -> str:
        return self.name or self.describe()

    def describe(self) -> str:
        return KINDS[self.kind].describe(self)

    # -- storage ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "threshold": _json_float(self.threshold),
            "expression": self.expression,
            "enabled": self.enabled,
            "layer": self.layer,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Breakpoint:
        known = {"id", "name", "kind", "threshold", "expression", "enabled", "layer"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown breakpoint field(s): {', '.join(unknown)}")
        if "kind" not in data:
            raise ValueError("stored breakpoint has no kind")
        d = dict(data)
        d["threshold"] = _from_json_float(d.get("threshold"))
        return cls(**d)

    def copy(self) -> Breakpoint:
        return Breakpoint.from_dict(self.to_dict())

    # -- the check -----------------------------------------------------------------
    def hit(self, record: StepRecord) -> Hit | None:
        """The hit on ``record`` or None (also None when disabled or not evaluable here)."""
        if not self.enabled:
            return None
        return KINDS[self.kind].check(self, record)

    def make_hit(self, record: StepRecord, value: float | None, message: str, **where: Any) -> Hit:
        """A Hit of this breakpoint on ``record``; ``where`` may give part, layer, timestep,
        where (the place as text) and error."""
        part, layer, timestep = where.get("part"), where.get("layer"), where.get("timestep")
        place = where.get("where")
        if place is None:
            bits = [b for b in (part, None if layer is None else f"layer {layer}") if b]
            if timestep is not None:
                bits.append(f"t={timestep}")
            place = ", ".join(bits)
        return Hit(
            breakpoint_id=self.id,
            name=self.label,
            kind=self.kind,
            step=record.step,
            value=value,
            threshold=self.threshold,
            message=f"step {record.step}: {message}" + (f" ({place})" if place else ""),
            where=place,
            part=part,
            layer=layer,
            timestep=timestep,
            error=where.get("error"),
        )


def default_breakpoints() -> BreakpointSet:
    """The breakpoints every new session starts with: non-finite loss/gradient, enabled."""
    return BreakpointSet([Breakpoint("nonfinite", id="nonfinite")])


class BreakpointSet:
    """An ordered collection of breakpoints with unique ids."""

    FORMAT = 1

    def __init__(self, breakpoints: Iterable[Breakpoint] = ()) -> None:
        self._items: list[Breakpoint] = []
        for bp in breakpoints:
            self.add(bp)

    def add(self, bp: Breakpoint) -> Breakpoint:
        if not isinstance(bp, Breakpoint):
            raise ValueError(f"not a Breakpoint: {bp!r}")
        if any(b.id == bp.id for b in self._items):
            raise ValueError(f"a breakpoint with id {bp.id!r} already exists")
        self._items.append(bp)
        return bp

    def remove(self, bp_id: str) -> Breakpoint:
        bp = self.get(bp_id)
        self._items.remove(bp)
        return bp

    def get(self, bp_id: str) -> Breakpoint:
        for b in self._items:
            if b.id == bp_id:
                return b
        raise KeyError(f"no breakpoint with id {bp_id!r}")

    def __iter__(self) -> Iterator[Breakpoint]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, bp_id: object) -> bool:
        return any(b.id == bp_id for b in self._items)

    @property
    def needs_frame(self) -> bool:
        """Whether any enabled breakpoint needs a probe frame on every step."""
        return any(b.enabled and b.needs_frame for b in self._items)

    def check(self, record: StepRecord) -> list[Hit]:
        """The hits of all enabled breakpoints on ``record``, in the set's order."""
        hits = []
        for b in self._items:
            h = b.hit(record)
            if h is not None:
                hits.append(h)
        return hits

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.FORMAT, "breakpoints": [b.to_dict() for b in self._items]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BreakpointSet:
        if data.get("format") != cls.FORMAT:
            raise ValueError(f"unsupported breakpoint set format {data.get('format')!r}")
        items = data.get("breakpoints")
        if not isinstance(items, list):
            raise ValueError("stored breakpoint set has no list of breakpoints")
        return cls(Breakpoint.from_dict(d) for d in items)

    def copy(self) -> BreakpointSet:
        return BreakpointSet(b.copy() for b in self._items)
