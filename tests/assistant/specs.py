"""Catalogs of the mock ERP's SDK spec for the tests that need no database (parse only, no build)."""

from __future__ import annotations

import json
from functools import cache

from assistant import CatalogView, ColumnView, TableView, catalog_from_specs
from erp_platform.mock_erp import build_openapi
from sdk_builder import load_spec


@cache
def mock_spec_dump() -> dict[str, object]:
    raw = json.dumps(build_openapi("http://127.0.0.1:8900")).encode()
    return load_spec(raw, filename="openapi.json", name="mock_erp").spec.model_dump(mode="json")


def table(name: str, *columns: tuple[str, str] | tuple[str, str, bool]) -> TableView:
    return TableView(name=name, columns=tuple(
        ColumnView(name=c[0], type=c[1], primary_key=bool(c[2]) if len(c) > 2 else False) for c in columns))


def mock_catalog(*tables: TableView, tenant: str = "acme") -> CatalogView:
    return catalog_from_specs(tenant, [("mock_erp", 1, mock_spec_dump())], tables)
