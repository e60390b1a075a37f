"""Errors of the SDK builder: a spec that cannot be read, generated code that fails the security scan."""

from __future__ import annotations

from erp_platform._errors import ErpPlatformError, InvalidInputError


class SpecError(InvalidInputError):
    """A spec cannot be parsed or built; the message names the file, the line when known, and the fix."""

    def __init__(
        self, message: str, *, filename: str, line: int | None = None, column: int | None = None
    ) -> None:
        where = filename if line is None else f"{filename}, line {line}" + (
            "" if column is None else f", column {column}"
        )
        super().__init__(f"{where}: {message}")
        self.reason = message
        self.filename = filename
        self.line = line
        self.column = column


class ScanRefused(InvalidInputError):
    """Code (generated or hand-written) failed the security scan; the message lists file, line and rule."""


class GenerationError(ErpPlatformError):
    """The generator produced code it cannot vouch for (a builder bug, never a user error)."""
