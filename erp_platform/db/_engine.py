"""SQLAlchemy engines for the platform database (a configured server or the embedded one)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from erp_platform.config import Settings
from erp_platform.db._embedded import embedded_database_url


def database_url(settings: Settings) -> str:
    """The libpq-style URL of the platform database: configured, or the embedded server's (started if needed)."""
    if settings.database_url:
        parts = urlsplit(settings.database_url)
        scheme = "postgresql" if parts.scheme in ("postgres", "postgresql+psycopg") else parts.scheme
        return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))
    return embedded_database_url(settings.resolved_home)


def sqlalchemy_url(url: str) -> str:
    """Turn a libpq URL into one that selects SQLAlchemy's psycopg 3 driver."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql+psycopg", parts.netloc, parts.path, parts.query, parts.fragment))


def make_engine(
    url: str, *, application_name: str = "erp-platform", pool_size: int = 5, pooled: bool = True
) -> Engine:
    """Create an engine; every connection reports ``application_name`` and uses UTC.

    ``pooled=False`` opens a connection per use and closes it after (long-lived processes that rarely
    touch the database, such as one code server per tenant, must not each hold idle connections).
    """
    options: dict[str, object] = (
        {"pool_size": pool_size, "max_overflow": 10, "pool_pre_ping": True}
        if pooled
        else {"poolclass": NullPool}
    )
    engine = create_engine(
        make_url(sqlalchemy_url(url)),
        connect_args={"application_name": application_name},
        **options,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: object, _record: object) -> None:
        cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
        cur.execute("SET TIME ZONE 'UTC'")
        cur.close()
        dbapi_conn.commit()  # type: ignore[attr-defined]

    return engine
