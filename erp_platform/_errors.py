"""One root error for the platform, one subclass per kind of failure.

Every message says what was wrong, where, and how to fix it. Secrets are masked before a message is
built (see :func:`mask_secret`); no exception carries a secret value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def mask_secret(value: str | None) -> str:
    """Return a masked form of a secret that is safe to show: ``s*****t`` for ``secret``."""
    if not value:
        return "<empty>"
    if len(value) <= 4:
        return "*" * len(value)
    return f"{value[0]}*****{value[-1]}"


class ErpPlatformError(Exception):
    """Root of every error the platform raises on purpose.

    ``transient`` marks errors worth retrying (network, rate limits, a paused flag); terminal errors
    (bad input, isolation violations) are not retried.
    """

    transient: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(ErpPlatformError):
    """A setting is missing or invalid; the message names the setting and the fix."""


class InvalidInputError(ErpPlatformError):
    """User (or AI) input is invalid: identifiers, tiers, secrets, specs, definitions."""


class NotFoundError(ErpPlatformError):
    """A tenant, SDK, workflow or credential does not exist."""


class ConflictError(ErpPlatformError):
    """The requested change conflicts with existing state (already exists, immutable, wrong status)."""


class TenantIsolationError(ErpPlatformError):
    """Something tried to reach another tenant's data, keys, credentials or artifacts."""


class CredentialError(ErpPlatformError):
    """A credential store operation failed. Never carries the secret."""


class ObjectStoreError(ErpPlatformError):
    """An object store operation failed."""


class QuotaExceededError(ErpPlatformError):
    """A tenant quota or rate limit is spent."""

    transient = True


class ControlFlagError(ErpPlatformError):
    """A control flag (pause / block) stops this action."""


class PausedError(ControlFlagError):
    """A pause flag holds this action; it may proceed once the flag is cleared."""

    transient = True


class BlockedError(ControlFlagError):
    """A block flag refuses this action."""


class ArtifactIntegrityError(ErpPlatformError):
    """A stored artifact does not match its recorded content hash (mutation detected)."""


@dataclass(frozen=True)
class Problem:
    """One validation problem: where (JSON path), what was received, and what is wrong."""

    path: str
    message: str
    received: object = None

    def render(self) -> str:
        shown = "" if self.received is None else f" (received: {_short_repr(self.received)})"
        return f"{self.path}: {self.message}{shown}"


def _short_repr(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ValidationFailed(InvalidInputError):
    """Several problems found at once; the message lists every one with its path."""

    def __init__(self, what: str, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        lines = "\n".join(f"  - {p.render()}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"{what}: {count} problem{'s' if count != 1 else ''}\n{lines}")

    @classmethod
    def raise_if_any(cls, what: str, problems: Iterable[Problem]) -> None:
        found = list(problems)
        if found:
            raise cls(what, found)
