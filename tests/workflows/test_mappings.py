"""Mapping configs: parsing, idempotent apply, one ACTIVE version, immutability and tamper detection."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from erp_platform._errors import ArtifactIntegrityError, NotFoundError
from erp_platform.transforms import MappingSpec
from erp_platform.workflows import InvalidDefinitionError, MappingRegistry, mapping_hash, parse_mapping

SALES_MAP = """\
name: sales_map
columns:
  - {source: id, target: order_id, type: bigint, nullable: false}
  - {source: total, target: amount, type: "numeric(12,2)"}
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "name: Sales Map\ncolumns: []\n",
            [
                "columns: must have at least 1 item (received: [])",
                "name: must be a lowercase identifier: letters a-z, digits and underscores, not starting "
                "with a digit, at most 63 characters (try 'sales_map') (received: 'Sales Map')",
            ],
            id="name_and_empty_columns",
        ),
        pytest.param(
            "name: m\ncolumns:\n  - {source: id, target: id, type: money}\n"
            "  - {source: x, target: x, type: text}\n  - {source: y, type: text, nulable: true}\n",
            [
                "columns[0].type: unknown column type 'money': use text, bigint, integer, double precision, "
                "boolean, date, timestamptz, jsonb or numeric(P,S) (received: 'money')",
                "columns[2].nulable: unknown field (did you mean 'nullable'?): remove or rename it; allowed "
                "fields: source, target, type, nullable (received: True)",
            ],
            id="field_problems",
        ),
        pytest.param(
            "name: m\ncolumns:\n  - {source: id, target: id, type: bigint}\n"
            "  - {source: x, target: id, type: text}\n",
            ["columns[1].target: duplicate target column: columns[0] writes it too; each target column is "
             "written by one mapping entry (received: 'id')"],
            id="duplicate_target",
        ),
        pytest.param(
            "name: m\ncolumns:\n  - {source: '', type: text}\n  - {source: \"a\\tb\"}\n"
            "  - {source: __erp_row}\n  - {source: ContactID, target: ContactID}\n",
            [
                "columns[0].source: must not be empty: write the field name exactly as the ERP sends it "
                "(received: '')",
                "columns[1].source: contains the control character '\\t' at position 2: remove it (received: "
                "'a\\tb')",
                "columns[2].source: names starting with '__erp_' are used by the platform: choose another "
                "(received: '__erp_row')",
                "columns[3].target: must be a lowercase identifier: letters a-z, digits and underscores, not "
                "starting with a digit, at most 63 characters (try 'contact_id') (received: 'ContactID')",
            ],
            id="field_names",
        ),
    ],
)
def test_invalid_mapping_files(text: str, expected: list[str]) -> None:
    with pytest.raises(InvalidDefinitionError) as info:
        parse_mapping(text, filename="map.yaml")
    assert [p.render() for p in info.value.problems] == expected
    assert str(info.value).startswith("map.yaml: invalid mapping: ")


def test_mapping_hash_covers_columns_not_name() -> None:
    document = parse_mapping(SALES_MAP, filename="m.yaml")
    renamed = parse_mapping(SALES_MAP.replace("name: sales_map", "name: other"), filename="m.yaml")
    assert mapping_hash(document.spec()) == mapping_hash(renamed.spec())
    assert isinstance(document.spec(), MappingSpec)
    changed = parse_mapping(SALES_MAP.replace("numeric(12,2)", "numeric(14,2)"), filename="m.yaml")
    assert mapping_hash(changed.spec()) != mapping_hash(document.spec())


def test_apply_activate_get(mappings: MappingRegistry, tenant: str) -> None:
    first, created = mappings.apply(tenant, SALES_MAP, "sales_map.yaml")
    assert (first.name, first.version, first.status, created) == ("sales_map", 1, "DRAFT", True)
    assert mappings.apply(tenant, SALES_MAP, "sales_map.yaml") == (first, False)
    second, created = mappings.apply(tenant, SALES_MAP.replace("12,2", "14,2"), "sales_map.yaml")
    assert (second.version, created) == (2, True)
    assert mappings.get(tenant, "sales_map")[0].version == 2  # no ACTIVE version: the newest
    mappings.activate(tenant, "sales_map", 1)
    record, spec = mappings.get(tenant, "sales_map")
    assert (record.version, record.status, spec.columns[1].type) == (1, "ACTIVE", "numeric(12,2)")
    mappings.activate(tenant, "sales_map", 2)
    assert [(r.version, r.status) for r in mappings.list(tenant)] == [(1, "DEPRECATED"), (2, "ACTIVE")]
    resolved = mappings.source(tenant).resolve("sales_map")
    assert resolved is not None
    assert (resolved.version, resolved.status, resolved.content_hash) == (2, "ACTIVE", second.content_hash)
    with pytest.raises(NotFoundError) as info:
        mappings.get(tenant, "sales_map", 5)
    assert str(info.value) == (
        f"mapping 'sales_map' (version 5) does not exist for tenant {tenant!r}; list its mappings with "
        f"`erp mapping list {tenant}`"
    )


def test_active_mapping_is_immutable_and_tampering_is_detected(
    mappings: MappingRegistry, tenant: str, engine: Engine
) -> None:
    record, _ = mappings.apply(tenant, SALES_MAP, "sales_map.yaml")
    mappings.activate(tenant, "sales_map", 1)
    change = (
        "UPDATE erp_control.mapping_configs SET mapping = jsonb_set(mapping, '{columns,0,nullable}', 'true') "
    )
    with engine.begin() as conn, pytest.raises(DBAPIError) as refused:
        conn.execute(text(change + "WHERE id = :id"), {"id": record.id})
    assert "sales_map version 1 is ACTIVE and immutable: its mapping and content_hash cannot change" in str(
        refused.value
    )
    with engine.begin() as conn:
        table = "erp_control.mapping_configs"
        conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER mapping_configs_immutable"))
        conn.execute(text(change + "WHERE id = :id"), {"id": record.id})
        conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER mapping_configs_immutable"))
    with pytest.raises(ArtifactIntegrityError) as info:
        mappings.get(tenant, "sales_map")
    assert str(info.value).startswith(
        f"mapping 'sales_map' version 1 of tenant {tenant!r} does not match its content hash (expected "
        f"{record.content_hash}, actual "
    )
    source = mappings.source(tenant)
    assert source.names() == ["sales_map"]
    with pytest.raises(ArtifactIntegrityError):
        source.resolve("sales_map")
