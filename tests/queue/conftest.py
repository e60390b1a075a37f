"""Fixtures for run-queue tests: the shared Dagster stack, clean state per test, registered workflows."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine

from erp_platform.tenancy import TenantService
from erp_platform.workflows import WorkflowRecord, WorkflowRegistry, registry_catalog_factory
from tests.queue.harness import (
    QueueStack,
    clear_flags,
    ensure_tenants,
    reset_tenants,
    shared_stack,
    stop_shared_stack,
)
from tests.workflows.samples import VALID

_workflow_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def stack(pg_url: str, erp_home: object, engine: Engine, tenants: TenantService) -> Iterator[QueueStack]:
    """The real stack (fork server, code servers, daemon), shared with tests/observability."""
    ensure_tenants(engine, tenants)
    yield shared_stack(pg_url, erp_home)  # type: ignore[arg-type]
    stop_shared_stack()


@pytest.fixture
def queue(stack: QueueStack, engine: Engine, tenants: TenantService,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[QueueStack]:
    """The stack, left clean: runs cancelled, flags cleared, tenants and buckets reset."""
    clear_flags(engine)
    reset_tenants(engine, tenants)
    yield stack
    monkeypatch.undo()
    clear_flags(engine)
    stack.cancel_all()
    reset_tenants(engine, tenants)


@pytest.fixture(scope="session")
def workflows(engine: Engine) -> WorkflowRegistry:
    return WorkflowRegistry(engine, registry_catalog_factory(engine))


@pytest.fixture
def new_workflow(workflows: WorkflowRegistry) -> Callable[..., WorkflowRecord]:
    """``new_workflow(tenant, activate=True)`` registers a fresh workflow (the sample definition)."""

    def make(tenant: str, *, activate: bool = True) -> WorkflowRecord:
        workflow_id = f"wf_{next(_workflow_numbers)}"
        record, _ = workflows.apply(tenant, VALID.replace("id: orders_sync", f"id: {workflow_id}"),
                                    f"{workflow_id}.yaml")
        return workflows.activate(tenant, workflow_id, record.version) if activate else record

    return make


def workflow_tags(record: WorkflowRecord, *, sdks: str | None = "acme_erp@1") -> dict[str, str]:
    tags = {"erp/workflow": record.workflow_id, "erp/workflow_version": str(record.version),
            "erp/workflow_hash": record.content_hash}
    if sdks:
        tags["erp/sdks"] = sdks
    return tags
