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


DERIVED_BOOKS = """
id: contacts_sync
activities:
  - {id: contacts, type: extract, config: {sdk: books, operation: list_contacts}}
  - {id: load_contacts, type: load, config: {table: contacts}}
steps:
  - {activity: contacts}
  - {activity: load_contacts, depends_on: [contacts]}
"""


def test_derived_mappings_and_scaffolds_see_only_the_tenants_own_sdks(
    engine: Engine, new_tenant: Callable[[], str], registry: WorkflowRegistry
) -> None:
    """Tenant B owns SDK books: A can neither plan a load from it nor scaffold from it, and A's own SDK of
    the same name (other fields) is what A's plans use."""
    from erp_platform.workflows import ScaffoldRequest, parse_definition, scaffold_workflow
    from tests.workflows.samples import xero_like_spec

    a, b = new_tenant(), new_tenant()
    insert_sdk(engine, b, name="books", spec=xero_like_spec())
    definition = parse_definition(DERIVED_BOOKS, filename="wf.yaml")
    plans, problems = registry.plan(a, definition)
    assert plans == {}
    assert [p.path for p in problems] == ["activities[0].config.sdk"]
    assert list(RegistrySdkCatalog(engine, a).versions("books")) == []
    with pytest.raises(InvalidDefinitionError):
        registry.apply(a, DERIVED_BOOKS, "wf.yaml")

    own = xero_like_spec()
    own["entities"][0]["fields"] = [{"name": "ContactID", "kind": "string"}, {"name": "Secret", "kind": "string"}]
    insert_sdk(engine, a, name="books", spec=own)
    plans_a, _ = registry.plan(a, definition)
    plans_b, _ = registry.plan(b, definition)
    assert [c.source for c in plans_a["load_contacts"].mapping.columns] == ["ContactID", "Secret"]
    assert "Secret" not in [c.source for c in plans_b["load_contacts"].mapping.columns]
    text_a = scaffold_workflow(RegistrySdkCatalog(engine, a).versions("books")[-1],
                               ScaffoldRequest(operations=("list_contacts",)))
    assert "Secret" in text_a and "@odata.etag" not in text_a
