"""Tokenizer of the expression language (hand-written; no regex backtracking on user input)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from erp_platform.transforms._errors import ExpressionError

KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "true", "false", "between", "as"})
INT64_MAX = 9_223_372_036_854_775_807
MAX_DECIMAL_DIGITS = 38
_OPERATORS = ("||", "<=", ">=", "<>", "!=", "=", "<", ">", "+", "-", "*", "/", "%", "(", ")", ",")


class Kind(Enum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    STRING = "string"
    NAME = "name"  # identifier or keyword (keywords are matched case-insensitively)
    QUOTED = "quoted name"  # "ContactID", "@odata.etag": a field name exactly as written
    OP = "operator"
    END = "end"


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str
    pos: int
    value: int | Decimal | str | None = None

    @property
    def keyword(self) -> str | None:
        """The lowercase keyword this token spells, if any."""
        low = self.text.lower()
        return low if self.kind is Kind.NAME and low in KEYWORDS else None

    def describe(self) -> str:
        if self.kind is Kind.END:
            return "the end of the expression"
        return f"{self.text!r}"


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raises ExpressionError at the first character that fits no token."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
        elif ch.isascii() and (ch.isalpha() or ch == "_"):
            j = i + 1
            while j < n and text[j].isascii() and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(Token(Kind.NAME, text[i:j], i, text[i:j]))
            i = j
        elif ch.isascii() and ch.isdigit():
            i = _number(text, i, tokens)
        elif ch == "'":
            i = _string(text, i, tokens)
        elif ch == '"':
            i = _quoted(text, i, tokens)
        elif text.startswith("==", i):
            raise ExpressionError(text, i, "use = to compare values (not ==)")
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                raise ExpressionError(text, i, _unexpected(text, i))
            tokens.append(Token(Kind.OP, "!=" if op == "<>" else op, i))
            i += len(op)
    tokens.append(Token(Kind.END, "", n))
    return tokens


def _number(text: str, start: int, tokens: list[Token]) -> int:
    i, n = start, len(text)
    while i < n and text[i].isascii() and text[i].isdigit():
        i += 1
    if i < n and text[i] == ".":
        j = i + 1
        while j < n and text[j].isascii() and text[j].isdigit():
            j += 1
        if j == i + 1:
            raise ExpressionError(text, i, "a decimal point must be followed by digits, e.g. 1.5")
        digits = len(text[start:i].lstrip("0")) + (j - i - 1)
        if digits > MAX_DECIMAL_DIGITS:
            raise ExpressionError(text, start, f"the number {_shorten(text[start:j])} has {digits} digits; "
                                               f"numbers hold at most {MAX_DECIMAL_DIGITS} (numeric(38,s), "
                                               "counting those after the point): drop digits after the point "
                                               "or scale the value")
        tokens.append(Token(Kind.DECIMAL, text[start:j], start, Decimal(text[start:j])))
        i = j
    else:
        value = int(text[start:i]) if i - start <= 40 else INT64_MAX + 2
        if value > INT64_MAX + 1:  # INT64_MAX + 1 is fine after a minus sign (the parser checks)
            raise ExpressionError(text, start, f"the integer {_shorten(text[start:i])} is out of range: "
                                               f"integers go from {-INT64_MAX - 1} to {INT64_MAX}; write a "
                                               "larger number with a decimal point, e.g. 1e20 as "
                                               "100000000000000000000.0")
        tokens.append(Token(Kind.INTEGER, text[start:i], start, value))
    if i < n and text[i].isascii() and (text[i].isalpha() or text[i] == "_"):
        raise ExpressionError(text, i, "a number cannot be followed by letters; put an operator between them")
    return i


def _shorten(number: str) -> str:
    return number if len(number) <= 48 else f"{number[:20]}...{number[-8:]} ({len(number)} characters)"


def _string(text: str, start: int, tokens: list[Token]) -> int:
    i, n = start + 1, len(text)
    parts: list[str] = []
    while True:
        end = text.find("'", i)
        if end < 0:
            raise ExpressionError(text, start, "unterminated text literal: close it with ' (write '' for a "
                                               "quote inside the text)")
        parts.append(text[i:end])
        if end + 1 < n and text[end + 1] == "'":
            parts.append("'")
            i = end + 2
            continue
        tokens.append(Token(Kind.STRING, text[start : end + 1], start, "".join(parts)))
        return end + 1


def _quoted(text: str, start: int, tokens: list[Token]) -> int:
    """A double-quoted field name, SQL style: ``"ContactID"``; ``""`` inside is one double quote."""
    i, n = start + 1, len(text)
    parts: list[str] = []
    while True:
        end = text.find('"', i)
        if end < 0:
            raise ExpressionError(text, start, 'unterminated quoted field name: close it with " (write "" for '
                                               "a double quote inside the name)")
        parts.append(text[i:end])
        if end + 1 < n and text[end + 1] == '"':
            parts.append('"')
            i = end + 2
            continue
        name = "".join(parts)
        if not name:
            raise ExpressionError(text, start, 'an empty quoted name "": write the field name between the '
                                               "double quotes, or '' for empty text")
        tokens.append(Token(Kind.QUOTED, text[start : end + 1], start, name))
        return end + 1


def _unexpected(text: str, i: int) -> str:
    """Why the character at ``i`` starts no token; for a field name with such characters, how to write it."""
    ch = text[i]
    start = i
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_@.$#"):
        start -= 1
    end = i
    while end < len(text) and (text[end].isalnum() or text[end] in "_@.$#"):
        end += 1
    word = text[start:end]
    if ch in "@$#" or "@" in word or (not ch.isascii() and ch.isalnum()):
        return (f"unexpected character {ch!r}: a field name with characters other than letters, digits and _ "
                f'is written in double quotes, e.g. "{word}" (or field(\'{word}\'))')
    return (f"unexpected character {ch!r}: expected a column, a literal, an operator "
            "(+ - * / % || = != < <= > >=), ( ) or ,")
