"""The SDK catalog: conversion from the SDK builder's SdkSpec dump, and which version a workflow uses."""

from __future__ import annotations

import pytest

from erp_platform._errors import InvalidInputError
from erp_platform.sandbox._protocol import FieldKind
from erp_platform.workflows import (
    InMemorySdkCatalog,
    OperationInfo,
    ParamInfo,
    SdkInfo,
    catalog_entry_from_sdk_spec,
    resolve_sdk_version,
)
from sdk_builder._model import (
    Entity,
    EntityField,
    Incremental,
    IncrementalMode,
    Operation,
    Parameter,
    ParamLocation,
    SdkSpec,
    SourceFormat,
)
from tests.workflows.samples import acme_spec


def test_converts_a_real_sdk_spec_dump() -> None:
    spec = SdkSpec(
        name="bc",
        source_format=SourceFormat.OPENAPI_3,
        base_url="https://api.example.com/v2.0/",
        spec_hash="0" * 64,
        operations=(
            Operation(
                id="list_customers", source_id="listCustomers", method="GET",
                path="companies({company_id})/customers", resource="customers", collection=True,
                entity="customer",
                parameters=(
                    Parameter(name="company_id", wire_name="company_id", location=ParamLocation.PATH,
                              required=True),
                    Parameter(name="filter", wire_name="$filter", location=ParamLocation.QUERY),
                    Parameter(name="tenant", wire_name="X-Tenant", location=ParamLocation.HEADER,
                              required=True),
                ),
                incremental=Incremental(field="lastModifiedDateTime", mode=IncrementalMode.ODATA_FILTER,
                                        param="$filter"),
            ),
            Operation(id="delete_customer", source_id="deleteCustomer", method="DELETE",
                      path="customers({id})", resource="customers"),
        ),
        entities=(Entity(name="customer", keys=("id",), fields=(
            EntityField(name="id", kind=FieldKind.STRING),
            EntityField(name="balance", kind=FieldKind.DECIMAL),
            EntityField(name="lastModifiedDateTime", kind=FieldKind.DATETIME),
        )),),
    )
    entry = catalog_entry_from_sdk_spec(spec.model_dump(mode="json"), version=3, status="TESTING")
    assert entry == SdkInfo(
        name="bc",
        version=3,
        status="TESTING",
        capabilities=spec.capabilities,
        operations=(
            OperationInfo(
                name="list_customers", method="GET", path="companies({company_id})/customers", collection=True,
                resource="customers", entity="customer",
                fields={"id": FieldKind.STRING, "balance": FieldKind.DECIMAL,
                        "lastModifiedDateTime": FieldKind.DATETIME},
                primary_key=("id",),
                incremental=True,
                cursor_field="lastModifiedDateTime",
                params=(ParamInfo(name="company_id", required=True), ParamInfo(name="filter"),
                        ParamInfo(name="tenant", required=False)),
            ),
            OperationInfo(name="delete_customer", method="DELETE", path="customers({id})", collection=False,
                          resource="customers"),
        ),
    )
    assert entry.capabilities == ("delete:customers", "read:customers")
    assert entry.operation("list_customers") is not None
    assert entry.operation("nope") is None


def test_row_capabilities_override_derived_ones_and_reserved_params_are_dropped() -> None:
    entry = catalog_entry_from_sdk_spec(acme_spec(), capabilities=["read:orders"])
    assert entry.capabilities == ("read:orders",)
    orders = entry.operation("list_orders")
    assert orders is not None
    assert [p.name for p in orders.params] == ["company_id", "status"]


def test_unreadable_spec_names_the_sdk_and_the_fix() -> None:
    spec = acme_spec()
    spec["entities"][0]["fields"][0]["kind"] = "float"
    with pytest.raises(InvalidInputError) as info:
        catalog_entry_from_sdk_spec(spec, version=2)
    assert str(info.value) == (
        "the stored SdkSpec of SDK 'acme_erp' v2 cannot be read: entities.0.fields.0.kind: Input should be "
        "'string', 'integer', 'number', 'decimal', 'boolean', 'date', 'datetime' or 'json' (1 problem(s)); "
        "rebuild the SDK with the current builder"
    )


def _sdk(version: int, status: str) -> SdkInfo:
    return SdkInfo(name="erp", version=version, status=status)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("versions", "required", "expected"),
    [
        ([(1, "ACTIVE"), (2, "ACTIVE"), (3, "TESTING")], None, 2),
        ([(1, "REVOKED"), (2, "TESTING"), (3, "TESTING")], None, 3),
        ([(1, "REVOKED"), (2, "FAILED")], None, None),
        ([(1, "ACTIVE"), (2, "REVOKED")], 2, 2),
        ([(1, "ACTIVE")], 2, None),
        ([], None, None),
    ],
)
def test_resolve_sdk_version(
    versions: list[tuple[int, str]], required: int | None, expected: int | None
) -> None:
    catalog = InMemorySdkCatalog(_sdk(v, s) for v, s in reversed(versions))
    resolved = resolve_sdk_version(catalog, "erp", required)
    assert (resolved.version if resolved else None) == expected
    assert [v.version for v in catalog.versions("erp")] == sorted(v for v, _ in versions)
