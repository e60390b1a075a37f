"""Each ACTIVE SDK version is a Dagster resource of its tenant's code location: visible in the UI's Resources
view with its version, spec hash, domains and operations and the assets that use it; a hand-written asset in
``$ERP_HOME/code/<tenant>/`` takes it and calls the typed facade, runs through the run queue with the same
sandbox, credentials, rate limits and audit as generated assets, and cannot reach another tenant's SDK."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from erp_platform import InvalidInputError, TenantIsolationError
from erp_platform.orchestration import tenant_code_dir
from erp_platform.orchestration._launch import run_failure_message, tenant_workspace, wait_for_run
from erp_platform.orchestration._tenant_code import load_tenant_code
from tests.orchestration.workflows import small_sync
from tests.support.stack import Stack

A, B = "res_acme", "res_globex"

SMALL = small_sync()

# What the README shows a data engineer: a plain Dagster asset that takes the tenant's SDK resource.
TOP_CUSTOMERS = f'''
import dagster as dg

from erp_platform.orchestration import ErpSdkResource


@dg.asset(key=["{A}", "reports", "{A}__top_customers"], group_name="{A}__reports")
def top_customers(context: dg.AssetExecutionContext, mock_erp: ErpSdkResource) -> dg.MaterializeResult:
    """The five customers with the highest balance, read through the typed SDK facade."""
    page = mock_erp.list_customers(_page_size=100)
    top = sorted(page.records, key=lambda c: c.balance or 0, reverse=True)[:5]
    context.log.info(f"read {{len(page.records)}} customers")
    return dg.MaterializeResult(metadata={{
        "customers": len(page.records),
        "top": ", ".join(c.name or "?" for c in top),
        "next_page": page.next or "-",
    }})
'''

# Hostile: tenant A's code builds tenant B's SDK resource (every field copied from B's location).
REACH_B = f'''
import dagster as dg

from erp_platform.orchestration import ErpSdkResource


@dg.asset(key=["{A}", "reports", "{A}__globex_customers"], group_name="{A}__reports")
def globex_customers() -> dg.MaterializeResult:
    other = ErpSdkResource(**{{B_FIELDS}})
    page = other.call("list_customers", {{"_page_size": 5}})
    return dg.MaterializeResult(metadata={{"customers": len(page.records)}})
'''

RESOURCES = """
query($loc: String!) {
  allTopLevelResourceDetailsOrError(repositorySelector: {repositoryLocationName: $loc,
                                                         repositoryName: "__repository__"}) {
    ... on ResourceDetailsList { results { name description configuredValues { key value }
                                           assetKeysUsing { path } } }
    ... on PythonError { message }
  }
}"""

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}"""


def _graphql(stack: Stack, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    import httpx

    body = httpx.post(f"{stack.dev.url}/graphql", json={"query": query, "variables": variables}, timeout=60).json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def materialize(stack: Stack, tenant: str, key: list[str]) -> str:
    """Launch a run of one asset through the run queue (the UI's Materialize button: GraphQL launchRun)."""
    from dagster_graphql.cli import execute_query

    params = {
        "selector": {"repositoryLocationName": f"tenant_{tenant}", "repositoryName": "__repository__",
                     "jobName": "__ASSET_JOB", "assetSelection": [{"path": key}]},
        "runConfigData": {},
    }
    with tenant_workspace(stack.instance, tenant) as ctx:
        result = execute_query(ctx, LAUNCH, {"params": params})
    payload = result["data"]["launchRun"]
    assert payload["__typename"] == "LaunchRunSuccess", payload
    return str(payload["run"]["runId"])


def requests_of(stack: Stack, run_id: str) -> list[tuple[str, str, str]]:
    with stack.platform.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT tenant_slug, sdk_name, operation FROM erp_control.sdk_requests WHERE run_id = :r"),
            {"r": run_id},
        ).all()
    return [tuple(r) for r in rows]


@pytest.fixture(scope="module")
def tenants(stack: Stack) -> Stack:
    stack.onboard(A, "standard", erp_code="acme", token="tok-acme")
    stack.onboard(B, "standard", erp_code="globex", token="tok-globex")
    for slug in (A, B):
        stack.apply_workflow(slug, SMALL)
    home = stack.platform.settings.resolved_home
    folder = tenant_code_dir(home, A)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "top_customers.py").write_text(TOP_CUSTOMERS)
    stack.refresh_locations()
    return stack


def resources(stack: Stack, tenant: str) -> dict[str, dict[str, Any]]:
    found = _graphql(stack, RESOURCES, {"loc": f"tenant_{tenant}"})["allTopLevelResourceDetailsOrError"]
    return {r["name"]: r for r in found["results"]}


def test_the_resources_view_shows_each_active_sdk_and_the_assets_using_it(tenants: Stack) -> None:
    from erp_platform.sdks import SdkService

    info = SdkService.from_platform(tenants.platform).get(A, "mock_erp")
    sdk = resources(tenants, A)["mock_erp"]
    values = {v["key"]: v["value"] for v in sdk["configuredValues"]}
    assert values["tenant"] == f'"{A}"'
    assert values["sdk_name"] == '"mock_erp"'
    assert values["sdk_version"] == str(info.version)
    assert values["spec_hash"] == f'"{info.spec_hash}"'
    assert values["allowed_domains"] == '["127.0.0.1"]'
    assert '"list_customers"' in values["operations"] and '"odata_v4_list_customers"' in values["operations"]
    assert sdk["description"].startswith("An ACTIVE SDK version of the tenant, run in the WASM sandbox")
    using = sorted("/".join(k["path"]) for k in sdk["assetKeysUsing"])
    assert using == [f"{A}/reports/{A}__top_customers", f"{A}/small_sync/{A}__customers"]
    assert list(resources(tenants, B)) == ["io_manager", "mock_erp"]  # B's location: B's SDK only
    assert [k["path"] for k in resources(tenants, B)["mock_erp"]["assetKeysUsing"]] == [
        [B, "small_sync", f"{B}__customers"]]


def test_generated_extracts_run_through_the_resource(tenants: Stack) -> None:
    run_id, status = tenants.run(A, "small_sync")
    assert status == "SUCCESS", run_failure_message(tenants.instance, run_id)
    assert set(requests_of(tenants, run_id)) == {(A, "mock_erp", "list_customers")}


def test_a_hand_written_asset_calls_the_typed_facade_through_the_run_queue(tenants: Stack) -> None:
    run_id = materialize(tenants, A, [A, "reports", f"{A}__top_customers"])
    assert wait_for_run(tenants.instance, run_id, timeout=300).value == "SUCCESS", (
        run_failure_message(tenants.instance, run_id))
    run = tenants.instance.get_run_by_id(run_id)
    assert (run.tags["erp/tenant"], run.tags["erp/tier"]) == (A, "standard")  # admitted by the run queue
    event = tenants.instance.get_latest_materialization_event(
        __import__("dagster").AssetKey([A, "reports", f"{A}__top_customers"]))
    meta = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    first_page = list(tenants.mock.expected_records("acme", "customers"))[:100]
    top = sorted(first_page, key=lambda c: c["balance"], reverse=True)[:5]
    assert meta["customers"] == 100
    assert meta["top"] == ", ".join(c["name"] for c in top)
    assert requests_of(tenants, run_id) == [(A, "mock_erp", "list_customers")]  # audited with the run id


def test_a_hand_written_asset_cannot_reach_another_tenants_sdk(tenants: Stack) -> None:
    b_sdk = resources(tenants, B)["mock_erp"]
    fields = {v["key"]: __import__("json").loads(v["value"]) for v in b_sdk["configuredValues"]}
    folder = tenant_code_dir(tenants.platform.settings.resolved_home, A)
    (folder / "globex_customers.py").write_text(REACH_B.replace("{B_FIELDS}", repr(fields)))
    try:
        tenants.refresh_locations()
        run_id = materialize(tenants, A, [A, "reports", f"{A}__globex_customers"])
        assert wait_for_run(tenants.instance, run_id, timeout=300).value == "FAILURE"
        failure = run_failure_message(tenants.instance, run_id)
        assert failure == (
            f"{A}__reports__{A}__globex_customers: TenantIsolationError: SDK mock_erp of tenant 'res_globex' "
            "cannot be used by tenant 'res_acme''s code: each tenant's code location provides its own SDK "
            "resources; use those"
        )
        assert requests_of(tenants, run_id) == []  # nothing reached the ERP
    finally:
        (folder / "globex_customers.py").unlink()
        tenants.refresh_locations()


def test_the_resource_refuses_use_outside_a_tenant_run(tenants: Stack) -> None:
    from erp_platform.orchestration._resources import active_sdks

    [sdk] = active_sdks(tenants.platform.engine, tenants.platform.tenants.get(A))
    with pytest.raises(TenantIsolationError) as caught:
        sdk.resource.call("list_customers", {"_page_size": 1})
    assert str(caught.value) == (
        "SDK mock_erp of tenant 'res_acme' cannot be used by code outside a tenant's run or code location: "
        "each tenant's code location provides its own SDK resources; use those"
    )


@pytest.mark.parametrize(
    ("name", "source", "error", "message"),
    [
        ("other_tenant.py",
         'import dagster as dg\n\n@dg.asset(key=["res_globex", "x"])\ndef x() -> None: ...\n',
         TenantIsolationError,
         "{path}: asset res_globex/x is outside tenant 'res_acme': every asset key of the tenant's code starts "
         "with its slug, e.g. key=['res_acme', \"reports\", \"res_acme__x\"] or key_prefix=['res_acme']"),
        ("broken.py", "import dagster as dg\n\ndef x(:\n", InvalidInputError,
         "{path}: importing the tenant's code failed: SyntaxError: invalid syntax (broken.py, line 3); fix the "
         "file (the tenant's code location loads again once it imports)"),
        ("Top-Customers.py", "x = 1\n", InvalidInputError,
         "{path}: a code file's name must be a lowercase Python module name (letters, digits and _, not "
         "starting with a digit), e.g. top_customers.py; rename it"),
    ],
)
def test_bad_tenant_code_is_refused_with_the_file(
    tmp_path: Path, name: str, source: str, error: type[Exception], message: str
) -> None:
    folder = tenant_code_dir(tmp_path, A)
    folder.mkdir(parents=True)
    path = folder / name
    path.write_text(source)
    with pytest.raises(error) as caught:
        load_tenant_code(tmp_path, A)
    assert str(caught.value) == message.format(path=path)
