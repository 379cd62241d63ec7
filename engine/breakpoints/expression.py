"""The breakpoint expression language: a condition over a StepRecord's fields.

-------------------
Parsed with ``ast.parse(text, mode="eval")`` and walked over a whitelist of node types;
evaluated by the small interpreter in this module, never by ``eval``/``exec``/``compile``.
Allowed: numbers, the names in :data:`EXPRESSION_NAMES` (record fields; arrays are numpy
float64), ``+ - * / **`` (the exponent must be a number literal with |e| <= 64), unary
minus/plus, comparisons (``< <= > >= == !=``, chained), ``and or not`` on single values, calls
to the functions in :data:`FUNCTIONS`, and indexing arrays with integer literals
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

Functions live in one registry (:data:`FUNCTIONS`): one :class:`Function` row per name with
its help text, its shape rule (how the checker types a call before anything runs) and its
implementation; :func:`register_function` adds one. Names come from the record's own field
list (``engine.record.FRAME_ARRAYS``) plus the scalars and summary arrays below.
"""

from __future__ import annotations

import ast
import difflib
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnscope.engine.record import FRAME_ARRAYS as RECORD_FRAME_ARRAYS
from rnnscope.engine.record import StepRecord

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


# ---------------------------------------------------------------------------
# functions: one row per name
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Type:
    ndim: int
    boolean: bool = False


# A shape rule types a call from its arguments' types before anything runs; it raises
# ValueError (the checker adds the column) when the call cannot be right.
ShapeRule = Callable[[str, list[_Type]], _Type]


def _one(name: str, args: list[_Type]) -> _Type:
    if len(args) != 1:
        raise ValueError(f"{name}() takes exactly one argument, got {len(args)}")
    return args[0]


def elementwise(name: str, args: list[_Type]) -> _Type:
    """f(x): the shape of x (abs, log ...)."""
    return _Type(_one(name, args).ndim)


def reducing(name: str, args: list[_Type]) -> _Type:
    """f(x): one number from all of x's elements (mean, sum ...)."""
    _one(name, args)
    return _Type(0)


def predicate(name: str, args: list[_Type]) -> _Type:
    """f(x): one true/false value from all of x's elements (any, all ...)."""
    _one(name, args)
    return _Type(0, boolean=True)


def along_last_axis(name: str, args: list[_Type]) -> _Type:
    """f(x): x with its last axis taken away (first, last)."""
    arg = _one(name, args)
    if arg.ndim == 0:
        raise ValueError(f"{name}() needs an array, got a single value")
    return _Type(arg.ndim - 1, arg.boolean)


def axis_length(name: str, args: list[_Type]) -> _Type:
    """f(x): the size of x's last axis."""
    if _one(name, args).ndim == 0:
        raise ValueError(f"{name}() needs an array, got a single value")
    return _Type(0)


def reducing_or_elementwise(name: str, args: list[_Type]) -> _Type:
    """f(x) reduces x to one number; f(a, b, ...) works elementwise (min, max)."""
    if not args:
        raise ValueError(f"{name}() needs at least one argument")
    return _Type(0) if len(args) == 1 else _Type(max(a.ndim for a in args))


@dataclass(frozen=True)
class Function:
    """One function of the language: its name, its help line, how a call is typed (one of
    the shape rules above, never a default) and what it computes from evaluated arguments."""

    name: str
    help: str
    shape: ShapeRule
    run: Callable[[list[Any]], Any]


FUNCTIONS: dict[str, Function] = {}


def register_function(fn: Function) -> Function:
    """Add ``fn`` to the language (ValueError if the name is taken or not an identifier)."""
    if not fn.name.isidentifier() or fn.name in FUNCTIONS or fn.name in EXPRESSION_NAMES:
        raise ValueError(f"cannot register breakpoint function {fn.name!r}: not a free identifier")
    FUNCTIONS[fn.name] = fn
    return fn


class _Help(Mapping[str, str]):
    """name -> help line of every registered function (follows the registry)."""

    def __getitem__(self, name: str) -> str:
        return FUNCTIONS[name].help

    def __iter__(self) -> Iterator[str]:
        return iter(FUNCTIONS)

    def __len__(self) -> int:
        return len(FUNCTIONS)


EXPRESSION_FUNCTIONS: Mapping[str, str] = _Help()


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


def _reducer(fn: Callable[[np.ndarray], Any]) -> Callable[[list[Any]], float]:
    return lambda a: _reduce(fn, a[0])


for _fn in (
    Function("abs", "abs(x): elementwise absolute value", elementwise, lambda a: np.abs(a[0])),
    Function(
        "min",
        "min(x): smallest element (NaN ignored); min(a, b, ...): elementwise minimum",
        reducing_or_elementwise,
        lambda a: _minmax("min", a),
    ),
    Function(
        "max",
        "max(x): largest element (NaN ignored); max(a, b, ...): elementwise maximum",
        reducing_or_elementwise,
        lambda a: _minmax("max", a),
    ),
    Function("mean", "mean(x): mean of all elements (NaN ignored)", reducing, _reducer(np.nanmean)),
    Function("sum", "sum(x): sum of all elements (NaN ignored)", reducing, _reducer(np.nansum)),
    Function(
        "std", "std(x): standard deviation of all elements (NaN ignored)", reducing, _reducer(np.nanstd)
    ),
    Function("median", "median(x): median of all elements (NaN ignored)", reducing, _reducer(np.nanmedian)),
    Function("log", "log(x): natural logarithm, elementwise", elementwise, lambda a: np.log(a[0])),
    Function("log10", "log10(x): base-10 logarithm, elementwise", elementwise, lambda a: np.log10(a[0])),
    Function("exp", "exp(x): elementwise", elementwise, lambda a: np.exp(a[0])),
    Function("sqrt", "sqrt(x): elementwise", elementwise, lambda a: np.sqrt(a[0])),
    Function(
        "first",
        "first(x): x[..., 0], the first entry along the last axis (time for (layers, T))",
        along_last_axis,
        lambda a: np.asarray(a[0])[..., 0],
    ),
    Function(
        "last",
        "last(x): x[..., -1], the last entry along the last axis",
        along_last_axis,
        lambda a: np.asarray(a[0])[..., -1],
    ),
    Function("any", "any(cond): true if any element is true", predicate, lambda a: bool(np.any(a[0]))),
    Function("all", "all(cond): true if every element is true", predicate, lambda a: bool(np.all(a[0]))),
    Function(
        "any_nonfinite",
        "any_nonfinite(x): true if x holds a NaN or +-inf",
        predicate,
        lambda a: bool(not np.all(np.isfinite(a[0]))),
    ),
    Function("len", "len(x): size of the last axis", axis_length, lambda a: float(np.shape(a[0])[-1])),
):
    register_function(_fn)


# ---------------------------------------------------------------------------
# expression parser and interpreter
# ---------------------------------------------------------------------------
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
        if name not in FUNCTIONS:
            close = difflib.get_close_matches(name, list(FUNCTIONS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"unknown function {name!r} in breakpoint expression{hint}; known: {', '.join(EXPRESSION_FUNCTIONS)}"
            )
        if node.keywords:
            raise ValueError(f"keyword arguments are not allowed{_where(node)}")
        args = [self.check(a, depth) for a in node.args]
        try:
            return FUNCTIONS[name].shape(name, args)
        except ValueError as exc:
            raise ValueError(f"{exc}{_where(node)}") from None

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
        return FUNCTIONS[node.func.id].run([_interpret(a, env) for a in node.args])
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
