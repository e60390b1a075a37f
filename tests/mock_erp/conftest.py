"""Fixtures: one mock ERP per session (odd row count), reset around tests that change it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from erp_platform.mock_erp import MockErpConfig, MockErpServer

#: Odd sizes on purpose: 2,345 customers and orders, 234 items, 7,035 lines, 2,345 invoices.
CONFIG = MockErpConfig(rows=2345, seed=11)


@pytest.fixture(scope="session")
def erp() -> Iterator[MockErpServer]:
    """A running mock ERP; tests that change its state use ``clean_erp`` instead."""
    with MockErpServer(CONFIG) as server:
        yield server


@pytest.fixture
def clean_erp(erp: MockErpServer) -> Iterator[MockErpServer]:
    """The session's mock ERP, reset before and after the test (no activity, faults or stats)."""
    erp.reset()
    yield erp
    erp.reset()


@pytest.fixture
def http(erp: MockErpServer) -> Iterator[httpx.Client]:
    """An httpx client on the mock ERP with the acme tenant's bearer token and tenant header."""
    headers = {"Authorization": "Bearer tok-acme", "X-ERP-Tenant": "acme"}
    with httpx.Client(base_url=erp.base_url, headers=headers, timeout=30) as client:
        yield client
