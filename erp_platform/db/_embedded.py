"""The embedded PostgreSQL server (``pgserver``) used when ERP_DATABASE_URL is unset.

The server is started once under ``ERP_HOME/pgdata`` and left running, so later commands reuse it.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urlsplit

from erp_platform._errors import ConfigurationError

_log = logging.getLogger(__name__)
EMBEDDED_DBNAME = "erp"


def embedded_database_url(home: Path) -> str:
    """Start (or reuse) the embedded server and return the URL of its ``erp`` database."""
    server_url = _start(home / "pgdata")
    _ensure_database(server_url, EMBEDDED_DBNAME)
    parts = urlsplit(server_url)
    return f"postgresql://postgres@/{EMBEDDED_DBNAME}?{parts.query}"


def _import_pgserver() -> ModuleType:
    """Import ``pgserver`` without its import-time notice about XDG_RUNTIME_DIR (it falls back to a private
    folder under /tmp, which is fine: the notice would otherwise print on every command)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        import pgserver
        import pgserver.utils
    return pgserver


def _start(pgdata: Path) -> str:
    try:
        pgserver = _import_pgserver()
    except ImportError as exc:  # pragma: no cover - pgserver is a runtime dependency
        raise ConfigurationError(
            "ERP_DATABASE_URL is unset and the embedded server package is missing: install pgserver "
            "(pip install pgserver) or set ERP_DATABASE_URL"
        ) from exc
    pgdata.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pgserver.get_server(pgdata, cleanup_mode=None)
    except Exception as exc:
        raise ConfigurationError(
            f"could not start the embedded PostgreSQL server in {pgdata}: {exc}; check that the folder is "
            "writable (ERP_HOME), or set ERP_DATABASE_URL to an existing server"
        ) from exc
    url: str = server.get_uri()
    _log.debug("embedded postgres at %s", url)
    return url


def _ensure_database(server_url: str, dbname: str) -> None:
    import psycopg

    query = dict(p.split("=", 1) for p in urlsplit(server_url).query.split("&") if "=" in p)
    with psycopg.connect(host=unquote(query.get("host", "")), user="postgres", dbname="postgres",
                         autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{dbname}"')


def embedded_server_pid(home: Path) -> int | None:
    """PID of the embedded server's postmaster when it is running, else None."""
    try:
        utils = _import_pgserver().utils
    except ImportError:  # pragma: no cover
        return None
    info = utils.PostmasterInfo.read_from_pgdata(home / "pgdata")
    if info is None or not info.is_running():
        return None
    pid = info.pid
    return int(pid) if pid is not None else None


def stop_embedded_server(home: Path, *, timeout: float = 20.0) -> bool:
    """Stop the embedded server (fast shutdown); True when it was running and has stopped."""
    import os
    import signal
    import time

    pid = embedded_server_pid(home)
    if pid is None:
        return False
    os.kill(pid, signal.SIGINT)  # PostgreSQL "fast" shutdown
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGQUIT)
    return True
