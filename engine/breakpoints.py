"""Breakpoints: watch conditions that pause training, like a code debugger's.

A :class:`Breakpoint` is checked against every :class:`~engine.record.StepRecord`;
``hit(record)`` returns a :class:`Hit` (which breakpoint, the step, the value, and where)
or None. Built-in kinds:

=====================  ===========================================================
``nonfinite``          a NaN/Inf in the loss or the gradient (on by default). Hits when
                       ``record.nonfinite`` is set, when the loss or the global gradient
                       norm is not finite (the norm of finite but huge gradients can
                       overflow to inf), or when a per-timestep norm ``h_grad_norm`` /
                       ``c_grad_norm`` is +-inf. Where: ``record.nonfinite`` (part, layer,
                       timestep), else the latest timestep whose norm is inf (the first
                       one the backward pass met), top layer first.
``grad_norm_above``    global gradient norm *before* clipping > threshold (inf counts).
``loss_above``         loss > threshold (inf counts; NaN is the ``nonfinite`` kind's job).
``forget_gate_below``  mean LSTM forget gate of the probe sample (over its valid timesteps
                       and all units) < threshold, per layer (``layer`` None: any layer).
                       Needs a probe frame (``needs_frame``): on steps without one the
                       breakpoint cannot be evaluated and does not hit; the caller forces a
                       frame with ``Trainer.step(probe=True)``.
``grad_ratio_below``   ||dL/dh_first|| / ||dL/dh_last|| < threshold, from ``h_grad_norm``
                       (batch mean norms) of the top layer (or ``layer``): first = index 0,
                       last = the last timestep. For Seq2Seq the concatenated
                       ``record.h_grad_norm`` (encoder then decoder) is used, so first is the
                       encoder's t=0 and last the decoder's last step. Timesteps whose norm
                       is NaN (no sample that long in the batch) are skipped: first/last are
                       the first/last *finite* entries. A zero or non-finite denominator
                       means the ratio is undefined: no hit (``nonfinite`` covers inf/NaN).
``expression``         a condition over record fields in a small safe language (below).
=====================  ===========================================================

Expression language
-------------------
Parsed with ``ast.parse(text, mode="eval")`` and walked over a whitelist of node types;
evaluated by the small interpreter in this module, never by ``eval``/``exec``/``compile``.
Allowed: numbers, the names in :data:`EXPRESSION_NAMES` (record fields; arrays are numpy
float64), ``+ - * / **`` (the exponent must be a number literal with |e| <= 64), unary
minus/plus, comparisons (``< <= > >= == !=``, chained), ``and or not`` on single values, calls
to the functions in :data:`EXPRESSION_FUNCTIONS`, and indexing arrays with integer literals
and slices (``h_grad_norm[-1, 0]``, ``h_grad_norm[0, :5]``). Everything else (attributes,
strings, lambdas, comprehensions, keyword arguments, dunder names ...) is refused with a
ValueError that says what and where. Shapes are checked before running: the whole
expression must be one true/false value (wrap arrays in ``any()``/``all()``/``max()``...).
Arithmetic is float64 with numpy's overflow to inf (no Python big integers, so nothing can
run away). Names missing on a record (``gate_f`` of a GRU, frame fields on a step without a
frame) make the breakpoint not hit; any other failure while evaluating (an index out of
range for this model) *is* a hit carrying the error, as pdb treats a conditional breakpoint
whose condition raises: better to stop and show it than to ignore it silently.

Examples::

    loss > 3 and step > 100
    h_grad_norm[-1, 0] / h_grad_norm[-1, -1] < 1e-6
    max(whh_singular_values[:, 0]) > 1.5
    mean(gate_f[0]) < 0.3 or any_nonfinite(h_grad_norm)
"""

from __future__ import annotations

import ast
import difflib
import math
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.record import FRAME_ARRAYS as RECORD_FRAME_ARRAYS
from engine.record import StepRecord

__all__ = [
    "EXPRESSION_FUNCTIONS",
    "EXPRESSION_NAMES",
    "KINDS",
    "KIND_INFO",
    "Breakpoint",
    "BreakpointSet",
    "Expression",
    "FieldUnavailable",
    "Hit",
    "default_breakpoints",
    "parse_expression",
]

KINDS = ("nonfinite", "grad_norm_above", "loss_above", "forget_gate_below", "grad_ratio_below", "expression")
THRESHOLD_KINDS = frozenset({"grad_norm_above", "loss_above", "forget_gate_below", "grad_ratio_below"})

# For a GUI's "add breakpoint" dialog: label, the default threshold (None: no threshold).
KIND_INFO: dict[str, tuple[str, float | None]] = {
    "nonfinite": ("non-finite loss or gradient (NaN/Inf)", None),
    "grad_norm_above": ("gradient norm (before clipping) >", 1000.0),
    "loss_above": ("loss >", 10.0),
    "forget_gate_below": ("mean forget gate <", 0.2),
    "grad_ratio_below": ("||dL/dh_first|| / ||dL/dh_last|| <", 1e-6),
    "expression": ("expression", None),
}

MAX_EXPRESSION_CHARS = 500
MAX_NODES = 200
MAX_DEPTH = 32
MAX_EXPONENT = 64.0
MAX_LITERAL = 1e300

SCALAR_FIELDS: dict[str, str] = {
    "step": "optimizer steps done before this one (the first step is 0)",
    "loss": "training loss of the step",
    "metric": "task metric of the step (accuracy, perplexity, exact_match, r2 ...)",
    "grad_norm": "global gradient norm before clipping",
    "grad_norm_clipped": "global gradient norm after clipping (== grad_norm when clipping is off)",
    "lr": "learning rate",
    "clip_threshold": "clipping threshold (NaN when clipping is off)",
    "step_time": "seconds the step took",
    "layers": "number of recurrent layers",
    "timesteps": "T of h_grad_norm (Seq2Seq: source + target)",
    "nonfinite": "true when the trainer located a NaN/Inf in this step",
}
BOOL_FIELDS = frozenset({"nonfinite"})
SUMMARY_ARRAYS: dict[str, str] = {
    "h_grad_norm": "(layers, T) batch mean of ||dL/dh_t||",
    "c_grad_norm": "(layers, T) batch mean of ||dL/dc_t|| (LSTM only)",
}
FRAME_ARRAYS: dict[str, tuple[int, str]] = dict(RECORD_FRAME_ARRAYS)
GATE_FIELDS = {f"gate_{g}": g for g in ("i", "f", "g", "o", "r", "z", "n")}
for _name, _gate in GATE_FIELDS.items():
    FRAME_ARRAYS[_name] = (3, f"(layers, T, H) gate {_gate} of the probe sample")
CONSTANTS: dict[str, float] = {"inf": math.inf, "nan": math.nan, "pi": math.pi, "e": math.e}

# name -> description, for help texts; every name the language knows.
EXPRESSION_NAMES: dict[str, str] = {
    **SCALAR_FIELDS,
    **SUMMARY_ARRAYS,
    **{k: v[1] for k, v in FRAME_ARRAYS.items()},
    **{k: "constant" for k in CONSTANTS},
}
_NDIM: dict[str, int] = {
    **dict.fromkeys(SCALAR_FIELDS, 0),
    **dict.fromkeys(SUMMARY_ARRAYS, 2),
    **{k: v[0] for k, v in FRAME_ARRAYS.items()},
    **dict.fromkeys(CONSTANTS, 0),
}

EXPRESSION_FUNCTIONS: dict[str, str] = {
    "abs": "abs(x): elementwise absolute value",
    "min": "min(x): smallest element (NaN ignored); min(a, b, ...): elementwise minimum",
    "max": "max(x): largest element (NaN ignored); max(a, b, ...): elementwise maximum",
    "mean": "mean(x): mean of all elements (NaN ignored)",
    "sum": "sum(x): sum of all elements (NaN ignored)",
    "std": "std(x): standard deviation of all elements (NaN ignored)",
    "median": "median(x): median of all elements (NaN ignored)",
    "log": "log(x): natural logarithm, elementwise",
    "log10": "log10(x): base-10 logarithm, elementwise",
    "exp": "exp(x): elementwise",
    "sqrt": "sqrt(x): elementwise",
    "first": "first(x): x[..., 0], the first entry along the last axis (time for (layers, T))",
    "last": "last(x): x[..., -1], the last entry along the last axis",
    "any": "any(cond): true if any element is true",
    "all": "all(cond): true if every element is true",
    "any_nonfinite": "any_nonfinite(x): true if x holds a NaN or +-inf",
    "len": "len(x): size of the last axis",
}


# ---------------------------------------------------------------------------
# expression parser and interpreter
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Type:
    ndim: int
    boolean: bool = False


class FieldUnavailable(Exception):
    """A name the expression uses is not available on this record (a frame field on a step
    without a frame, ``gate_f`` of a GRU, ``c_grad_norm`` of a tanh RNN)."""


def _where(node: ast.AST) -> str:
    col = getattr(node, "col_offset", None)
    return f" at column {col + 1}" if isinstance(col, int) else ""


_NODE_NAMES = {
    ast.Attribute: "attribute access ('.')",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Dict: "dictionaries",
    ast.Set: "sets",
    ast.List: "lists",
    ast.IfExp: "'x if c else y'",
    ast.NamedExpr: "assignment (':=')",
    ast.Starred: "'*' unpacking",
    ast.JoinedStr: "strings",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}
# The whitelist: every other node type is refused (slices and tuples only inside subscripts).
_ALLOWED_NODES = (
    ast.Constant,
    ast.Name,
    ast.UnaryOp,
    ast.BinOp,
    ast.BoolOp,
    ast.Compare,
    ast.Call,
    ast.Subscript,
)
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_CMPOPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


class _Checker:
    """Walks the AST once, refusing anything outside the whitelist and inferring shapes."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def check(self, node: ast.AST, depth: int = 0) -> _Type:
        if depth > MAX_DEPTH:
            raise ValueError(f"breakpoint expression is nested too deeply (more than {MAX_DEPTH} levels)")
        method = getattr(self, "_" + type(node).__name__) if type(node) in _ALLOWED_NODES else None
        if method is None:
            what = _NODE_NAMES.get(type(node), f"'{type(node).__name__}' syntax")
            if isinstance(node, ast.Attribute) and isinstance(node.value.end_col_offset, int):
                return self._refuse(what, node.value.end_col_offset)
            raise ValueError(f"{what}: not allowed in a breakpoint expression{_where(node)}")
        result: _Type = method(node, depth + 1)
        return result

    @staticmethod
    def _refuse(what: str, col: int) -> _Type:
        raise ValueError(f"{what}: not allowed in a breakpoint expression at column {col + 1}")

    def _Constant(self, node: ast.Constant, depth: int) -> _Type:
        v = node.value
        if isinstance(v, bool):
            return _Type(0, boolean=True)
        if isinstance(v, (int, float)):
            if not abs(v) <= MAX_LITERAL:  # also refuses huge integer literals (no float overflow)
                raise ValueError(f"number {str(v)[:20]}... is too large{_where(node)}")
            return _Type(0)
        if isinstance(v, str):
            raise ValueError(f"strings are not allowed in a breakpoint expression{_where(node)}")
        raise ValueError(
            f"constant {type(v).__name__} is not allowed in a breakpoint expression{_where(node)}"
        )

    def _Name(self, node: ast.Name, depth: int) -> _Type:
        name = node.id
        if name.startswith("_"):
            raise ValueError(
                f"names starting with '_' are not allowed in a breakpoint expression{_where(node)}"
            )
        if name in EXPRESSION_FUNCTIONS:
            raise ValueError(f"{name} is a function: call it, e.g. {name}(h_grad_norm){_where(node)}")
        if name not in _NDIM:
            close = difflib.get_close_matches(name, list(_NDIM), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(sorted(n for n in _NDIM if n not in CONSTANTS))
            raise ValueError(f"unknown name {name!r} in breakpoint expression{hint}; known: {known}")
        self.names.add(name)
        return _Type(_NDIM[name], boolean=name in BOOL_FIELDS)

    def _UnaryOp(self, node: ast.UnaryOp, depth: int) -> _Type:
        t = self.check(node.operand, depth)
        if isinstance(node.op, ast.Not):
            if t.ndim:
                raise ValueError(f"'not' needs a single value; use any()/all() on arrays{_where(node)}")
            return _Type(0, boolean=True)
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            return _Type(t.ndim)
        raise ValueError(f"operator '~' is not allowed in a breakpoint expression{_where(node)}")

    def _BinOp(self, node: ast.BinOp, depth: int) -> _Type:
        if type(node.op) not in _BINOPS:
            raise ValueError(
                f"operator {type(node.op).__name__} is not allowed (use + - * / **){_where(node)}"
            )
        left = self.check(node.left, depth)
        if isinstance(node.op, ast.Pow):
            exp = _literal_number(node.right)
            if exp is None:
                raise ValueError(f"the exponent of '**' must be a number literal{_where(node.right)}")
            if abs(exp) > MAX_EXPONENT:
                raise ValueError(
                    f"exponent {exp:g} is too large (|exponent| <= {MAX_EXPONENT:g}){_where(node.right)}"
                )
            return _Type(left.ndim)
        right = self.check(node.right, depth)
        return _Type(max(left.ndim, right.ndim))

    def _BoolOp(self, node: ast.BoolOp, depth: int) -> _Type:
        word = "and" if isinstance(node.op, ast.And) else "or"
        for v in node.values:
            t = self.check(v, depth)
            if t.ndim:
                raise ValueError(f"'{word}' needs single values; use any()/all() on arrays{_where(v)}")
        return _Type(0, boolean=True)

    def _Compare(self, node: ast.Compare, depth: int) -> _Type:
        ndim = self.check(node.left, depth).ndim
        for op, comp in zip(node.ops, node.comparators, strict=True):
            if type(op) not in _CMPOPS:
                raise ValueError(
                    f"comparison {type(op).__name__} is not allowed (use < <= > >= == !=){_where(node)}"
                )
            ndim = max(ndim, self.check(comp, depth).ndim)
        if len(node.ops) > 1 and ndim:
            raise ValueError(f"chained comparisons need single values{_where(node)}")
        return _Type(ndim, boolean=True)

    def _Call(self, node: ast.Call, depth: int) -> _Type:
        if isinstance(node.func, ast.Attribute):
            return self.check(node.func, depth)  # refused: attribute access
        if not isinstance(node.func, ast.Name):
            raise ValueError(
                f"only the functions {', '.join(EXPRESSION_FUNCTIONS)} can be called{_where(node)}"
            )
        name = node.func.id
        if name not in EXPRESSION_FUNCTIONS:
            close = difflib.get_close_matches(name, list(EXPRESSION_FUNCTIONS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"unknown function {name!r} in breakpoint expression{hint}; known: {', '.join(EXPRESSION_FUNCTIONS)}"
            )
        if node.keywords:
            raise ValueError(f"keyword arguments are not allowed{_where(node)}")
        args = [self.check(a, depth) for a in node.args]
        n = len(args)
        if name in ("min", "max"):
            if n == 0:
                raise ValueError(f"{name}() needs at least one argument{_where(node)}")
            return _Type(0) if n == 1 else _Type(max(a.ndim for a in args))
        if n != 1:
            raise ValueError(f"{name}() takes exactly one argument, got {n}{_where(node)}")
        (arg,) = args
        if name in ("first", "last", "len"):
            if arg.ndim == 0:
                raise ValueError(f"{name}() needs an array, got a single value{_where(node)}")
            return _Type(0) if name == "len" else _Type(arg.ndim - 1, arg.boolean)
        if name in ("any", "all", "any_nonfinite"):
            return _Type(0, boolean=True)
        if name in ("mean", "sum", "std", "median"):
            return _Type(0)
        return _Type(arg.ndim)  # abs, log, log10, exp, sqrt

    def _Subscript(self, node: ast.Subscript, depth: int) -> _Type:
        base = self.check(node.value, depth)
        if base.ndim == 0:
            raise ValueError(f"a single value cannot be indexed{_where(node)}")
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if len(items) > base.ndim:
            raise ValueError(
                f"too many indices: {len(items)} for an array of {base.ndim} dimensions{_where(node)}"
            )
        dropped = 0
        for item in items:
            if isinstance(item, ast.Slice):
                for part in (item.lower, item.upper, item.step):
                    if part is not None and _literal_int(part) is None:
                        raise ValueError(f"slice bounds must be integer literals{_where(part)}")
                if item.step is not None and _literal_int(item.step) == 0:
                    raise ValueError(f"slice step cannot be zero{_where(item)}")
            elif _literal_int(item) is not None:
                dropped += 1
            else:
                raise ValueError(f"indices must be integer literals or slices like 0, -1, 2:5{_where(item)}")
        return _Type(base.ndim - dropped, base.boolean)


def _literal_number(node: ast.AST) -> float | None:
    sign = 1.0
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        if isinstance(node.op, ast.USub):
            sign = -sign
        node = node.operand
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and not isinstance(node.value, bool)
    ):
        if not abs(node.value) <= MAX_LITERAL:
            return None
        return sign * float(node.value)
    return None


def _literal_int(node: ast.AST) -> int | None:
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1, node.operand
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
        and abs(node.value) < 2**31
    ):
        return sign * node.value
    return None


def _reduce(fn: Callable[[np.ndarray], Any], x: Any) -> float:
    a = np.asarray(x, dtype=np.float64)
    if a.size == 0 or bool(np.all(np.isnan(a))):
        return math.nan
    return float(fn(a))


def _minmax(name: str, args: list[Any]) -> Any:
    if len(args) == 1:
        return _reduce(np.nanmin if name == "min" else np.nanmax, args[0])
    out = args[0]
    for a in args[1:]:
        out = np.fmin(out, a) if name == "min" else np.fmax(out, a)
    return out


_FUNCS: dict[str, Callable[[list[Any]], Any]] = {
    "abs": lambda a: np.abs(a[0]),
    "min": lambda a: _minmax("min", a),
    "max": lambda a: _minmax("max", a),
    "mean": lambda a: _reduce(np.nanmean, a[0]),
    "sum": lambda a: _reduce(np.nansum, a[0]),
    "std": lambda a: _reduce(np.nanstd, a[0]),
    "median": lambda a: _reduce(np.nanmedian, a[0]),
    "log": lambda a: np.log(a[0]),
    "log10": lambda a: np.log10(a[0]),
    "exp": lambda a: np.exp(a[0]),
    "sqrt": lambda a: np.sqrt(a[0]),
    "first": lambda a: np.asarray(a[0])[..., 0],
    "last": lambda a: np.asarray(a[0])[..., -1],
    "any": lambda a: bool(np.any(a[0])),
    "all": lambda a: bool(np.all(a[0])),
    "any_nonfinite": lambda a: bool(not np.all(np.isfinite(a[0]))),
    "len": lambda a: float(np.shape(a[0])[-1]),
}


def _array(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def _record_value(record: StepRecord, name: str) -> Any:
    """The value of ``name`` on ``record``; raises FieldUnavailable when the record lacks it."""
    if name in CONSTANTS:
        return CONSTANTS[name]
    if name == "clip_threshold":
        return math.nan if record.clip_threshold is None else float(record.clip_threshold)
    if name == "layers":
        return float(record.layers)
    if name == "timesteps":
        return float(record.h_grad_norm.shape[1])
    if name == "nonfinite":
        return record.nonfinite is not None
    if name in SCALAR_FIELDS:
        return float(getattr(record, name))
    if name in GATE_FIELDS:
        gates = record.gates
        gate = None if gates is None else gates.get(GATE_FIELDS[name])
        if gate is None:
            raise FieldUnavailable(name)
        return _array(gate)
    value = getattr(record, name)
    if value is None:
        raise FieldUnavailable(name)
    return _array(value)


def _interpret(node: ast.AST, env: Callable[[str], Any]) -> Any:
    if isinstance(node, ast.Constant):
        value = node.value
        assert isinstance(value, (bool, int, float))  # the checker refused everything else
        return value if isinstance(value, bool) else float(value)
    if isinstance(node, ast.Name):
        return env(node.id)
    if isinstance(node, ast.UnaryOp):
        v = _interpret(node.operand, env)
        if isinstance(node.op, ast.Not):
            return not bool(v)
        return -v if isinstance(node.op, ast.USub) else +v
    if isinstance(node, ast.BinOp):
        left = _interpret(node.left, env)
        if isinstance(node.op, ast.Pow):
            exp = _literal_number(node.right)
            assert exp is not None
            return np.power(_array(left), exp)
        right = _interpret(node.right, env)
        a, b = _array(left), _array(right)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        return np.true_divide(a, b)
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(bool(_interpret(v, env)) for v in node.values)
        return any(bool(_interpret(v, env)) for v in node.values)
    if isinstance(node, ast.Compare):
        left = _array(_interpret(node.left, env))
        result: Any = True
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _array(_interpret(comp, env))
            if isinstance(op, ast.Lt):
                r = left < right
            elif isinstance(op, ast.LtE):
                r = left <= right
            elif isinstance(op, ast.Gt):
                r = left > right
            elif isinstance(op, ast.GtE):
                r = left >= right
            elif isinstance(op, ast.Eq):
                r = left == right
            else:
                r = left != right
            result = r if result is True else np.logical_and(result, r)
            left = right
        return result
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return _FUNCS[node.func.id]([_interpret(a, env) for a in node.args])
    if isinstance(node, ast.Subscript):
        base = _array(_interpret(node.value, env))
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        index: list[int | slice] = []
        for item in items:
            if isinstance(item, ast.Slice):
                bounds = [None if p is None else _literal_int(p) for p in (item.lower, item.upper, item.step)]
                index.append(slice(*bounds))
            else:
                i = _literal_int(item)
                assert i is not None
                index.append(i)
        return base[tuple(index)]
    raise AssertionError(f"unchecked node {type(node).__name__}")  # the checker refused it


@dataclass(frozen=True)
class Expression:
    """A parsed, checked breakpoint expression. Build with :func:`parse_expression`."""

    text: str
    tree: ast.Expression = field(repr=False, compare=False)
    names: frozenset[str]

    @property
    def needs_frame(self) -> bool:
        return any(n in FRAME_ARRAYS for n in self.names)

    def evaluate(self, record: StepRecord) -> tuple[bool, float | None]:
        """(holds, value). ``value`` is the left side of a top-level comparison when that is a
        single number, else None. Raises ``FieldUnavailable`` when the record lacks a name the
        expression uses (a frame field on a step without a frame, ``gate_f`` of a GRU ...),
        other exceptions (IndexError ...) when evaluation fails."""
        cache: dict[str, Any] = {}

        def env(name: str) -> Any:
            if name not in cache:
                try:
                    cache[name] = _record_value(record, name)
                except FieldUnavailable:
                    raise FieldUnavailable(f"{name} is not available on step {record.step}") from None
            return cache[name]

        body = self.tree.body
        with np.errstate(all="ignore"):
            holds = bool(np.asarray(_interpret(body, env)))
            value = None
            if isinstance(body, ast.Compare):
                left = np.asarray(_interpret(body.left, env))
                if left.ndim == 0:
                    value = float(left)
        return holds, value


def parse_expression(text: str) -> Expression:
    """Parse and check ``text``; ValueError with a message that points at the problem."""
    if not isinstance(text, str):
        raise ValueError(f"a breakpoint expression must be text, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ValueError("breakpoint expression is empty")
    if len(stripped) > MAX_EXPRESSION_CHARS:
        raise ValueError(
            f"breakpoint expression is too long ({len(stripped)} > {MAX_EXPRESSION_CHARS} characters)"
        )
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise ValueError(f"cannot parse breakpoint expression{col}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ValueError(f"cannot parse breakpoint expression: {type(exc).__name__}") from None
    count = sum(1 for _ in ast.walk(tree))
    if count > MAX_NODES:
        raise ValueError(f"breakpoint expression is too complex ({count} > {MAX_NODES} syntax nodes)")
    checker = _Checker()
    result = checker.check(tree.body)
    if result.ndim:
        raise ValueError(
            "breakpoint expression gives an array, not one true/false value: "
            "wrap it in any(...), all(...), max(...) or index it, e.g. any(h_grad_norm > 100)"
        )
    if not result.boolean:
        raise ValueError("breakpoint expression must be a condition (e.g. loss > 3), not a number")
    return Expression(stripped, tree, frozenset(checker.names))


# ---------------------------------------------------------------------------
# breakpoints
# ---------------------------------------------------------------------------
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


def _fmt(v: float) -> str:
    return f"{v:.4g}"


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
        if self.kind in THRESHOLD_KINDS:
            if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)):
                raise ValueError(
                    f"breakpoint kind {self.kind} needs a numeric threshold; got {self.threshold!r}"
                )
            if math.isnan(self.threshold):
                raise ValueError(f"breakpoint threshold must be a number, not NaN ({self.kind})")
            self.threshold = float(self.threshold)
        elif self.threshold is not None:
            raise ValueError(f"breakpoint kind {self.kind} takes no threshold; got {self.threshold!r}")
        if self.kind == "expression":
            if self.expression is None:
                raise ValueError("breakpoint kind expression needs an expression")
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
        if self.kind == "forget_gate_below":
            return True
        return self._parsed is not None and self._parsed.needs_frame

    @property
    def label(self) -> str:
        return self.name or self.describe()

    def describe(self) -> str:
        layer = "" if self.layer is None else f" (layer {self.layer})"
        t = self.threshold
        if self.kind == "nonfinite":
            return "non-finite loss or gradient"
        if self.kind == "grad_norm_above":
            return f"grad norm > {t:g}"
        if self.kind == "loss_above":
            return f"loss > {t:g}"
        if self.kind == "forget_gate_below":
            return f"mean forget gate < {t:g}{layer}"
        if self.kind == "grad_ratio_below":
            return f"||dL/dh_first|| / ||dL/dh_last|| < {t:g}{layer}"
        return f"{self.expression}"

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
        check: Callable[[StepRecord], Hit | None] = getattr(self, "_hit_" + self.kind)
        return check(record)

    def _make(self, record: StepRecord, value: float | None, message: str, **where: Any) -> Hit:
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

    def _hit_nonfinite(self, record: StepRecord) -> Hit | None:
        nf = record.nonfinite
        loss, norm = record.loss, record.grad_norm
        if nf is not None:
            value = loss if not math.isfinite(loss) else norm
            bits = [nf.part, None if nf.layer is None else f"layer {nf.layer}"]
            bits += [None if nf.timestep is None else f"t={nf.timestep}", nf.detail]
            return self._make(
                record,
                value,
                f"NaN/Inf in the {nf.where}",
                part=nf.part,
                layer=nf.layer,
                timestep=nf.timestep,
                where=", ".join(b for b in bits if b),
            )
        if not math.isfinite(loss):
            return self._make(record, loss, f"loss is {loss}")
        if not math.isfinite(norm):
            return self._make(record, norm, f"gradient norm is {norm} (the norm overflowed)")
        for what, arr in (("||dL/dh_t||", record.h_grad_norm), ("||dL/dc_t||", record.c_grad_norm)):
            if arr is None:
                continue
            bad = np.isinf(arr)
            if bad.any():
                part, layer, t = _locate_latest(record, bad)
                return self._make(
                    record,
                    float(arr[layer, _concat_index(record, part, t)]),
                    f"{what} overflowed to inf",
                    part=part,
                    layer=layer,
                    timestep=t,
                )
        return None

    def _hit_grad_norm_above(self, record: StepRecord) -> Hit | None:
        assert self.threshold is not None
        v = record.grad_norm
        if v > self.threshold:
            extra = ""
            if record.clip_threshold is not None:
                extra = f", clipped to {_fmt(record.grad_norm_clipped)}"
            return self._make(record, v, f"gradient norm {_fmt(v)} > {self.threshold:g}{extra}")
        return None

    def _hit_loss_above(self, record: StepRecord) -> Hit | None:
        assert self.threshold is not None
        v = record.loss
        if v > self.threshold:
            return self._make(record, v, f"loss {_fmt(v)} > {self.threshold:g}")
        return None

    def _hit_forget_gate_below(self, record: StepRecord) -> Hit | None:
        assert self.threshold is not None
        worst: tuple[float, str, int] | None = None
        for name, part in record.parts.items():
            gate = None if part.gates is None else part.gates.get("f")
            if gate is None:
                continue
            n = part.probe_length if part.probe_length is not None else gate.shape[1]
            layers = range(gate.shape[0]) if self.layer is None else [self.layer]
            for layer in layers:
                if layer >= gate.shape[0]:
                    continue
                values = gate[layer, :n]
                if values.size == 0:
                    continue
                mean = float(np.mean(values))
                if math.isfinite(mean) and (worst is None or mean < worst[0]):
                    worst = (mean, name, layer)
        if worst is None or not worst[0] < self.threshold:
            return None
        mean, part_name, layer = worst
        part_label = part_name if len(record.parts) > 1 else None
        return self._make(
            record, mean, f"mean forget gate {mean:.3f} < {self.threshold:g}", part=part_label, layer=layer
        )

    def _hit_grad_ratio_below(self, record: StepRecord) -> Hit | None:
        assert self.threshold is not None
        norms = record.h_grad_norm
        layer = norms.shape[0] - 1 if self.layer is None else self.layer
        if layer >= norms.shape[0]:
            return None
        row = np.asarray(norms[layer], dtype=np.float64)
        valid = np.flatnonzero(~np.isnan(row))
        if valid.size < 2:
            return None
        first, last = int(valid[0]), int(valid[-1])
        num, den = row[first], row[last]
        if not (math.isfinite(num) and math.isfinite(den)) or den <= 0.0:
            return None
        ratio = float(num / den)
        if ratio < self.threshold:
            return self._make(
                record,
                ratio,
                f"||dL/dh_{first}|| / ||dL/dh_{last}|| = {ratio:.3g} < {self.threshold:g}",
                layer=layer,
                where=f"layer {layer}, t={first} vs t={last}",
            )
        return None

    def _hit_expression(self, record: StepRecord) -> Hit | None:
        assert self._parsed is not None
        try:
            holds, value = self._parsed.evaluate(record)
        except FieldUnavailable:
            return None  # not evaluable on this record (no frame, no such gate)
        except Exception as exc:
            msg = f"{type(exc).__name__}: {exc}"
            return self._make(record, None, f"breakpoint expression failed: {msg}", error=msg)
        if not holds:
            return None
        shown = "" if value is None else f" (left side = {_fmt(value)})"
        return self._make(record, value, f"{self.expression}{shown}")


def _concat_index(record: StepRecord, part: str | None, t: int) -> int:
    if part is None:
        return t
    return record.part_slices[part].start + t


def _locate_latest(record: StepRecord, bad: np.ndarray) -> tuple[str | None, int, int]:
    """(part, layer, t) of the latest bad timestep, top layer first (the first place the
    backward pass meets); ``part`` is None for single-part models."""
    for layer in range(bad.shape[0] - 1, -1, -1):
        idx = np.flatnonzero(bad[layer])
        if idx.size:
            t = int(idx[-1])
            if len(record.parts) == 1:
                return None, layer, t
            for name, sl in record.part_slices.items():
                if sl.start <= t < sl.stop:
                    return name, layer, t - sl.start
    raise AssertionError("no bad entry")


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
