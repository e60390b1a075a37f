"""Real published specs end to end at the SDK level: build through the registry, then live calls through the
real WebAssembly SDK against Stoplight Prism serving the same spec.

For every corpus spec Prism can serve, the SDK is built with ``--base-url`` pointing at Prism, the tenant's
credentials are the ones the build declared, and each list endpoint of the manifest is called: the records
the SDK returns (host-held, as extracted) must equal what Prism returns for the same request (replayed
with httpx from Prism's own log), Prism must find no violation in the SDK's requests, and paging must end
(Prism serves the same example for every page: the session's loop guard ends it with a note).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from erp_platform.credentials import CredentialStore
from erp_platform.sandbox import EmptySelectionError
from erp_platform.sdks import SdkService, SdkVersionInfo
from erp_platform.tenancy import TenantService
from sdk_builder import Operation, SdkSpec, parse_overrides
from tests.support.corpus import CorpusEndpoint, CorpusSpec, load_corpus
from tests.support.prism import PrismPool, PrismServer

pytestmark = pytest.mark.slow

CORPUS = load_corpus()
SERVED = [s for s in CORPUS.specs if s.prism != "none"]
CASES = [(s, e) for s in SERVED for e in s.endpoints]


@dataclass(frozen=True)
class CorpusSdk:
    entry: CorpusSpec
    tenant: str
    info: SdkVersionInfo
    spec: SdkSpec
    server: PrismServer
    secrets: dict[str, str]


def credential_value(entry: CorpusSpec, name: str, wire_name: str) -> str:
    """The manifest's header value for header credentials (e.g. xero-tenant-id), else a placeholder."""
    for header, value in entry.headers.items():
        if header.lower() == wire_name.lower():
            return value
    return f"test-{name}-value"


@pytest.fixture(scope="session")
def corpus_sdks(
    prism_pool: PrismPool, service: SdkService, new_tenant: Callable[..., str], tenants: TenantService,
    credentials: CredentialStore,
) -> dict[str, CorpusSdk]:
    """Each served corpus spec built for its own tenant against its Prism server, activated."""
    prism_pool.start_all(SERVED)
    built: dict[str, CorpusSdk] = {}
    for entry in SERVED:
        server = prism_pool.get(entry)
        tenant = new_tenant("corpus")
        tenants.allow_private_egress(tenant, server.host_port)
        overrides = parse_overrides(None, list(entry.overrides)) if entry.overrides else None
        info = service.build(tenant, entry.file, base_url=server.url, overrides=overrides)
        assert info.status == "TESTING", f"{entry.id}: {info.test_summary()}"
        secrets: dict[str, str] = {}
        for cred in info.credentials:
            secrets[cred.name] = credential_value(entry, cred.name, cred.wire_name)
            credentials.set(tenant, cred.name, secrets[cred.name], sdk=info.name)
        service.activate(tenant, info.name, info.version)
        spec = SdkSpec.model_validate(_stored_spec(service, tenant, info))
        built[entry.id] = CorpusSdk(entry, tenant, info, spec, server, secrets)
    return built


def _stored_spec(service: SdkService, tenant: str, info: SdkVersionInfo) -> dict[str, Any]:
    from sqlalchemy import select

    from erp_platform.registry import SdkVersion, Tenant

    with service._engine.connect() as conn:  # the stored SdkSpec, exactly as sessions read it
        row = conn.execute(
            select(SdkVersion.sdk_spec).join(Tenant, Tenant.id == SdkVersion.tenant_id).where(
                Tenant.slug == tenant, SdkVersion.name == info.name, SdkVersion.version == info.version)
        ).scalar_one()
    return dict(row)


def operation_for(spec: SdkSpec, endpoint: CorpusEndpoint) -> Operation:
    wanted = {endpoint.operation_id, f"GET {endpoint.path}", endpoint.path.lstrip("/")} - {None}
    return next(op for op in spec.operations if op.method == "GET" and (op.source_id in wanted or op.path in wanted))


def params_for(op: Operation, endpoint: CorpusEndpoint) -> dict[str, Any]:
    by_wire = {p.wire_name: p.name for p in op.parameters}
    return {by_wire[wire]: value for wire, value in endpoint.params.items() if wire in by_wire}


def first_page_query(op: Operation, endpoint: CorpusEndpoint) -> str:
    """The query string of the first page's request: the endpoint's query values and the first page number."""
    query_wires = {p.wire_name for p in op.parameters if p.location.value == "query"}
    pairs = [(wire, value) for wire, value in endpoint.params.items() if wire in query_wires]
    pg = op.pagination
    if pg.style.value == "page" and pg.position_param:
        pairs.append((pg.position_param, str(pg.first_page)))
    return ("?" + urlencode(pairs)) if pairs else ""


def replay(sdk: CorpusSdk, op: Operation, method: str, target: str) -> list[Any]:
    """What Prism returns for the request the SDK made, fetched directly, at the SDK's record path."""
    headers = {"Accept": "application/json"}
    for cred in sdk.info.credentials:
        value = sdk.secrets[cred.name]
        if cred.location.value == "header":
            headers[cred.wire_name] = value
    auth = sdk.spec.auth
    if auth.scheme.value == "bearer":
        headers["Authorization"] = f"Bearer {sdk.secrets[auth.credential or 'token']}"
    basic = (sdk.secrets.get(auth.username_credential or ""), sdk.secrets.get(auth.credential or "")) \
        if auth.scheme.value == "basic" else None
    if auth.scheme.value == "api_key_query":
        target += ("&" if "?" in target else "?") + f"{auth.param_name}={sdk.secrets[auth.credential or '']}"
    response = httpx.request(method, sdk.server.url.rstrip("/") + target, headers=headers,
                             auth=basic if basic and all(basic) else None, timeout=60)  # type: ignore[arg-type]
    assert response.status_code == 200, f"{target}: {response.status_code} {response.text[:300]}"
    node: Any = response.json()
    for key in op.record_path:
        node = node.get(key, []) if isinstance(node, dict) else []
    assert isinstance(node, list)
    return node


@pytest.mark.parametrize(("entry", "endpoint"), CASES, ids=[f"{s.id}:{e.path}" for s, e in CASES])
def test_list_endpoint_through_the_wasm_sdk_matches_prism(
    corpus_sdks: dict[str, CorpusSdk], service: SdkService, entry: CorpusSpec, endpoint: CorpusEndpoint,
) -> None:
    sdk = corpus_sdks[entry.id]
    op = operation_for(sdk.spec, endpoint)
    params = params_for(op, endpoint)
    before = len(sdk.server.received())
    with service.open_session(sdk.tenant, sdk.info.name, run_id="corpus") as session:
        first = session.call_raw(op.id, params)
        pages, token, note = 1, first.next, first.paging_note
        while token is not None and pages < 5:
            page = session.call_raw(op.id, {**params, "_next": token})
            pages, token, note = pages + 1, page.next, page.paging_note or note
    received = sdk.server.received()[before:]
    assert received, f"{entry.id} {op.id}: Prism received no request"
    method, target = received[0]  # Prism logs the path without the query: add what the SDK sends
    expected = replay(sdk, op, method, target + first_page_query(op, endpoint))
    assert expected, f"{entry.id} {op.id}: Prism returned no records for {target}; pick another endpoint"
    assert first.records == expected
    assert token is None, f"{entry.id} {op.id}: paging did not end after {pages} pages"
    if op.pagination.style.value != "none" and pages > 1:
        assert note is not None and "repeated page 1 (" in note
    violations = [v for v in sdk.server.request_violations() if op.path.split("/")[-1] in v] or []
    assert violations == [], violations


def test_every_served_spec_builds_with_its_decisions_shown(corpus_sdks: dict[str, CorpusSdk]) -> None:
    for entry_id, sdk in corpus_sdks.items():
        listed = {d.operation for d in sdk.info.decisions}
        for endpoint in sdk.entry.endpoints:
            op = operation_for(sdk.spec, endpoint)
            assert op.id in listed, (entry_id, op.id)
        assert sdk.info.base_url == sdk.server.url and sdk.info.base_url_evidence == "--base-url"
        assert sdk.info.test_results is not None and sdk.info.test_results.target == "sample_responses"


def test_a_wrong_selector_is_a_loud_error_naming_what_the_response_held(
    corpus_sdks: dict[str, CorpusSdk], service: SdkService, new_tenant: Callable[..., str],
    tenants: TenantService, credentials: CredentialStore,
) -> None:
    """Silent zero: Xero's contacts read with the selector of invoices."""
    xero = corpus_sdks["xero_accounting"]
    tenant = new_tenant("zero")
    tenants.allow_private_egress(tenant, xero.server.host_port)
    wrong = parse_overrides(None, ["get_contacts.record_path=Invoices"])
    info = service.build(tenant, xero.entry.file, base_url=xero.server.url, overrides=wrong)
    for name, value in xero.secrets.items():
        credentials.set(tenant, name, value, sdk=info.name)
    service.activate(tenant, info.name, info.version)
    with service.open_session(tenant, info.name) as session, pytest.raises(EmptySelectionError) as caught:
        session.call("get_contacts", {})
    assert caught.value.selector == ("Invoices",) and caught.value.held == (("Contacts", 1),)
    assert str(caught.value) == (
        f"tenant {tenant!r}, SDK {info.name!r} v1, operation 'get_contacts': the response held 1 item under "
        "`Contacts` but the selector `Invoices` found no records: the SDK reads records from the wrong place. "
        "Rebuild it with --set get_contacts.record_path=Contacts (erp sdk build ... --set), or check the "
        f"response with `erp sdk check {tenant} {info.name} get_contacts`"
    )
