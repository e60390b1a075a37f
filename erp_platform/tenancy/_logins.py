"""Data-plane logins: tenant data work connects as the tenant's own role, never as the platform.

A connection that logs in as the platform and then runs ``SET ROLE`` keeps the platform as its session
user, so one injected ``RESET ROLE`` would regain every right of the platform. A tenant login has nothing
to return to: ``RESET ROLE`` leaves it the tenant role, and it is a member of no other role.

The password of a tenant login is derived from the platform's own database password (HMAC of the role
name), so every process of the platform knows it and nothing new is stored; it is sent to the server as a
SCRAM verifier, never in clear. A platform that logs in without a password (trust, as on the embedded
server and local development servers) gives its tenant roles no password either: they can then log in only
where the server trusts the connection, exactly as the platform does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import weakref
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from erp_platform._errors import ConfigurationError
from erp_platform.db import quote_ident

_DOMAIN = b"erp-platform/data-plane-login/v1\x00"
_SCRAM_ITERATIONS = 4096
_lock = threading.Lock()
_logins: weakref.WeakKeyDictionary[Engine, dict[str, Engine]] = weakref.WeakKeyDictionary()


def login_password(platform_url: URL, role: str) -> str | None:
    """The password of ``role``'s login: an HMAC of the role name under the platform's password (or None)."""
    secret = platform_url.password
    if not secret:
        return None
    return hmac.new(str(secret).encode("utf-8"), _DOMAIN + role.encode("utf-8"), hashlib.sha256).hexdigest()


def enable_login(conn: Connection, role: str) -> None:
    """Let ``role`` log in with its derived password (run by the platform, which created the role)."""
    password = login_password(conn.engine.url, role)
    secret = "NULL" if password is None else "'" + scram_verifier(password) + "'"
    conn.execute(text(f"ALTER ROLE {quote_ident(role)} LOGIN PASSWORD {secret}"))


def scram_verifier(password: str, *, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (so the clear text never reaches it)."""
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, _SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = base64.b64encode
    return (f"SCRAM-SHA-256${_SCRAM_ITERATIONS}:{b64(salt).decode()}"
            f"${b64(stored_key).decode()}:{b64(server_key).decode()}")


def tenant_connection(platform: Engine, role: str, slug: str) -> Connection:
    """A new connection logged in as ``role`` on the platform's database (the caller closes it).

    A role made before tenant logins existed is given its login on first use (by the platform).

    Raises:
        ConfigurationError: the server refuses the tenant's login (its pg_hba.conf rules).
    """
    engine = _login_engine(platform, role, slug)
    try:
        return engine.connect()
    except OperationalError:
        pass  # not yet a login role, or its password predates the platform's current one
    with platform.begin() as conn:
        enable_login(conn, role)
    try:
        return engine.connect()
    except OperationalError as exc:
        reason = _first_line(exc.orig) if exc.orig is not None else type(exc).__name__
        raise ConfigurationError(
            f"tenant {slug!r}: the database refused the login of its role {role!r} ({reason}); tenant data "
            "is reached only by logging in as the tenant's role: let pg_hba.conf admit the tenant roles "
            "with the same method as the platform's role (scram-sha-256 with a password, or trust)"
        ) from None


def _login_engine(platform: Engine, role: str, slug: str) -> Engine:
    with _lock:
        engines = _logins.setdefault(platform, {})
        found = engines.get(role)
        if found is not None:
            return found
        password = login_password(platform.url, role)
        connect_args: dict[str, Any] = {"application_name": f"erp-tenant-{slug}"}
        if password is not None:
            connect_args["password"] = password
        engine = create_engine(platform.url.set(username=role, password=None), poolclass=NullPool,
                               connect_args=connect_args)
        event.listen(engine, "connect", _utc_session)
        engines[role] = engine
        return engine


def _utc_session(dbapi_conn: Any, _record: object) -> None:
    with dbapi_conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
    dbapi_conn.commit()


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
