"""Recognising the mock ERP's spec, and serving an in-process mock ERP for an SDK's sandbox tests."""

from __future__ import annotations

import functools
import itertools
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from erp_platform.mock_erp import ENTITIES, MockErpConfig, MockErpServer, TenantAuth, build_openapi, default_tenants
from erp_platform.mock_erp import expected_records as mock_expected_records
from erp_platform.sandbox import AuthScheme, EgressPolicy, SdkManifest
from sdk_builder import Operation, SdkSpec, SourceFormat, load_spec

#: The ERP tenant (company) the sandbox tests read from the mock ERP.
MOCK_TENANT = "acme"
MOCK_ROWS = 30
MOCK_PAGE_SIZE = 4
_TENANT_HEADER = "x-erp-tenant"


@functools.lru_cache(maxsize=1)
def _mock_signature() -> tuple[str, frozenset[tuple[str, str]]]:
    document = json.dumps(build_openapi("http://127.0.0.1:1")).encode("utf-8")
    parsed = load_spec(document, filename="openapi.json", name="mock_erp")
    return parsed.spec.title, frozenset((op.method, op.path) for op in parsed.spec.operations)


def is_mock_spec(spec: SdkSpec) -> bool:
    """True for an SdkSpec built from the mock ERP's OpenAPI document (its title and its operations)."""
    title, operations = _mock_signature()
    return (
        spec.source_format is SourceFormat.OPENAPI_3
        and spec.title == title
        and bool(spec.operations)
        and all((op.method, op.path) in operations for op in spec.operations)
    )


@functools.lru_cache(maxsize=1)
def _entity_paths() -> dict[str, str]:
    paths: dict[str, str] = {}
    for entity in ENTITIES.values():
        paths[f"api/v1/{entity.rest_path}"] = entity.name
        paths[f"api/v1/{entity.rest_path}/{{id}}"] = entity.name
        paths[f"odata/v4/companies({{tenant}})/{entity.v4_set}"] = entity.name
        paths[f"odata/v2/{entity.v2_set}"] = entity.name
    return paths


def mock_entity(op: Operation) -> str | None:
    """The mock ERP entity an operation reads (``customers``, ...), or None."""
    return _entity_paths().get(op.path)


@dataclass(frozen=True)
class MockErpTarget:
    """A running in-process mock ERP and what an SDK session needs to reach it (for one test session)."""

    server: MockErpServer
    manifest: SdkManifest
    egress_policy: EgressPolicy
    secrets: dict[str, str]
    erp_tenant: str = MOCK_TENANT

    def secret(self, name: str) -> str:
        """The test session's secret provider (mock ERP credentials, never the tenant's)."""
        return self.secrets.get(name, f"sample-{name}")

    def expected(self, entity: str, count: int) -> list[dict[str, Any]]:
        """The first ``count`` records of ``entity`` as the mock ERP serves them (REST form)."""
        records = mock_expected_records(self.server.config, self.erp_tenant, entity)
        return list(itertools.islice(records, count))


@contextmanager
def mock_erp_target(manifest: SdkManifest) -> Iterator[MockErpTarget]:
    """Start a mock ERP with fresh credentials and point a copy of ``manifest`` at it.

    The loopback address is allowed for this test session only (its egress policy); the tenant's own
    policy and credentials are not involved. The mock serves the company the SDK sends as a constant
    ``X-ERP-Tenant`` header when it is one of its own (``erp sdk build --header X-ERP-Tenant=globex``), else
    ``acme``.
    """
    auth = TenantAuth(token=secrets.token_urlsafe(16), api_key=secrets.token_urlsafe(16))
    erp_tenant = _constant_tenant_header(manifest) or MOCK_TENANT
    config = MockErpConfig(tenants={erp_tenant: auth}, rows=MOCK_ROWS, seed=0)
    with MockErpServer(config) as server:
        parts = urlsplit(server.base_url)
        host = parts.hostname or "127.0.0.1"
        target_manifest = manifest.model_copy(
            update={"base_url": server.base_url + "/", "allowed_domains": (host,)}
        )
        values: dict[str, str] = {}
        scheme = manifest.auth.scheme
        if manifest.auth.credential:
            values[manifest.auth.credential] = auth.token if scheme is AuthScheme.BEARER else auth.api_key
        if manifest.auth.username_credential:
            values[manifest.auth.username_credential] = f"sample-{manifest.auth.username_credential}"
        for header in manifest.required_headers:
            if header.credential:
                values[header.credential] = (
                    erp_tenant if header.name.lower() == _TENANT_HEADER else f"sample-{header.credential}"
                )
        yield MockErpTarget(
            server=server,
            manifest=target_manifest,
            egress_policy=EgressPolicy(private_allowlist=(f"{host}:{server.port}",)),
            secrets=values,
            erp_tenant=erp_tenant,
        )


def _constant_tenant_header(manifest: SdkManifest) -> str | None:
    """The company of a constant ``X-ERP-Tenant`` header when it is one of the mock ERP's (acme, globex);
    any other company is refused by the mock like by a real ERP, and the tests say so."""
    for header in manifest.required_headers:
        if header.credential is None and header.name.lower() == _TENANT_HEADER:
            return header.value if header.value in default_tenants() else None
    return None
