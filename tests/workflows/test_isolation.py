"""Tenant isolation: every registry method works on the named tenant's rows only, and a definition is
validated against its own tenant's SDKs and mappings only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import Engine

from erp_platform._errors import NotFoundError
from erp_platform.workflows import (
    InvalidDefinitionError,
    MappingRegistry,
    RegistrySdkCatalog,
    WorkflowRegistry,
)
from tests.workflows.samples import VALID, acme_spec, insert_sdk

BETA_ONLY = VALID.replace("sdk: acme_erp", "sdk: beta_erp")


@pytest.fixture
def pair(new_tenant: Callable[[], str], engine: Engine) -> tuple[str, str]:
    """Tenant A owns SDK acme_erp, tenant B owns SDK beta_erp (same operations)."""
    a, b = new_tenant(), new_tenant()
    insert_sdk(engine, a)
    insert_sdk(engine, b, name="beta_erp", spec={**acme_spec(), "name": "beta_erp"})
    return a, b


def test_catalog_holds_only_the_tenants_own_sdks(engine: Engine, pair: tuple[str, str]) -> None:
    a, b = pair
    assert RegistrySdkCatalog(engine, a).sdk_names() == ["acme_erp"]
    assert RegistrySdkCatalog(engine, b).sdk_names() == ["beta_erp"]
    assert list(RegistrySdkCatalog(engine, a).versions("beta_erp")) == []


def test_definition_cannot_reference_another_tenants_sdk(
    registry: WorkflowRegistry, pair: tuple[str, str]
) -> None:
    a, b = pair
    assert registry.apply(b, BETA_ONLY, "orders.yaml")[1] is True
    with pytest.raises(InvalidDefinitionError) as info:
        registry.apply(a, BETA_ONLY, "orders.yaml")
    assert [p.render() for p in info.value.problems] == [
        f"activities[{i}].config.sdk: unknown SDK (did you mean 'acme_erp'?); this tenant's SDKs: acme_erp "
        "(build one with `erp sdk build`) (received: 'beta_erp')"
        for i in (0, 1)
    ]
    assert registry.list(a) == []


def test_a_cannot_read_or_change_bs_workflow(registry: WorkflowRegistry, pair: tuple[str, str]) -> None:
    a, b = pair
    registry.apply(b, BETA_ONLY, "orders.yaml")
    registry.activate(b, "orders_sync", 1)
    missing = (
        f"workflow 'orders_sync' does not exist for tenant {a!r}; list its workflows with "
        f"`erp workflow list {a}`"
    )
    attempts: list[Callable[[], object]] = [
        lambda: registry.get(a, "orders_sync"),
        lambda: registry.get(a, "orders_sync", 1),
        lambda: registry.activate(a, "orders_sync", 1),
        lambda: registry.retire(a, "orders_sync", 1),
        lambda: registry.deprecate(a, "orders_sync", 1, datetime(2030, 1, 1)),
        lambda: registry.verify(a, "orders_sync", 1, "0" * 64),
    ]
    for attempt in attempts:
        with pytest.raises(NotFoundError) as info:
            attempt()
        assert str(info.value) == missing
    assert registry.list(a) == []
    assert registry.active_definitions(a) == []
    [(record, _)] = registry.active_definitions(b)
    assert (record.tenant, record.status, record.deprecated_after) == (b, "ACTIVE", None)


def test_same_workflow_id_in_two_tenants_is_independent(
    registry: WorkflowRegistry, pair: tuple[str, str]
) -> None:
    a, b = pair
    registry.apply(a, VALID, "orders.yaml")
    registry.apply(a, VALID.replace('"0 * * * *"', '"5 * * * *"'), "orders.yaml")
    registry.apply(b, BETA_ONLY, "orders.yaml")
    registry.activate(b, "orders_sync", 1)
    registry.activate(a, "orders_sync", 1)
    registry.activate(a, "orders_sync", 2)  # deprecates A's v1 only
    assert [(r.version, r.status) for r in registry.list(a)] == [(1, "DEPRECATED"), (2, "ACTIVE")]
    assert [(r.version, r.status) for r in registry.list(b)] == [(1, "ACTIVE")]
    registry.retire(a, "orders_sync", 2)
    assert [r.status for r in registry.list(b)] == ["ACTIVE"]


def test_mapping_refs_resolve_within_the_tenant(
    registry: WorkflowRegistry, mappings: MappingRegistry, pair: tuple[str, str]
) -> None:
    a, b = pair
    mapping = "name: sales_map\ncolumns:\n  - {source: id, target: order_id, type: bigint}\n"
    mappings.apply(b, mapping, "m.yaml")
    mappings.activate(b, "sales_map", 1)
    by_ref = VALID.replace(
        """      mapping:
        columns:
          - {source: id, target: order_id, type: bigint, nullable: false}
          - {source: customer_name, target: customer, type: text}
          - {source: total, target: amount, type: "numeric(12,2)"}
""",
        "      mapping_ref: sales_map\n",
    )
    with pytest.raises(InvalidDefinitionError) as info:
        registry.apply(a, by_ref, "orders.yaml")
    assert [p.render() for p in info.value.problems] == [
        "activities[3].config.mapping_ref: unknown mapping; this tenant has no mapping yet (store one with "
        "`erp mapping apply`) (received: 'sales_map')"
    ]
    with pytest.raises(NotFoundError):
        mappings.get(a, "sales_map")
    with pytest.raises(NotFoundError):
        mappings.activate(a, "sales_map", 1)
    assert mappings.list(a) == []
