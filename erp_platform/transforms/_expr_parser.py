"""Recursive-descent (Pratt) parser of the expression language.

Precedence, loosest first: ``or``; ``and``; prefix ``not``; comparisons (``= != <> < <= > >=``,
``is [not] null``, ``[not] in (...)``, ``[not] between a and b``, not chainable); ``||``; ``+ -``;
``* / %``; prefix ``-``. Function calls come from an allowlist; nothing is ever evaluated as Python.
"""

from __future__ import annotations

from erp_platform._errors import InvalidInputError
from erp_platform.transforms import _logical as lt
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
    children,
)
from erp_platform.transforms._expr_lexer import INT64_MAX, Kind, Token, tokenize
from erp_platform.transforms._names import MAX_FIELD_NAME
from erp_platform.transforms._types import COLUMN_TYPES_HELP

MAX_LENGTH = 2000
MAX_DEPTH = 100
FUNCTIONS = (
    "lower", "upper", "trim", "length", "substr", "concat", "coalesce", "round", "abs", "floor", "ceil",
    "if", "to_date", "to_timestamp", "year", "month", "day", "date_trunc", "now", "random_id", "cast",
    "field",
)

_OR, _AND, _NOT, _CMP, _CONCAT, _ADD, _MUL, _NEG = 1, 2, 3, 4, 5, 6, 7, 8
_INFIX = {"||": _CONCAT, "+": _ADD, "-": _ADD, "*": _MUL, "/": _MUL, "%": _MUL,
          "=": _CMP, "!=": _CMP, "<": _CMP, "<=": _CMP, ">": _CMP, ">=": _CMP}
_INFIX_WORDS = {"or": _OR, "and": _AND, "is": _CMP, "in": _CMP, "between": _CMP, "not": _CMP}
_START = "expected a column, a literal, a function call or ("
_NESTING = (f"the expression nests too deeply (more than {MAX_DEPTH} levels): split it into several "
            "derive steps")


def parse_expression(text: str) -> Expr:
    """Parse ``text`` into an AST; raises :class:`ExpressionError` (with position) when it is invalid."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(text, MAX_LENGTH, f"the expression is {len(text)} characters long; the limit "
                                                f"is {MAX_LENGTH}: split it into several derive steps")
    if not text.strip():
        raise ExpressionError(text, 0, "the expression is empty: write one, e.g. amount > 0")
    parser = _Parser(text, tokenize(text))
    node = parser.expression(0)
    end = parser.peek
    if end.kind is not Kind.END:
        operand = end.kind in (Kind.NAME, Kind.QUOTED, Kind.INTEGER, Kind.DECIMAL, Kind.STRING)
        hint = " (missing operator?)" if operand else ""
        raise ExpressionError(text, end.pos, f"unexpected {end.describe()}: expected an operator or the end "
                                             f"of the expression{hint}")
    _check_depth(text, node)
    return node


def _check_depth(text: str, root: Expr) -> None:
    stack: list[tuple[Expr, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(text, node.pos, _NESTING)
        stack.extend((child, depth + 1) for child in children(node))


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.index]

    def _next(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _fail(self, token: Token, reason: str) -> ExpressionError:
        return ExpressionError(self.text, token.pos, reason)

    def _expect_op(self, op: str, what: str) -> Token:
        token = self._next()
        if token.kind is not Kind.OP or token.text != op:
            raise self._fail(token, f"expected {what}, got {token.describe()}")
        return token

    def _expect_keyword(self, word: str, what: str) -> Token:
        token = self._next()
        if token.keyword != word:
            raise self._fail(token, f"expected {what}, got {token.describe()}")
        return token

    def _infix_power(self, token: Token) -> int | None:
        if token.kind is Kind.OP:
            return _INFIX.get(token.text)
        word = token.keyword
        return _INFIX_WORDS.get(word) if word else None

    # -- Pratt loop -------------------------------------------------------------------------------
    def expression(self, min_power: int) -> Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._fail(self.peek, _NESTING)
        left = self._prefix()
        compared = False
        while True:
            token = self.peek
            power = self._infix_power(token)
            if power is None or power <= min_power:
                break
            if power == _CMP:
                if compared:
                    raise self._fail(token, "comparisons cannot be chained: combine them with and, e.g. "
                                            "a < b and b < c")
                compared = True
            self._next()
            left = self._infix(token, left, power)
        self.depth -= 1
        return left

    def _prefix(self) -> Expr:
        token = self._next()
        if token.kind in (Kind.INTEGER, Kind.DECIMAL, Kind.STRING):
            if token.kind is Kind.INTEGER and token.value == INT64_MAX + 1:
                raise self._fail(token, f"the integer {token.text} is out of range: integers go from "
                                        f"{-INT64_MAX - 1} to {INT64_MAX}")
            return Literal(token.value, token.pos)
        if token.kind is Kind.OP:
            if token.text == "-":
                following = self.peek
                if following.kind is Kind.INTEGER and following.value == INT64_MAX + 1:
                    self._next()  # the smallest integer: only reachable as a negative literal
                    return Literal(-INT64_MAX - 1, token.pos)
                return Unary("-", self.expression(_NEG), token.pos)
            if token.text == "(":
                inner = self.expression(0)
                self._expect_op(")", "a closing )")
                return inner
            raise self._fail(token, f"unexpected {token.describe()}: {_START}")
        if token.kind is Kind.END:
            raise self._fail(token, f"the expression ends too early: {_START}")
        if token.kind is Kind.QUOTED:
            return self._column(token, quoted=True)
        word = token.keyword
        if word in ("true", "false"):
            return Literal(word == "true", token.pos)
        if word == "null":
            return Literal(None, token.pos)
        if word == "not":
            return Unary("not", self.expression(_NOT), token.pos)
        if word is not None:
            raise self._fail(token, f"unexpected keyword {word!r}: {_START}")
        if self.peek.kind is Kind.OP and self.peek.text == "(":
            return self._call(token)
        return self._column(token)

    def _column(self, token: Token, *, quoted: bool = False) -> ColumnRef:
        name = str(token.value)
        if len(name) > MAX_FIELD_NAME:
            raise self._fail(token, f"a field name has at most {MAX_FIELD_NAME} characters")
        return ColumnRef(name, token.pos, quoted)

    def _field(self, token: Token) -> ColumnRef:
        """``field('@odata.etag')`` or ``field("@odata.etag")``: the field of exactly that name."""
        self._next()  # (
        arg = self._next()
        if arg.kind not in (Kind.STRING, Kind.QUOTED) or not arg.value:
            raise self._fail(arg, "field() takes the field's name as text, e.g. field('@odata.etag')")
        self._expect_op(")", "a closing ) after the field name")
        return ColumnRef(str(arg.value), token.pos, True)

    def _call(self, token: Token) -> Expr:
        name = token.text.lower()
        if name not in FUNCTIONS:
            raise self._fail(token, f"unknown function {token.text!r}: use one of {', '.join(FUNCTIONS)}")
        if name == "field":
            return self._field(token)
        self._next()  # (
        if name == "cast":
            operand = self.expression(0)
            self._expect_keyword("as", "as and a type, e.g. cast(amount as numeric(12,2))")
            type_name = self._type()
            self._expect_op(")", "a closing )")
            return Cast(operand, type_name, token.pos)
        args: list[Expr] = []
        if not (self.peek.kind is Kind.OP and self.peek.text == ")"):
            args.append(self.expression(0))
            while self.peek.kind is Kind.OP and self.peek.text == ",":
                self._next()
                args.append(self.expression(0))
        self._expect_op(")", f", or ) in the arguments of {name}()")
        return Call(name, tuple(args), token.pos)

    def _type(self) -> str:
        start = self.peek
        if start.kind is not Kind.NAME:
            raise self._fail(start, f"expected a type ({COLUMN_TYPES_HELP}), got {start.describe()}")
        self._next()
        words = [start.text.lower()]
        if words[0] == "double" and self.peek.kind is Kind.NAME and self.peek.text.lower() == "precision":
            words.append(self._next().text.lower())
        if words[0] == "numeric" and self.peek.kind is Kind.OP and self.peek.text == "(":
            self._next()
            precision = self._next()
            self._expect_op(",", "a comma in numeric(P,S)")
            scale = self._next()
            self._expect_op(")", "a closing ) in numeric(P,S)")
            words = [f"numeric({precision.text},{scale.text})"]
        try:
            return lt.normalize_type(" ".join(words), path="cast")
        except InvalidInputError:
            raise self._fail(start, f"unknown type {' '.join(words)!r}: use {COLUMN_TYPES_HELP}") from None

    def _infix(self, token: Token, left: Expr, power: int) -> Expr:
        word = token.keyword
        if token.kind is Kind.OP:
            return Binary(token.text, left, self.expression(power), token.pos)
        if word in ("and", "or"):
            return Binary(word, left, self.expression(power), token.pos)
        if word == "is":
            negated = self.peek.keyword == "not"
            if negated:
                self._next()
            self._expect_keyword("null", "null or not null after is")
            return IsNull(left, negated, token.pos)
        negated = word == "not"
        if negated:
            nxt = self._next()
            if nxt.keyword not in ("in", "between"):
                raise self._fail(nxt, f"expected in or between after not, got {nxt.describe()}")
            word = nxt.keyword
        if word == "in":
            self._expect_op("(", "( and a list of values after in")
            items = [self.expression(0)]
            while self.peek.kind is Kind.OP and self.peek.text == ",":
                self._next()
                items.append(self.expression(0))
            self._expect_op(")", ", or ) in the list of values")
            return InList(left, tuple(items), negated, token.pos)
        low = self.expression(_CMP)
        self._expect_keyword("and", "and between the bounds of between")
        high = self.expression(_CMP)
        return Between(left, low, high, negated, token.pos)
