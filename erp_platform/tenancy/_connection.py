"""Running tenant data work logged in as the tenant's own role, never as the platform."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

from erp_platform._errors import TenantIsolationError
from erp_platform.db import quote_ident
from erp_platform.tenancy._logins import tenant_connection
from erp_platform.tenancy._models import TenantInfo


@contextmanager
def tenant_transaction(engine: Engine, tenant: TenantInfo) -> Iterator[Connection]:
    """Open a transaction on a connection that logged in as ``tenant``'s role, its schema on the search path.

    ``engine`` is the platform's: the connection goes to the same server and database, but its session
    user is the tenant role, so neither ``RESET ROLE`` nor ``SET ROLE``/``SET SESSION AUTHORIZATION`` can
    reach the platform or another tenant. ``statement_timeout`` and ``work_mem`` come with the role (set at
    login) and are set again here for the transaction. Inside, the tenant's role can only reach its own
    schema: other tenants' schemas, ``erp_control`` and ``public`` refuse it. The connection is closed
    afterwards (tenant logins are not pooled).

    Raises:
        ConfigurationError: the server refuses the tenant role's login.
        TenantIsolationError: the connection is not the tenant's role (never expected).
    """
    with tenant_connection(engine, tenant.role_name, tenant.slug) as conn, conn.begin():
        who = conn.execute(text("SELECT session_user, current_user")).one()
        if tuple(who) != (tenant.role_name, tenant.role_name):
            raise TenantIsolationError(
                f"tenant {tenant.slug!r}: the data-plane connection runs as {who[0]!r}/{who[1]!r}, not as the "
                f"tenant's role {tenant.role_name!r}; refusing to touch its data"
            )
        conn.execute(text(f"SET LOCAL search_path = {quote_ident(tenant.schema_name)}"))
        conn.execute(
            text("SELECT set_config('statement_timeout', :st, true), set_config('work_mem', :wm, true)"),
            {"st": tenant.statement_timeout, "wm": tenant.work_mem},
        )
        yield conn
