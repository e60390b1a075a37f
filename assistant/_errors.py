"""Errors of the assistant; every one is an :class:`erp_platform.ErpPlatformError`."""

from __future__ import annotations

from erp_platform._errors import ControlFlagError, ErpPlatformError, QuotaExceededError


class AssistantError(ErpPlatformError):
    """Something the assistant could not do; the message says what and how to go on."""


class AssistantDisabled(ControlFlagError):
    """The AI provider is switched off (globally or for this tenant); offline functions still work."""


class ProviderUnavailable(AssistantError):
    """The AI provider did not answer usefully (429, 529, 5xx, timeout, network); nothing was changed."""

    transient = True


class ProviderRejected(AssistantError):
    """The AI provider refused the request (bad key, bad request); retrying will not help."""


class BudgetExhausted(QuotaExceededError):
    """The conversation's token budget or the turn's tool rounds are spent; nothing more is sent."""

    transient = False
