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


def validate_sdk_scope(sdk: object) -> str:
    """Return ``sdk`` if it is a valid SDK name (the scope of a credential), else raise InvalidInputError."""
    if not isinstance(sdk, str) or _NAME_RE.fullmatch(sdk) is None:
        shown = repr(sdk) if isinstance(sdk, str) else f"of type {type(sdk).__name__}"
        raise InvalidInputError(
            f"SDK name {shown} is invalid: credentials are bound to an SDK named like 'mock_erp' (a lowercase "
            "letter, then up to 62 lowercase letters, digits or underscores); list SDKs with `erp sdk list TENANT`"
        )
    return sdk


def validate_secret(secret: object, *, tenant: str, name: str, sdk: str | None = None) -> str:
    """Return ``secret`` if it is a storable secret; the error never shows the value.

    Credentials travel in HTTP headers and URLs, which carry printable ASCII only: a control character
    (CR/LF would inject headers, ESC would reach terminals) or a non-ASCII character is refused here, at
    ``set`` time, instead of failing (or worse) when a request is sent.

    Raises:
        InvalidInputError: not a string, empty, with a control or non-ASCII character, or over 64 KiB.
    """
    scope = f" of SDK {sdk!r}" if sdk is not None else ""
    where = f"secret for credential {name!r}{scope} of tenant {tenant!r}"
    if not isinstance(secret, str):
        kind = type(secret).__name__
        raise InvalidInputError(f"{where} must be a string (received a value of type {kind})")
    if secret == "":
        raise InvalidInputError(
            f"{where} is empty: pass a non-empty secret value (the token, password or key itself)"
        )
    for index, char in enumerate(secret):
        if not char.isascii():
            raise InvalidInputError(
                f"{where} contains a non-ASCII character (at position {index + 1} of {len(secret)}): "
                "credentials are sent in HTTP headers and URLs, which carry printable ASCII only. Check that "
                "you copied the right value (no typographic quotes or non-breaking spaces)"
            )
        if not char.isprintable():
            raise InvalidInputError(
                f"{where} contains the control character U+{ord(char):04X} (at position {index + 1} of "
                f"{len(secret)}): control characters (CR, LF, NUL, ESC, ...) are refused, since they would "
                "inject HTTP headers or terminal escapes. Pass the value without them (`printf %s VALUE`, "
                "not `echo`)"
            )
    size = len(secret)
    if size > MAX_SECRET_BYTES:
        raise InvalidInputError(
            f"{where} is {size} bytes: at most {MAX_SECRET_BYTES} bytes (64 KiB) are allowed; "
            "store a shorter value"
        )
    return secret


def credential_path(tenant: str, name: str, sdk: str | None) -> str:
    """The store path of a credential, built only from validated parts.

    ``erp/tenants/<slug>/sdks/<sdk>/<name>`` for a credential bound to an SDK; ``erp/tenants/<slug>/<name>``
    for a tenant-wide one (``sdk`` None: stored before credentials were bound to SDKs, never sent).
    """
    if sdk is None:
        return f"{tenant_path(tenant)}/{validate_credential_name(name)}"
    return f"{tenant_path(tenant)}/sdks/{validate_sdk_scope(sdk)}/{validate_credential_name(name)}"


def tenant_path(tenant: str) -> str:
    """The store folder of one tenant's credentials: ``erp/tenants/<slug>``."""
    return f"{STORE_PATH_ROOT}/{validate_slug(tenant)}"
