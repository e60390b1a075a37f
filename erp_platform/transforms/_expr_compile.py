"""Type inference and compilation of expression ASTs into polars expressions.

One pass does both: every node gets a logical type (so validation reports ``amount + 'x'``, unknown
columns and wrong arities before any data is read) and a polars expression. ``now()`` and
``random_id()`` come from the :class:`ExecutionContext`, never from the wall clock.

Semantics worth knowing: ``/`` is true division (``7 / 2`` is 3.5) and a division or ``%`` by zero
is null; ``%`` takes the sign of the dividend, as in SQL; decimal ``+ - %`` keep the larger scale of
their operands, ``*`` adds the scales (at most 12) and ``/`` uses at least 6 decimals; ``round`` rounds
half away from zero; ``||`` with a null is null while ``concat()`` skips nulls; a text literal compared
with a date or timestamp is read as one (``order_date >= '2024-01-01'``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl

from erp_platform.transforms import _logical as lt
from erp_platform.transforms import _overflow as overflow
from erp_platform.transforms._context import ExecutionContext
from erp_platform.transforms._convert import Check, conversion_rule, convert, refusal_hint, to_text
from erp_platform.transforms._errors import ExpressionError
from erp_platform.transforms._expr_ast import (
    Between,
    Binary,
    Call,
    Cast,
    ColumnRef,
    Expr,
    InList,
    IsNull,
    Literal,
    Unary,
)
from erp_platform.transforms._expr_parser import parse_expression
from erp_platform.transforms._names import closest_first, expression_name

_TRUNC_UNITS = {"year": "1y", "quarter": "1q", "month": "1mo", "week": "1w", "day": "1d", "hour": "1h",
                "minute": "1m", "second": "1s"}
_ARITY: dict[str, tuple[int, int | None]] = {
    "lower": (1, 1), "upper": (1, 1), "trim": (1, 1), "length": (1, 1), "substr": (2, 3),
    "concat": (1, None), "coalesce": (1, None), "round": (1, 2), "abs": (1, 1), "floor": (1, 1),
    "ceil": (1, 1), "if": (3, 3), "to_date": (1, 1), "to_timestamp": (1, 1), "year": (1, 1),
    "month": (1, 1), "day": (1, 1), "date_trunc": (2, 2), "now": (0, 0), "random_id": (0, 0),
}
MUL_MAX_SCALE = 12
DIV_MIN_SCALE = 6


@dataclass(frozen=True)
class CompiledExpression:
    """A checked, compiled expression: its polars form, logical type and the checked conversions in it."""

    text: str
    expr: pl.Expr
    type: str
    checks: tuple[Check, ...]
    random_sites: int = 0


def compile_expression(text: str, schema: Mapping[str, str], *, ctx: ExecutionContext | None = None,
                       first_random_site: int = 0, where: str | None = None) -> CompiledExpression:
    """Parse, type-check and compile ``text`` against ``schema``.

    Args:
        text: the expression.
        schema: logical type of every column the expression may reference.
        ctx: run context for ``now()`` and ``random_id()`` (None: type-check only).
        first_random_site: index of this expression's first ``random_id()`` call within the step, so two
            calls in one transform never produce the same ids.
        where: what runs the expression, for errors met on the data (default: the transform's step).

    Raises:
        ExpressionError: syntax, unknown column or function, wrong arity, or a type mismatch.

    Integer and decimal arithmetic is checked on the data: a result that overflows its type raises
    ConversionError (naming ``where``, the operation in ``text`` and the rows) when the frame is collected.
    """
    node = parse_expression(text)
    if where is None:
        where = f"transform {ctx.workflow}.{ctx.step}" if ctx else "expression"
    compiler = _Compiler(text, schema, ctx, first_random_site, where)
    typed = compiler.visit(node)
    return CompiledExpression(text, typed.expr, typed.type, tuple(compiler.checks),
                              compiler.site - first_random_site)


def infer_type(text: str, schema: Mapping[str, str]) -> str:
    """The logical type of expression ``text`` over ``schema`` (raises ExpressionError if invalid)."""
    return compile_expression(text, schema).type


@dataclass(frozen=True)
class _Typed:
    expr: pl.Expr
    type: str
    node: Expr


@dataclass
class _Compiler:
    text: str
    schema: Mapping[str, str]
    ctx: ExecutionContext | None
    site: int
    where: str
    checks: list[Check] = field(default_factory=list)

    def fail(self, node: Expr, reason: str) -> ExpressionError:
        return ExpressionError(self.text, node.pos, reason)

    def visit(self, node: Expr) -> _Typed:
        if isinstance(node, Literal):
            return self._literal(node)
        if isinstance(node, ColumnRef):
            name = self._resolve(node)
            return _Typed(pl.col(name), self.schema[name], node)
        if isinstance(node, Unary):
            return self._unary(node)
        if isinstance(node, Binary):
            return self._binary(node)
        if isinstance(node, IsNull):
            operand = self.visit(node.operand)
            out = operand.expr.is_not_null() if node.negated else operand.expr.is_null()
            return _Typed(out, lt.BOOLEAN, node)
        if isinstance(node, InList):
            return self._in_list(node)
        if isinstance(node, Between):
            return self._between(node)
        if isinstance(node, Cast):
            return self._cast(node)
        return self._call(node)

    # -- leaves and operators ---------------------------------------------------------------------
    def _resolve(self, node: ColumnRef) -> str:
        """The schema column ``node`` names: exactly; a bare name also case-insensitively when only one
        column fits. Errors suggest the spelling that resolves (quoted when it needs to be)."""
        if node.name in self.schema:
            return node.name
        names = list(self.schema)
        if not node.quoted:
            folded = [c for c in names if c.casefold() == node.name.casefold()]
            if len(folded) == 1:
                return folded[0]
            if folded:
                forms = " or ".join(expression_name(c) for c in folded)
                raise self.fail(node, f"{node.name!r} matches several columns that differ only in case: write "
                                      f"the one you mean exactly, in double quotes: {forms}")
        close = closest_first(node.name, names, limit=1)
        hint = f" (did you mean {expression_name(close[0])}?)" if close else ""
        if node.quoted and not close:
            hint = f" (text is written in single quotes: {_single_quoted(node.name)})"
        written = '"' + node.name.replace('"', '""') + '"' if node.quoted else repr(node.name)
        return self._unknown(node, written, hint, names)

    def _unknown(self, node: ColumnRef, written: str, hint: str, names: list[str]) -> str:
        known = ", ".join(expression_name(c) for c in names) or "(none)"
        raise self.fail(node, f"unknown column {written}{hint}: available columns are {known}")

    def _literal(self, node: Literal) -> _Typed:
        value = node.value
        if value is None:
            return _Typed(pl.lit(None), lt.UNKNOWN, node)
        if isinstance(value, bool):
            return _Typed(pl.lit(value, dtype=pl.Boolean()), lt.BOOLEAN, node)
        if isinstance(value, int):
            return _Typed(pl.lit(value, dtype=pl.Int64()), lt.BIGINT, node)
        if isinstance(value, Decimal):
            scale = max(0, -int(value.as_tuple().exponent))
            type_ = lt.numeric(lt.MAX_PRECISION, scale)
            return _Typed(pl.lit(value, dtype=lt.dtype_of(type_)), type_, node)
        return _Typed(pl.lit(value, dtype=pl.String()), lt.TEXT, node)

    def _boolean(self, typed: _Typed, what: str) -> pl.Expr:
        if typed.type not in (lt.BOOLEAN, lt.UNKNOWN):
            raise self.fail(typed.node, f"{what} needs a boolean, got {typed.type}; compare it, e.g. x > 0")
        return typed.expr.cast(pl.Boolean())

    def _unary(self, node: Unary) -> _Typed:
        operand = self.visit(node.operand)
        if node.op == "not":
            return _Typed(~self._boolean(operand, "not"), lt.BOOLEAN, node)
        if not lt.is_number(operand.type) and operand.type != lt.UNKNOWN:
            raise self.fail(node, f"unary - needs a number, got {operand.type}")
        type_ = operand.type if operand.type != lt.UNKNOWN else lt.BIGINT
        if type_ == lt.BIGINT:
            return self._checked(node, (operand.expr.cast(pl.Int64()),), overflow.wide_integer("-"), type_)
        return _Typed(-operand.expr, type_, node)

    def _binary(self, node: Binary) -> _Typed:
        left, right = self.visit(node.left), self.visit(node.right)
        if node.op in ("and", "or"):
            a, b = self._boolean(left, node.op), self._boolean(right, node.op)
            return _Typed(a & b if node.op == "and" else a | b, lt.BOOLEAN, node)
        if node.op == "||":
            return _Typed(to_text(left.expr, left.type) + to_text(right.expr, right.type), lt.TEXT, node)
        if node.op in ("+", "-", "*", "/", "%"):
            return self._arithmetic(node, left, right)
        left, right, common = self._comparable(node, left, right)
        ops: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
            "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
        }
        if node.op not in ("=", "!=") and common in (lt.JSONB, lt.BOOLEAN):
            raise self.fail(node, f"operator {node.op} cannot order {common} values; use = or !=")
        return _Typed(ops[node.op](left.expr, right.expr), lt.BOOLEAN, node)

    def _arithmetic(self, node: Binary, left: _Typed, right: _Typed) -> _Typed:
        for side in (left, right):
            if not lt.is_number(side.type) and side.type != lt.UNKNOWN:
                raise self.fail(node, f"operator {node.op} needs numbers, got {left.type} and {right.type}; "
                                      "cast the text with cast(x as numeric(12,2)) or use || to join text")
        types = {left.type, right.type} - {lt.UNKNOWN} or {lt.BIGINT}
        if lt.DOUBLE in types:
            result = lt.DOUBLE
        elif types <= {lt.BIGINT, lt.INTEGER}:
            result = lt.DOUBLE if node.op == "/" else lt.BIGINT
        else:
            scales = [(lt.numeric_of(t) or (0, 0))[1] for t in types]
            scale = max(scales)
            if node.op == "*":
                both = sum((lt.numeric_of(t) or (0, 0))[1] for t in (left.type, right.type))
                scale = min(both, MUL_MAX_SCALE)
                scale = max(scale, *scales)
            elif node.op == "/":
                scale = max(scale, DIV_MIN_SCALE)
            result = lt.numeric(lt.MAX_PRECISION, scale)
        dtype = lt.dtype_of(result)
        a, b = left.expr.cast(dtype), right.expr.cast(dtype)
        numeric = lt.numeric_of(result)
        if result == lt.BIGINT and node.op in ("+", "-", "*"):
            return self._checked(node, (a, b), overflow.wide_integer(node.op), result)
        if numeric is not None:
            operation = overflow.decimal(node.op, dtype, numeric[1], _operation)
            return self._checked(node, (left.expr, right.expr), operation, result)
        return _Typed(_operation(node.op, a, b, dtype), result, node)

    def _checked(self, node: Binary | Unary | Call, operands: tuple[pl.Expr, ...],
                 operation: overflow.Operation, result: str) -> _Typed:
        """An operation that fails the step, naming this expression and the rows, where it overflows."""
        what = node.name if isinstance(node, Call) else node.op

        def shown(values: Sequence[object]) -> str:
            if len(values) == 2:
                return f"{values[0]} {what} {values[1]}"
            return f"{what}({values[0]})" if isinstance(node, Call) else f"{what}{values[0]}"

        label = f"{what}()" if isinstance(node, Call) else what
        out = overflow.checked(operands, operation, dtype=lt.dtype_of(result), target=result, shown=shown,
                               where=self.where, subject=f"{label} at character {node.pos + 1} of {self.text!r}",
                               divides=what in ("/", "%"))
        return _Typed(out, result, node)

    def _common(self, node: Expr, types: list[str]) -> str:
        known = [t for t in types if t != lt.UNKNOWN]
        if not known:
            return lt.UNKNOWN
        if all(t == known[0] for t in known):
            return known[0]
        if all(lt.is_number(t) for t in known):
            if lt.DOUBLE in known:
                return lt.DOUBLE
            if all(lt.is_integer(t) for t in known):
                return lt.BIGINT
            return lt.numeric(lt.MAX_PRECISION, max((lt.numeric_of(t) or (0, 0))[1] for t in known))
        if set(known) <= {lt.DATE, lt.TIMESTAMPTZ}:
            return lt.TIMESTAMPTZ
        if set(known) <= {lt.TEXT, lt.JSONB}:
            return lt.TEXT
        raise self.fail(node, f"values of types {', '.join(dict.fromkeys(known))} cannot be combined; "
                              "cast them to one type first, e.g. cast(x as text)")

    def _unify(self, node: Expr, items: list[_Typed],
               mismatch: str | None = None) -> tuple[list[_Typed], str]:
        """Bring ``items`` to one type (text literals become dates/timestamps next to those).

        ``mismatch`` replaces the generic message when the types cannot be combined.
        """
        temporal = [t.type for t in items if lt.is_temporal(t.type)]
        if temporal:
            target = lt.TIMESTAMPTZ if lt.TIMESTAMPTZ in temporal else lt.DATE
            items = [self._temporal_literal(t, target) for t in items]
        try:
            common = self._common(node, [t.type for t in items])
        except ExpressionError:
            if mismatch is None:
                raise
            raise self.fail(node, mismatch) from None
        if common == lt.UNKNOWN:
            return items, common
        dtype = lt.dtype_of(common)
        cast = [_Typed(t.expr if t.type == common else t.expr.cast(dtype), common, t.node) for t in items]
        return cast, common

    def _temporal_literal(self, typed: _Typed, target: str) -> _Typed:
        if not (isinstance(typed.node, Literal) and isinstance(typed.node.value, str)):
            return typed
        text = typed.node.value
        try:
            if target == lt.DATE:
                value: date = date.fromisoformat(text)
            else:
                value = datetime.fromisoformat(text.replace("Z", "+00:00"))
                value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except ValueError:
            form = "YYYY-MM-DD" if target == lt.DATE else "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+00:00"
            raise self.fail(typed.node, f"{text!r} is not a valid {target}: write it as {form}") from None
        return _Typed(pl.lit(value, dtype=lt.dtype_of(target)), target, typed.node)

    def _comparable(self, node: Expr, left: _Typed, right: _Typed) -> tuple[_Typed, _Typed, str]:
        mismatch = f"cannot compare {left.type} with {right.type}; cast one side, e.g. cast(x as text)"
        (a, b), common = self._unify(node, [left, right], mismatch)
        return a, b, common

    def _in_list(self, node: InList) -> _Typed:
        operand = self.visit(node.operand)
        items = [self.visit(item) for item in node.items]
        kinds = ", ".join(dict.fromkeys(i.type for i in items))
        mismatch = f"in: the list ({kinds}) does not match the {operand.type} value"
        unified, _ = self._unify(node, [operand, *items], mismatch)
        value = unified[0].expr
        found = pl.any_horizontal([value == item.expr for item in unified[1:]])
        out = found if not node.negated else ~found
        return _Typed(out, lt.BOOLEAN, node)

    def _between(self, node: Between) -> _Typed:
        operand, low, high = self.visit(node.operand), self.visit(node.low), self.visit(node.high)
        mismatch = (f"between: bounds of types {low.type} and {high.type} do not match the "
                    f"{operand.type} value")
        (value, lo, hi), common = self._unify(node, [operand, low, high], mismatch)
        if common in (lt.JSONB, lt.BOOLEAN):
            raise self.fail(node, f"between cannot order {common} values")
        inside = (value.expr >= lo.expr) & (value.expr <= hi.expr)
        return _Typed(~inside if node.negated else inside, lt.BOOLEAN, node)

    def _cast(self, node: Cast) -> _Typed:
        operand = self.visit(node.operand)
        return self._convert(node, operand, node.type_name, f"cast(... as {node.type_name})")

    def _convert(self, node: Expr, operand: _Typed, target: str, what: str) -> _Typed:
        rule = conversion_rule(operand.type, target)
        if rule == "refused":
            raise self.fail(node, f"{what}: cannot convert {operand.type} to {target}: "
                                  f"{refusal_hint(operand.type, target)}")
        out = convert(operand.expr, operand.type, target)
        if rule == "checked":
            subject = f"{what} at character {node.pos + 1} of {self.text!r}"
            self.checks.append(Check(subject, target, operand.expr, out))
        return _Typed(out, target, node)

    # -- functions --------------------------------------------------------------------------------
    def _call(self, node: Call) -> _Typed:
        low, high = _ARITY[node.name]
        count = len(node.args)
        if count < low or (high is not None and count > high):
            want = str(low) if low == high else (f"{low} or more" if high is None else f"{low} to {high}")
            plural = "s" if want != "1" else ""
            raise self.fail(node, f"{node.name}() takes {want} argument{plural}, got {count}")
        if node.name in ("now", "random_id"):
            return self._context_call(node)
        if node.name == "date_trunc":
            return self._date_trunc(node)
        if node.name == "round":
            return self._round(node)
        args = [self.visit(arg) for arg in node.args]
        name = node.name
        if name in ("lower", "upper", "trim", "length"):
            text = self._require(args[0], name, (lt.TEXT,))
            ops = {"lower": text.str.to_lowercase(), "upper": text.str.to_uppercase(),
                   "trim": text.str.strip_chars(), "length": text.str.len_chars().cast(pl.Int64())}
            return _Typed(ops[name], lt.BIGINT if name == "length" else lt.TEXT, node)
        if name == "substr":
            return self._substr(node, args)
        if name == "concat":
            parts = [to_text(a.expr, a.type) for a in args]
            return _Typed(pl.concat_str(parts, ignore_nulls=True), lt.TEXT, node)
        if name == "coalesce":
            unified, common = self._unify(node, args)
            return _Typed(pl.coalesce([u.expr for u in unified]), common, node)
        if name in ("abs", "floor", "ceil"):
            return self._math(node, args[0])
        if name == "if":
            cond = self._boolean(args[0], "the first argument of if()")
            (then, other), common = self._unify(node, args[1:])
            return _Typed(pl.when(cond).then(then.expr).otherwise(other.expr), common, node)
        if name in ("to_date", "to_timestamp"):
            target = lt.DATE if name == "to_date" else lt.TIMESTAMPTZ
            self._require(args[0], name, (lt.TEXT, lt.DATE, lt.TIMESTAMPTZ))
            return self._convert(node, args[0], target, f"{name}()")
        part = self._require(args[0], name, (lt.DATE, lt.TIMESTAMPTZ))  # year, month, day
        fields = {"year": part.dt.year(), "month": part.dt.month(), "day": part.dt.day()}
        return _Typed(fields[name].cast(pl.Int32()), lt.INTEGER, node)

    def _require(self, typed: _Typed, name: str, allowed: tuple[str, ...]) -> pl.Expr:
        if typed.type not in (*allowed, lt.UNKNOWN):
            raise self.fail(typed.node, f"{name}() needs {' or '.join(allowed)}, got {typed.type}")
        if typed.type == lt.UNKNOWN:
            return typed.expr.cast(lt.dtype_of(allowed[0]))
        return typed.expr

    def _integer_arg(self, typed: _Typed, name: str) -> pl.Expr:
        if not lt.is_integer(typed.type) and typed.type != lt.UNKNOWN:
            raise self.fail(typed.node, f"{name}() needs an integer here, got {typed.type}")
        return typed.expr.cast(pl.Int64())

    def _substr(self, node: Call, args: list[_Typed]) -> _Typed:
        text = self._require(args[0], "substr", (lt.TEXT,))
        start = self._integer_arg(args[1], "substr")
        offset = pl.when(start > 1).then(start - 1).otherwise(0)
        length = None if len(args) < 3 else self._integer_arg(args[2], "substr")
        if length is not None:  # a start before 1 eats into the length, as in SQL
            length = pl.max_horizontal(length + pl.min_horizontal(start - 1, 0), 0)
        return _Typed(text.str.slice(offset, length), lt.TEXT, node)

    def _math(self, node: Call, arg: _Typed) -> _Typed:
        if not lt.is_number(arg.type) and arg.type != lt.UNKNOWN:
            raise self.fail(arg.node, f"{node.name}() needs a number, got {arg.type}")
        type_ = lt.BIGINT if arg.type == lt.UNKNOWN else arg.type
        expr = arg.expr.cast(lt.dtype_of(type_))
        if node.name == "abs":
            if type_ == lt.BIGINT:
                return self._checked(node, (expr,), overflow.wide_integer("abs"), type_)
            return _Typed(expr.abs(), type_, node)
        if lt.is_integer(type_):
            return _Typed(expr, type_, node)
        out = expr.floor() if node.name == "floor" else expr.ceil()
        if lt.numeric_of(type_) is not None:
            type_ = lt.numeric(lt.MAX_PRECISION, 0)
            out = out.cast(lt.dtype_of(type_))
        return _Typed(out, type_, node)

    def _round(self, node: Call) -> _Typed:
        arg = self.visit(node.args[0])
        digits = 0
        if len(node.args) == 2:
            given = node.args[1]
            if not (isinstance(given, Literal) and type(given.value) is int and 0 <= given.value <= 18):
                raise self.fail(given, "round() takes the number of decimals as an integer literal 0 to 18, "
                                       "e.g. round(amount, 2)")
            digits = int(given.value)
        if not lt.is_number(arg.type) and arg.type != lt.UNKNOWN:
            raise self.fail(arg.node, f"round() needs a number, got {arg.type}")
        if arg.type in (lt.UNKNOWN, lt.BIGINT, lt.INTEGER):
            return _Typed(arg.expr, lt.BIGINT if arg.type == lt.UNKNOWN else arg.type, node)
        rounded = arg.expr.round(digits, mode="half_away_from_zero")
        if arg.type == lt.DOUBLE:
            return _Typed(rounded, lt.DOUBLE, node)
        type_ = lt.numeric(lt.MAX_PRECISION, digits)
        return _Typed(rounded.cast(lt.dtype_of(type_)), type_, node)

    def _date_trunc(self, node: Call) -> _Typed:
        unit_node = node.args[0]
        if not (isinstance(unit_node, Literal) and isinstance(unit_node.value, str)
                and unit_node.value.lower() in _TRUNC_UNITS):
            raise self.fail(unit_node, f"date_trunc() takes the unit as a text literal: one of "
                                       f"{', '.join(repr(u) for u in _TRUNC_UNITS)}")
        unit = unit_node.value.lower()
        arg = self.visit(node.args[1])
        value = self._require(arg, "date_trunc", (lt.TIMESTAMPTZ, lt.DATE))
        type_ = lt.TIMESTAMPTZ if arg.type == lt.UNKNOWN else arg.type
        if type_ == lt.DATE and unit in ("hour", "minute", "second"):
            return _Typed(value, type_, node)
        return _Typed(value.dt.truncate(_TRUNC_UNITS[unit]), type_, node)

    def _context_call(self, node: Call) -> _Typed:
        if node.name == "now":
            started = self.ctx.now() if self.ctx else datetime(1970, 1, 1, tzinfo=UTC)
            started = started.replace(tzinfo=UTC) if started.tzinfo is None else started.astimezone(UTC)
            return _Typed(pl.lit(started, dtype=lt.dtype_of(lt.TIMESTAMPTZ)), lt.TIMESTAMPTZ, node)
        seed = self.ctx.seeded_id(self.site) if self.ctx else ""
        self.site += 1
        rows = pl.int_range(0, pl.len(), dtype=pl.Int64())
        return _Typed(rows.map_batches(lambda s: row_ids(seed, s), return_dtype=pl.String()), lt.TEXT, node)


def _operation(op: str, a: pl.Expr, b: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """``a op b`` with the language's semantics: ``/`` and ``%`` by zero are null, ``%`` as in SQL."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return pl.when(b != 0).then(a / b).otherwise(None).cast(dtype)
    rem = a % b
    signed = pl.when((rem != 0) & ((rem < 0) != (a < 0))).then(rem - b).otherwise(rem)
    return pl.when(b != 0).then(signed).otherwise(None).cast(dtype)


def _single_quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def row_ids(seed: str, rows: pl.Series) -> pl.Series:
    """UUID-shaped ids, one per row index, derived from a call site's seed (deterministic per run)."""
    prefix = seed.encode() + b"\x00"
    out = [str(uuid.UUID(bytes=hashlib.sha256(prefix + str(i).encode()).digest()[:16], version=4))
           for i in rows.to_list()]
    return pl.Series(rows.name, out, dtype=pl.String())
