"""Session-wide fixtures: one fresh database, migrated once, shared by every test in the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from erp_platform.db import make_engine
from erp_platform.registry import migrate
from erp_platform.tenancy import TenantService
from tests.support.cli import ErpCli
from tests.support.corpus import missing_tools_message
from tests.support.database import fresh_database
from tests.support.specs import missing_specs_message


def pytest_sessionstart(session: pytest.Session) -> None:
    problem = missing_specs_message() or missing_tools_message()
    if problem:
        raise pytest.UsageError(problem)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a fresh database for this test session (local server at 127.0.0.1:5432 or embedded)."""
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="session")
def engine(pg_url: str) -> Iterator[Engine]:
    """Platform engine on the session database with the control-plane schema migrated."""
    eng = make_engine(pg_url, application_name="erp-tests")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def tenants(engine: Engine) -> TenantService:
    return TenantService(engine)


@pytest.fixture(scope="session")
def erp_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ERP_HOME of the test session (key file, local objects, caches)."""
    return tmp_path_factory.mktemp("erp_home")


@pytest.fixture(scope="session")
def erp(pg_url: str, erp_home: Path, engine: Engine) -> ErpCli:
    """The real ``erp`` command, run in a subprocess against the session database."""
    return ErpCli(database_url=pg_url, home=erp_home)
