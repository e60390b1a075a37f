"""Running tenant data work under the tenant's own role (``SET ROLE``), never as the platform."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

from erp_platform.db import quote_ident
from erp_platform.tenancy._models import TenantInfo


@contextmanager
def tenant_transaction(engine: Engine, tenant: TenantInfo) -> Iterator[Connection]:
    """Open a transaction that runs as ``tenant``'s role with its schema on the search path.

    ``SET LOCAL`` confines the role, search path, ``statement_timeout`` and ``work_mem`` to this
    transaction (role settings are not applied by ``SET ROLE``, so they are set here explicitly); the
    pooled connection returns to the platform role at commit or rollback. Inside, the tenant's role can
    only reach its own schema: other tenants' schemas, ``erp_control`` and ``public`` refuse it.
    """
    with engine.begin() as conn:
        conn.execute(text(f"SET LOCAL ROLE {quote_ident(tenant.role_name)}"))
        conn.execute(text(f"SET LOCAL search_path = {quote_ident(tenant.schema_name)}"))
        conn.execute(
            text("SELECT set_config('statement_timeout', :st, true), set_config('work_mem', :wm, true)"),
            {"st": tenant.statement_timeout, "wm": tenant.work_mem},
        )
        yield conn
