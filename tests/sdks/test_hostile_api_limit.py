"""One API-call limiter for every path to an ERP: ``erp sdk call`` takes from the tenant's shared bucket.

Each ``erp sdk call`` is a new process, so a per-process limiter let every call through; the shared
(Postgres) bucket counts the calls of every process of the tenant, and only of that tenant.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from erp_platform.credentials import CredentialStore
from erp_platform.mock_erp import MockErpServer
from erp_platform.queue import PostgresRateLimiter
from erp_platform.sandbox import RateLimited
from erp_platform.sdks import SdkService, SdkVersionInfo
from erp_platform.tenancy import TenantService
from tests.sdks.conftest import ERP_AUTH, connect_tenant
from tests.support.cli import ErpCli


def cli_ready_tenant(cli: ErpCli, new_tenant: Callable[..., str], mock_erp: MockErpServer, spec: Path,
                     prefix: str) -> str:
    """A tenant with the mock ERP's SDK built and activated through the CLI, credentials and egress set."""
    tenant = new_tenant(prefix)
    for name, secret in (("token", ERP_AUTH["acme"].token), ("x_erp_tenant", "acme")):
        assert cli("credentials", "set", tenant, name, "--sdk", "mock_erp", input=secret).code == 0
    assert cli("tenant", "allow-egress", tenant, f"127.0.0.1:{mock_erp.port}").code == 0
    built = cli("sdk", "build", tenant, "--spec", str(spec), "--json", timeout=600)
    assert built.code == 0, built.stderr
    activated = cli("sdk", "activate", tenant, "mock_erp", str(built.json()["version"]))
    assert activated.code == 0, activated.stderr
    return tenant


def call(cli: ErpCli, tenant: str) -> tuple[int, str]:
    result = cli("sdk", "call", tenant, "mock_erp", "list_customers", "--params", '{"_page_size": 3}')
    return result.code, result.stderr


def test_sdk_call_goes_through_the_tenants_shared_limiter(
    cli: ErpCli, new_tenant: Callable[..., str], mock_erp: MockErpServer, mock_spec: bytes, tmp_path: Path
) -> None:
    spec = tmp_path / "mock_erp.openapi.json"
    spec.write_bytes(mock_spec)
    limited = cli_ready_tenant(cli, new_tenant, mock_erp, spec, "rl_a")
    other = cli_ready_tenant(cli, new_tenant, mock_erp, spec, "rl_b")
    quota = cli("tenant", "set-quota", limited, "--max-api-calls-per-minute", "2")
    assert quota.code == 0, quota.stderr

    outcomes = [call(cli, limited) for _ in range(4)]
    granted = [code for code, _ in outcomes if code == 0]
    refused = [stderr for code, stderr in outcomes if code != 0]
    assert outcomes[0][0] == 0, outcomes[0][1]
    assert len(granted) <= 2, outcomes  # a limit of 2 per minute: never 4 calls in a few seconds
    assert refused, outcomes
    assert all(code in (0, 2) for code, _ in outcomes), outcomes
    message = refused[0].strip()
    assert re.fullmatch(
        rf"error: .*GET .*/customers.*: tenant '{limited}' is over its rate limit of 2 requests/minute "
        r"\(max_api_calls_per_minute\); the next request would wait \d+\.\d\ds, more than 5s: retry in "
        rf"\d+s, or raise the limit \(`erp tenant set-quota {limited} --max-api-calls-per-minute N`\)",
        message,
    ), message

    # tenant B's bucket is its own: A being over its limit does not slow or refuse B
    for _ in range(3):
        code, stderr = call(cli, other)
        assert code == 0, stderr


def test_runs_and_direct_calls_take_from_the_same_bucket(
    service: SdkService, mock_sdk_factory: Callable[..., SdkVersionInfo], tenants: TenantService,
    credentials: CredentialStore, mock_erp: MockErpServer, engine: Engine,
) -> None:
    """A run's limiter (workflow-aware) and the service's default one (CLI, sensors, assistant) share the
    tenant's bucket: requests of one path leave fewer for the other."""
    info = mock_sdk_factory("rl_shared")
    connect_tenant(tenants, credentials, mock_erp, info.tenant)
    service.activate(info.tenant, info.name, info.version)
    tenants.set_quotas(info.tenant, {"max_api_calls_per_minute": 2})
    PostgresRateLimiter(engine, workflow="sync").acquire(info.tenant)  # what a run's extract takes
    with pytest.raises(RateLimited, match=rf"tenant '{info.tenant}' is over its rate limit of 2 requests/minute"):
        service.call(info.tenant, info.name, "list_customers", {"_page_size": 2})
