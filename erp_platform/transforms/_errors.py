"""Errors of expressions, transforms and mappings."""

from __future__ import annotations

from collections.abc import Sequence

from erp_platform._errors import InvalidInputError

#: How many bad values a conversion error shows.
SAMPLE_SIZE = 5


class ExpressionError(InvalidInputError):
    """An expression is invalid: it names the expression, the character position (with a caret line)
    and what was expected there."""

    def __init__(self, expression: str, position: int, reason: str) -> None:
        self.expression = expression
        self.position = position
        self.reason = reason
        shown, caret = _excerpt(expression, position)
        super().__init__(
            f"invalid expression at character {position + 1}: {reason}\n  {shown}\n  {' ' * caret}^"
        )

    @property
    def short(self) -> str:
        """The reason and position without the caret lines (for a ``Problem`` message)."""
        return f"{self.reason} (at character {self.position + 1})"


def _excerpt(text: str, position: int, width: int = 100) -> tuple[str, int]:
    """A single-line window of ``text`` around ``position`` and the caret offset inside it."""
    flat = text.replace("\n", " ").replace("\r", " ").replace("\t", " ")
    start = max(0, min(position - width // 2, len(flat) - width))
    window = flat[start : start + width]
    prefix = "..." if start > 0 else ""
    suffix = "..." if start + width < len(flat) else ""
    return prefix + window + suffix, len(prefix) + position - start


class ConversionError(InvalidInputError):
    """Values of a column cannot be converted to a type; names the column, the type, samples and rows."""

    def __init__(self, *, where: str, subject: str, target: str, bad_count: int, total: int,
                 samples: Sequence[tuple[int, object]], hint: str,
                 failure: str = "cannot be converted to") -> None:
        self.subject = subject
        self.target = target
        self.bad_count = bad_count
        self.samples = tuple(samples)
        shown = ", ".join(f"{_short(value)} at row {row}" for row, value in self.samples)
        more = f" (showing the first {len(self.samples)})" if bad_count > len(self.samples) else ""
        super().__init__(
            f"{where}: {subject}: {bad_count} of {total} values {failure} {target}: "
            f"{shown}{more}; rows are counted from 0. {hint}"
        )


def _short(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"
