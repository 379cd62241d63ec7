"""A breakpoint kind or an expression function is one registry row: registering it is all a
new one needs (the Breakpoint, the add menu's KIND_INFO and the help follow)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from rnnscope.engine.breakpoints import (
    EXPRESSION_FUNCTIONS,
    FUNCTIONS,
    KIND_INFO,
    KINDS,
    Breakpoint,
    Function,
    Hit,
    Kind,
    parse_expression,
    register_function,
    register_kind,
)
from rnnscope.engine.breakpoints.expression import elementwise, reducing
from rnnscope.engine.record import PartRecord, StepRecord


def _record(loss: float, metric: float = 0.5) -> StepRecord:
    h = np.ones((1, 4), np.float32)
    part = PartRecord(cell_type="rnn", length=4, h_grad_norm=h, c_grad_norm=None)
    return StepRecord(3, loss, metric, "accuracy", 1.0, 1.0, 1e-3, None, {"rnn": part}, 0)


@pytest.fixture
def metric_kind() -> Iterator[Kind]:
    def check(bp: Breakpoint, rec: StepRecord) -> Hit | None:
        assert bp.threshold is not None
        return (
            bp.make_hit(rec, rec.metric, f"metric {rec.metric:g} < {bp.threshold:g}")
            if rec.metric < bp.threshold
            else None
        )

    kind = register_kind(
        Kind("metric_below", "metric <", 0.1, lambda bp: f"metric < {bp.threshold:g}", check)
    )
    yield kind
    del KINDS["metric_below"]


def test_a_registered_kind_is_a_breakpoint_kind_everywhere(metric_kind: Kind) -> None:
    assert KIND_INFO["metric_below"] == ("metric <", 0.1)
    bp = Breakpoint("metric_below", threshold=0.6)
    assert bp.describe() == "metric < 0.6" and not bp.needs_frame
    hit = bp.hit(_record(1.0, metric=0.5))
    assert hit is not None and hit.kind == "metric_below" and hit.message == "step 3: metric 0.5 < 0.6"
    assert bp.hit(_record(1.0, metric=0.7)) is None
    assert Breakpoint.from_dict(bp.to_dict()) == bp
    with pytest.raises(ValueError, match="needs a numeric threshold"):
        Breakpoint("metric_below")
    with pytest.raises(ValueError, match="already registered"):
        register_kind(metric_kind)


def test_unknown_kind_names_the_registered_ones() -> None:
    with pytest.raises(ValueError, match="unknown breakpoint kind 'nan'; known: nonfinite, grad_norm_above"):
        Breakpoint("nan")


@pytest.fixture
def square() -> Iterator[Function]:
    fn = register_function(
        Function("square", "square(x): x * x, elementwise", elementwise, lambda a: a[0] * a[0])
    )
    yield fn
    del FUNCTIONS["square"]


def test_a_registered_function_is_typed_by_its_own_rule(square: Function) -> None:
    assert EXPRESSION_FUNCTIONS["square"] == "square(x): x * x, elementwise"
    expr = parse_expression("any(square(h_grad_norm) > 0.5)")
    assert expr.evaluate(_record(2.0)) == (True, None)
    # elementwise: square of an array is an array, so a bare comparison is refused before running
    with pytest.raises(ValueError, match="gives an array, not one true/false value"):
        parse_expression("square(h_grad_norm) > 0.5")
    with pytest.raises(ValueError, match=r"square\(\) takes exactly one argument, got 2 at column 1"):
        parse_expression("square(loss, loss) > 1")


def test_a_reducing_function_reduces_and_names_are_not_taken_twice() -> None:
    register_function(
        Function("peak", "peak(x): largest |x|", reducing, lambda a: float(np.max(np.abs(a[0]))))
    )
    try:
        assert parse_expression("peak(h_grad_norm) > 0.5").evaluate(_record(2.0)) == (True, 1.0)
    finally:
        del FUNCTIONS["peak"]
    for taken in ("mean", "loss", "not a name"):
        with pytest.raises(ValueError, match="not a free identifier"):
            register_function(Function(taken, "", reducing, lambda a: 0.0))
