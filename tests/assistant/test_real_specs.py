"""The offline assistant on SDKs built from real published specs, against the ERP serving them: Xero
Accounting served by Stoplight Prism, SAP's OData V2 test service served from its EDMX.

Each SDK is built through the registry (real componentize-py build, cached by content hash; real wasmtime)
with its base URL at the server, then activated. The offline draft for a real entity must use the ERP's
exact field names, merge on the builder's primary key, read incrementally on the builder's cursor,
validate, compile to Dagster and dry-run against the server with rows shown, inventing nothing. Without
the credentials the SDK declares, the dry run does not call the ERP and the assistant says how to set each.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from assistant import Assistant, ScriptedModel, ToolResult, invented_names, load_catalog
from erp_platform.credentials import CredentialStore
from erp_platform.registry import SdkVersion, Tenant
from erp_platform.sandbox import SandboxRuntime
from erp_platform.sdks import SdkService, SdkVersionInfo
from erp_platform.tenancy import TenantService
from erp_platform.workflows import WorkflowDefinition
from sdk_builder import SdkSpec
from tests.assistant.conftest import Ready
from tests.assistant.real_specs import SAP_V2, XERO
from tests.e2e_real.odata_server import ODataServer
from tests.support.prism import PrismPool, PrismServer, prism_pool  # noqa: F401  (the session fixture)

pytestmark = pytest.mark.slow

Make = Callable[..., Assistant]
#: the sandbox tests of a build run a few GET operations against sample responses (all run in tests/sdks)
TESTED_OPERATIONS = 5


@dataclass(frozen=True)
class RealSdk:
    tenant: str
    info: SdkVersionInfo
    spec: SdkSpec


@pytest.fixture(scope="module")
def builder(engine: Engine, objects: Any, credentials: CredentialStore, wasm_cache: Path,
            runtime: SandboxRuntime) -> SdkService:
    return SdkService(engine, objects, credentials, cache_dir=wasm_cache, runtime=runtime,
                      max_tested_operations=TESTED_OPERATIONS)


def _build(builder: SdkService, tenants: TenantService, credentials: CredentialStore, tenant: str, spec_file: Path,
           url: str, host_port: str) -> RealSdk:
    tenants.allow_private_egress(tenant, host_port)
    info = builder.build(tenant, spec_file, base_url=url)
    assert info.status == "TESTING", info.test_summary()
    for cred in info.credentials:  # activation needs them; deleted again, the tests start without them
        credentials.set(tenant, cred.name, "placeholder-value", sdk=info.name)
    builder.activate(tenant, info.name, info.version)
    for cred in info.credentials:
        credentials.delete(tenant, cred.name, sdk=info.name)
    with builder._engine.connect() as conn:  # the SdkSpec exactly as the registry stores it
        stored = conn.execute(
            select(SdkVersion.sdk_spec).join(Tenant, Tenant.id == SdkVersion.tenant_id).where(
                Tenant.slug == tenant, SdkVersion.name == info.name, SdkVersion.version == info.version)
        ).scalar_one()
    return RealSdk(tenant, info, SdkSpec.model_validate(dict(stored)))


@pytest.fixture(scope="module")
def xero_server(prism_pool: PrismPool) -> PrismServer:  # noqa: F811
    return prism_pool.get(XERO)


@pytest.fixture(scope="module")
def xero(builder: SdkService, tenants: TenantService, credentials: CredentialStore, new_tenant: Callable[..., str],
         xero_server: PrismServer) -> RealSdk:
    """Xero built for a tenant of its own; its credentials are NOT set (the tests set them)."""
    return _build(builder, tenants, credentials, new_tenant("axero"), XERO.file, xero_server.url,
                  xero_server.host_port)


@pytest.fixture(scope="module")
def sap_server() -> Iterator[ODataServer]:
    with ODataServer(SAP_V2.file) as server:
        yield server


@pytest.fixture(scope="module")
def sap(builder: SdkService, tenants: TenantService, credentials: CredentialStore, new_tenant: Callable[..., str],
        sap_server: ODataServer) -> RealSdk:
    return _build(builder, tenants, credentials, new_tenant("asap"), SAP_V2.file, sap_server.url,
                  sap_server.host_port)


def _table_exists(engine: Engine, tenant: str, table: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"tenant_{tenant}.{table}"})
                    .scalar())


def _fields(spec: SdkSpec, operation: str) -> set[str]:
    op = spec.operation(operation)
    assert op.entity is not None
    return {f.name for f in spec.entity(op.entity).fields}


def _check_grounded(engine: Engine, sdk: RealSdk, definition: dict[str, Any], operation: str) -> None:
    """Every mapped source is a field of the stored SdkSpec's entity, and the grounding check agrees."""
    load = next(a["config"] for a in definition["activities"] if a["type"] == "load")
    sources = {c["source"] for c in load["mapping"]["columns"]}
    assert sources and sources <= _fields(sdk.spec, operation)
    catalog = load_catalog(engine, sdk.tenant)
    assert invented_names(WorkflowDefinition.model_validate(definition), catalog) == []


def test_xero_draft_names_missing_credentials_then_dry_runs_against_prism(
    xero: RealSdk, xero_server: PrismServer, make_assistant: Make, credentials: CredentialStore, engine: Engine,
) -> None:
    tenant, sdk = xero.tenant, xero.info.name
    assistant = make_assistant()
    before = len(xero_server.received())
    missing = assistant.draft(tenant, "sync contacts into xero_contacts every hour", offline=True)
    assert missing.draft is not None and missing.draft.status == "INVALID"
    assert missing.draft.report["stage"] == "dry_run"
    assert [n["credential"]["name"] for n in missing.draft.report["dry_run"]["credentials_needed"]] == [
        "token", "xero_tenant_id"]
    assert f'  printf %s "$VALUE" | erp credentials set {tenant} token --sdk {sdk}   # SDK {sdk}: access token sent ' \
           "as a bearer token" in missing.status
    assert f'  printf %s "$VALUE" | erp credentials set {tenant} xero_tenant_id --sdk {sdk}   # SDK {sdk}: value ' \
           'of the ' \
           "xero-tenant-id header" in missing.status
    assert (f"SDK {sdk!r} v1 needs credentials that tenant {tenant!r} has not set, so the dry run did not "
            "call the ERP") in missing.reply
    assert len(xero_server.received()) == before  # the ERP was not called

    token = f"tok-xero-{secrets.token_hex(8)}"
    credentials.set(tenant, "token", token, sdk=sdk)
    credentials.set(tenant, "xero_tenant_id", XERO.headers["xero-tenant-id"], sdk=sdk)
    turn = assistant.draft(tenant, "sync contacts into xero_contacts every hour", offline=True)
    draft = turn.draft
    assert draft is not None and draft.status == "VALID", turn.reply
    definition = draft.definition
    extract = definition["activities"][0]["config"]
    assert (extract["sdk"], extract["operation"], extract["incremental"], extract["cursor_field"]) == (
        sdk, "get_contacts", True, "UpdatedDateUTC")
    load = definition["activities"][1]["config"]
    assert load["business_key"] == ["contact_id"]
    columns = {c["target"]: c for c in load["mapping"]["columns"]}
    assert columns["contact_id"]["source"] == "ContactID" and columns["contact_id"]["nullable"] is False
    assert columns["updated_date_utc"]["source"] == "UpdatedDateUTC" and columns["name"]["source"] == "Name"
    assert definition["triggers"] == [{"type": "schedule", "cron": "0 * * * *", "timezone": "UTC"}]
    _check_grounded(engine, xero, definition, "get_contacts")
    assert "merges on ContactID -> contact_id: the SDK's primary key of get_contacts (spec: item GET " \
           "`Contacts/{ContactID}` path parameter `{ContactID}` -> `ContactID`)" in turn.reply
    assert "cursor UpdatedDateUTC (the SDK's change field, sent as If-Modified-Since)" in turn.reply

    compiled = draft.report["compiled"]
    prefix = f"{tenant}/xero_contacts_sync/{tenant}__"
    assert [a["key"] for a in compiled["assets"]] == [prefix + "contacts", prefix + "load_xero_contacts"]
    dry = draft.report["dry_run"]
    assert dry["credentials_needed"] == [] and dry["problems"] == []
    assert dry["extracts"][0]["operation"] == "get_contacts" and dry["extracts"][0]["records"] > 0
    shown = dry["loads"][0]
    assert shown["business_key"] == ["contact_id"] and shown["rows"] and shown["row_count"] > 0
    key_at = shown["columns"].index("contact_id")
    assert all(row[key_at] for row in shown["rows"])
    assert len(xero_server.received()) > before  # this time the dry run read the first page from Prism
    assert not xero_server.request_violations()
    assert not _table_exists(engine, tenant, "xero_contacts")  # a dry run writes nothing
    assert token not in json.dumps(draft.report) + draft.diff + turn.reply + turn.status


def test_sap_odata_draft_merges_on_the_composite_key_and_dry_runs(
    sap: RealSdk, make_assistant: Make, engine: Engine,
) -> None:
    assert sap.info.credentials == ()
    turn = make_assistant().draft(sap.tenant, "sync test entities into sap_test_entities every night",
                                  offline=True)
    draft = turn.draft
    assert draft is not None and draft.status == "VALID", turn.reply
    extract = draft.definition["activities"][0]["config"]
    assert extract["operation"] == "list_a_test_entity" and extract["incremental"] is False
    assert extract.get("cursor_field") is None
    load = draft.definition["activities"][1]["config"]
    assert load["business_key"] == ["key_property_guid", "key_property_string"]
    sources = {c["target"]: c["source"] for c in load["mapping"]["columns"]}
    assert (sources["key_property_guid"], sources["key_property_string"]) == ("KeyPropertyGuid", "KeyPropertyString")
    _check_grounded(engine, sap, draft.definition, "list_a_test_entity")
    assert draft.definition["triggers"] == [{"type": "schedule", "cron": "0 2 * * *", "timezone": "UTC"}]
    dry = draft.report["dry_run"]
    assert dry["extracts"][0]["records"] > 0
    shown = dry["loads"][0]
    assert shown["rows"] and shown["business_key"] == ["key_property_guid", "key_property_string"]
    assert not _table_exists(engine, sap.tenant, "sap_test_entities")


def test_another_tenant_cannot_read_or_name_the_real_sdks(
    xero: RealSdk, sap: RealSdk, tenant_a: Ready, make_assistant: Make, engine: Engine,
) -> None:
    sdk = xero.info.name
    catalog = load_catalog(engine, tenant_a.tenant)
    names = {s.name for s in catalog.sdks}
    assert "mock_erp" in names and sdk not in names and sap.info.name not in names
    assert not {f.name for op in catalog.operations() for f in op.fields} & {"ContactID", "KeyPropertyGuid"}
    assert all(c.command.endswith(f"erp credentials set {tenant_a.tenant} {c.name} --sdk {s.name}")
               for s in catalog.sdks for c in s.credentials)
    reply = make_assistant().draft(tenant_a.tenant, "sync test entities into sap_entities", offline=True).reply
    assert "KeyProperty" not in reply and "A_TestEntity" not in reply and "xero" not in reply.lower()

    stolen = {
        "id": "steal_contacts",
        "activities": [
            {"id": "contacts", "type": "extract", "config": {"sdk": sdk, "operation": "get_contacts",
                                                             "incremental": True, "cursor_field": "UpdatedDateUTC"}},
            {"id": "load_contacts", "type": "load", "config": {"input": "contacts", "table": "contacts",
                                                               "business_key": ["ContactID"]}},
        ],
        "steps": [{"activity": "contacts"}, {"activity": "load_contacts", "depends_on": ["contacts"]}],
    }
    model = ScriptedModel([
        ScriptedModel.call("describe_operation", {"sdk": sdk, "operation": "get_contacts"}),
        ScriptedModel.call("submit_workflow", {"definition": stolen}),
        ScriptedModel.say("done"),
    ])
    turn = make_assistant(model).draft(tenant_a.tenant, "sync the xero contacts")
    described = model.requests[1].messages[-1].content[-1]
    assert isinstance(described, ToolResult) and described.is_error
    assert f"unknown SDK {sdk!r}" in described.content
    assert turn.draft is not None and turn.draft.status == "INVALID" and turn.draft.report["stage"] == "ground"
    submitted = model.requests[-1].messages[-1].content[-1]
    assert isinstance(submitted, ToolResult) and f"unknown SDK {sdk!r}" in submitted.content
