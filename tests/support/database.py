"""A fresh PostgreSQL database per test session: the local server when it answers, else the embedded one."""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def local_server_answers() -> bool:
    try:
        with psycopg.connect(LOCAL_SERVER, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def _admin_url() -> str:
    if os.environ.get("ERP_TEST_EMBEDDED") != "1" and local_server_answers():
        return LOCAL_SERVER
    from erp_platform.db import embedded_database_url

    home = Path(os.environ.get("ERP_TEST_EMBEDDED_HOME", Path(tempfile.gettempdir()) / "erp-test-embedded"))
    return embedded_database_url(home)


def _with_dbname(url: str, dbname: str) -> str:
    head, _, rest = url.partition("//")
    netloc, _, tail = rest.partition("/")
    query = tail.partition("?")[2]
    return f"{head}//{netloc}/{dbname}" + (f"?{query}" if query else "")


@contextmanager
def fresh_database(prefix: str = "erp_test") -> Iterator[str]:
    """Create a uniquely named database, yield its URL, then drop it and the tenant roles made for it."""
    admin = _admin_url()
    dbname = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    try:
        yield _with_dbname(admin, dbname)
    finally:
        role_prefix = "erp" + hashlib.sha256(dbname.encode()).hexdigest()[:6] + "_t_"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            roles = conn.execute(
                "SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s)", (role_prefix,)
            ).fetchall()
            for (role,) in roles:
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')
