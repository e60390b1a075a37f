"""Errors of loads."""

from __future__ import annotations

from erp_platform._errors import ConflictError, ErpPlatformError


class IncompatibleTableError(ConflictError):
    """The target table exists with a shape the mapping cannot be loaded into (type or key changed)."""


class LoadFailed(ErpPlatformError):
    """The database refused the load; the transaction was rolled back and the table is unchanged."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient
