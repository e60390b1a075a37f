"""Fixtures: the queue tests' Dagster stack (shared in one session) and a platform on the test database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from erp_platform._platform import Platform
from erp_platform.config import load_settings
from erp_platform.tenancy import TenantService
from tests.queue.harness import QueueStack, clear_flags, ensure_tenants, shared_stack, stop_shared_stack


@pytest.fixture(scope="session")
def stack(pg_url: str, erp_home: Path, engine: Engine, tenants: TenantService) -> Iterator[QueueStack]:
    ensure_tenants(engine, tenants)
    yield shared_stack(pg_url, erp_home)
    stop_shared_stack()


@pytest.fixture
def platform(pg_url: str, erp_home: Path) -> Iterator[Platform]:
    with Platform(load_settings(home=erp_home, database_url=pg_url), application_name="erp-tests") as plat:
        yield plat


@pytest.fixture
def observed(stack: QueueStack, engine: Engine) -> Iterator[QueueStack]:
    clear_flags(engine)
    yield stack
    clear_flags(engine)
    stack.cancel_all()
