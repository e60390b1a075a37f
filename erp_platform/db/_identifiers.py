"""Identifiers that come from users or the AI: validated against strict patterns, then quoted.

Nothing user-supplied is ever formatted into SQL unvalidated; even validated names are quoted.
"""

from __future__ import annotations

import re

from erp_platform._errors import InvalidInputError

SLUG_RULE = "^[a-z][a-z0-9_]{2,39}$"
_SLUG_RE = re.compile(r"[a-z][a-z0-9_]{2,39}")
IDENTIFIER_RULE = "^[a-z_][a-z0-9_]{0,62}$"
_IDENTIFIER_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_RESERVED_PREFIXES = ("pg_", "_erp_stage")


def validate_slug(slug: object, *, what: str = "tenant slug") -> str:
    """Return ``slug`` if it matches :data:`SLUG_RULE`, else raise InvalidInputError with the rule."""
    if not isinstance(slug, str) or _SLUG_RE.fullmatch(slug) is None:
        raise InvalidInputError(
            f"{what} {slug!r} is invalid: it must match {SLUG_RULE} (start with a lowercase letter, then "
            "2 to 39 lowercase letters, digits or underscores)"
        )
    return slug


def validate_identifier(name: object, *, path: str = "identifier") -> str:
    """Return ``name`` if it is a safe lowercase SQL identifier, else raise InvalidInputError."""
    if not isinstance(name, str) or _IDENTIFIER_RE.fullmatch(name) is None:
        raise InvalidInputError(
            f"{path}: {name!r} is not a valid identifier: it must match {IDENTIFIER_RULE} (lowercase "
            "letters, digits and underscores, not starting with a digit, at most 63 characters)"
        )
    if name.startswith(_RESERVED_PREFIXES):
        raise InvalidInputError(f"{path}: {name!r} uses a reserved prefix ({', '.join(_RESERVED_PREFIXES)})")
    return name


def quote_ident(name: str) -> str:
    """Quote an already-validated identifier for SQL (doubling embedded quotes, defensively)."""
    return '"' + name.replace('"', '""') + '"'


def tenant_schema(slug: str) -> str:
    """Schema that holds a tenant's loaded ERP data."""
    return f"tenant_{validate_slug(slug)}"


def tenant_role(slug: str) -> str:
    """NOLOGIN role that owns only the tenant's schema."""
    return f"erp_t_{validate_slug(slug)}"
