"""SdkSpec dumps of real published ERP specs (Xero Accounting, SAP's OData test service), parsed by the SDK
builder exactly as `erp sdk build` parses them, for the tests that need no database or build."""

from __future__ import annotations

from functools import cache
from typing import Any

from assistant import CatalogView, TableView, catalog_from_specs
from sdk_builder import load_spec
from tests.support.corpus import CorpusSpec, load_corpus

XERO = load_corpus().get("xero_accounting")
SAP_V2 = load_corpus().get("sap_test_srv_v2")
SAP_V4 = load_corpus().get("sap_test_srv_v4")
#: EDMX has no server URL: the build needs one (any; nothing is called here)
EDMX_BASE_URL = "https://erp.example.com/sap/opu/odata/sap/API_TEST_SRV/"


@cache
def spec_dump(spec_id: str) -> dict[str, Any]:
    entry: CorpusSpec = load_corpus().get(spec_id)
    base_url = EDMX_BASE_URL if entry.format.startswith("odata") else None
    parsed = load_spec(entry.file.read_bytes(), filename=entry.file.name, base_url=base_url)
    return parsed.spec.model_dump(mode="json")


def real_catalog(*tables: TableView, tenant: str = "acme") -> CatalogView:
    """Xero as SDK ``xero`` and SAP's V2 test service as ``sap``, both ACTIVE v1."""
    return catalog_from_specs(tenant, [("xero", 1, spec_dump(XERO.id)), ("sap", 1, spec_dump(SAP_V2.id))], tables)
