"""Database access: engines, the embedded server, and safe identifiers."""

from erp_platform.db._embedded import embedded_database_url, embedded_server_pid, stop_embedded_server
from erp_platform.db._engine import database_url, make_engine, sqlalchemy_url
from erp_platform.db._identifiers import (
    IDENTIFIER_RULE,
    SLUG_RULE,
    quote_ident,
    tenant_role,
    tenant_schema,
    validate_identifier,
    validate_slug,
)

__all__ = [
    "IDENTIFIER_RULE",
    "SLUG_RULE",
    "database_url",
    "embedded_database_url",
    "embedded_server_pid",
    "make_engine",
    "quote_ident",
    "sqlalchemy_url",
    "stop_embedded_server",
    "tenant_role",
    "tenant_schema",
    "validate_identifier",
    "validate_slug",
]
