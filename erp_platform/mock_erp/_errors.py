"""Errors raised by the mock ERP's Python API (HTTP clients see JSON error bodies instead)."""

from __future__ import annotations

from erp_platform._errors import ErpPlatformError, InvalidInputError, NotFoundError


class UnknownEntityError(InvalidInputError):
    """An entity name is not one of the mock ERP's entities."""


class UnknownTenantError(NotFoundError):
    """An ERP tenant code is not configured on the mock ERP."""


class ActivityError(InvalidInputError):
    """A simulated ERP activity (append / touch / create) cannot be applied."""


class MockErpStartError(ErpPlatformError):
    """The mock ERP server did not start (port in use, child process died, timeout)."""

    transient = True
