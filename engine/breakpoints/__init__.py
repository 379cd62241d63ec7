"""Breakpoints: watch conditions that pause training, like a code debugger's.

Three modules, one concept each:

- :mod:`~engine.breakpoints.expression`: the small safe expression language (parser, shape
  checker, interpreter; one registry row per function).
- :mod:`~engine.breakpoints.kinds`: the kinds (nonfinite, grad_norm_above, loss_above,
  forget_gate_below, grad_ratio_below, expression), one :class:`Kind` object each in one registry.
- :mod:`~engine.breakpoints.breakpoint`: :class:`Breakpoint`, its :class:`Hit`, :class:`BreakpointSet`.

Adding a kind is one ``register_kind(Kind(...))``; adding a function one
``register_function(Function(...))``: nothing else names them.
"""

from __future__ import annotations

from collections.abc import Mapping

from rnnscope.engine.breakpoints.breakpoint import Breakpoint, BreakpointSet, Hit, default_breakpoints
from rnnscope.engine.breakpoints.expression import (
    EXPRESSION_FUNCTIONS,
    EXPRESSION_NAMES,
    FUNCTIONS,
    Expression,
    FieldUnavailable,
    Function,
    parse_expression,
    register_function,
)
from rnnscope.engine.breakpoints.kinds import KINDS, Kind, register_kind


class _KindInfo(Mapping[str, tuple[str, float | None]]):
    """kind -> (menu label, default threshold or None), for an "add breakpoint" menu."""

    def __getitem__(self, name: str) -> tuple[str, float | None]:
        k = KINDS[name]
        return k.label, k.default_threshold

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(KINDS)

    def __len__(self) -> int:
        return len(KINDS)


KIND_INFO: Mapping[str, tuple[str, float | None]] = _KindInfo()

__all__ = [
    "EXPRESSION_FUNCTIONS",
    "EXPRESSION_NAMES",
    "FUNCTIONS",
    "KINDS",
    "KIND_INFO",
    "Breakpoint",
    "BreakpointSet",
    "Expression",
    "FieldUnavailable",
    "Function",
    "Hit",
    "Kind",
    "default_breakpoints",
    "parse_expression",
    "register_function",
    "register_kind",
]
