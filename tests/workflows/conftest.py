"""Fixtures for registry tests: a fresh tenant per test, SDK rows inserted directly, the registries."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import Engine

from erp_platform.tenancy import TenantService
from erp_platform.workflows import MappingRegistry, WorkflowRegistry, registry_catalog_factory
from tests.workflows.samples import insert_sdk

_numbers = itertools.count(1)


@pytest.fixture
def new_tenant(tenants: TenantService) -> Any:
    """Creates fresh tenants: ``new_tenant()`` returns the slug of a new standard-tier tenant."""

    def make() -> str:
        slug = f"wf_t{next(_numbers)}"
        tenants.create(slug, "standard")
        return slug

    return make


@pytest.fixture
def tenant(new_tenant: Any, engine: Engine) -> str:
    """A fresh tenant with SDK acme_erp v1 ACTIVE."""
    slug: str = new_tenant()
    insert_sdk(engine, slug)
    return slug


@pytest.fixture(scope="session")
def registry(engine: Engine) -> WorkflowRegistry:
    return WorkflowRegistry(engine, registry_catalog_factory(engine))


@pytest.fixture(scope="session")
def mappings(engine: Engine) -> MappingRegistry:
    return MappingRegistry(engine)
