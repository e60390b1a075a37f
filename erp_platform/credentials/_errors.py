"""Errors of the credential stores (on top of the platform hierarchy in ``erp_platform._errors``)."""

from __future__ import annotations

from erp_platform._errors import CredentialError


class CredentialStoreUnavailableError(CredentialError):
    """The credential backend (Vault) cannot be reached or is sealed; worth retrying later."""

    transient = True
