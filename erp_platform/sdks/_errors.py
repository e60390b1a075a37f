"""Errors of the SDK registry service (besides NotFoundError, ArtifactIntegrityError, ...)."""

from __future__ import annotations

from erp_platform._errors import ConflictError


class SdkStatusError(ConflictError):
    """The SDK version's status does not allow the action (REVOKED and FAILED never open or activate)."""
