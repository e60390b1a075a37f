"""Validation of credential names and secret values, and the one place store paths are built."""

from __future__ import annotations

import re

from erp_platform._errors import InvalidInputError
from erp_platform.db import validate_slug

CREDENTIAL_NAME_RULE = "^[a-z][a-z0-9_]{0,62}$"
_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")
MAX_SECRET_BYTES = 64 * 1024
STORE_PATH_ROOT = "erp/tenants"


def validate_credential_name(name: object) -> str:
    """Return ``name`` if it matches :data:`CREDENTIAL_NAME_RULE`, else raise InvalidInputError."""
    if not isinstance(name, str) or _NAME_RE.fullmatch(name) is None:
        shown = repr(name) if isinstance(name, str) else f"of type {type(name).__name__}"
        raise InvalidInputError(
            f"credential name {shown} is invalid: it must match {CREDENTIAL_NAME_RULE} (a lowercase letter, "
            "then up to 62 lowercase letters, digits or underscores), e.g. erp_api_token"
        )
    return name


def validate_secret(secret: object, *, tenant: str, name: str) -> str:
    """Return ``secret`` if it is a storable secret; the error never shows the value.

    Raises:
        InvalidInputError: not a string, empty, containing NUL, not encodable, or over 64 KiB.
    """
    where = f"secret for credential {name!r} of tenant {tenant!r}"
    if not isinstance(secret, str):
        kind = type(secret).__name__
        raise InvalidInputError(f"{where} must be a string (received a value of type {kind})")
    if secret == "":
        raise InvalidInputError(
            f"{where} is empty: pass a non-empty secret value (the token, password or key itself)"
        )
    if "\x00" in secret:
        raise InvalidInputError(f"{where} contains a NUL character (\\x00), which is not allowed: remove it")
    try:
        size = len(secret.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInputError(
            f"{where} is not valid Unicode text (it contains a lone surrogate): pass the secret as text"
        ) from None
    if size > MAX_SECRET_BYTES:
        raise InvalidInputError(
            f"{where} is {size} bytes in UTF-8: at most {MAX_SECRET_BYTES} bytes (64 KiB) are allowed; "
            "store a shorter value"
        )
    return secret


def credential_path(tenant: str, name: str) -> str:
    """The store path of a credential: ``erp/tenants/<slug>/<name>``, built only from validated parts."""
    return f"{tenant_path(tenant)}/{validate_credential_name(name)}"


def tenant_path(tenant: str) -> str:
    """The store folder of one tenant's credentials: ``erp/tenants/<slug>``."""
    return f"{STORE_PATH_ROOT}/{validate_slug(tenant)}"
