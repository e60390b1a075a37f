"""The expression AST: frozen dataclasses, each with the character position it starts at."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias


@dataclass(frozen=True)
class Literal:
    """``42``, ``1.19``, ``'text'``, ``true``, ``null``."""

    value: int | Decimal | str | bool | None
    pos: int


@dataclass(frozen=True)
class ColumnRef:
    """A field: ``amount`` (bare: matched exactly, else case-insensitively when only one field fits) or
    ``"ContactID"`` / ``field('@odata.etag')`` (quoted: matched exactly)."""

    name: str
    pos: int
    quoted: bool = False


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: Expr
    pos: int


@dataclass(frozen=True)
class Binary:
    op: str  # + - * / % || = != < <= > >= and or
    left: Expr
    right: Expr
    pos: int  # position of the operator


@dataclass(frozen=True)
class IsNull:
    operand: Expr
    negated: bool
    pos: int


@dataclass(frozen=True)
class InList:
    operand: Expr
    items: tuple[Expr, ...]
    negated: bool
    pos: int


@dataclass(frozen=True)
class Between:
    operand: Expr
    low: Expr
    high: Expr
    negated: bool
    pos: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Expr, ...]
    pos: int


@dataclass(frozen=True)
class Cast:
    operand: Expr
    type_name: str  # a normalised logical type
    pos: int


Expr: TypeAlias = Literal | ColumnRef | Unary | Binary | IsNull | InList | Between | Call | Cast


def children(node: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of ``node``."""
    if isinstance(node, Unary | IsNull | Cast):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, InList):
        return (node.operand, *node.items)
    if isinstance(node, Between):
        return (node.operand, node.low, node.high)
    if isinstance(node, Call):
        return node.args
    return ()
