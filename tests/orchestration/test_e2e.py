"""End to end through a real Dagster instance on Postgres, the daemon and the run queue: apply, activate,
run; the rows in the tenant's schema equal the mock ERP's data; re-runs and incremental runs converge.

Every test runs in both process modes: ``forkserver`` (the package's stack: runs and code servers forked
from the fork server) and ``stock`` (Dagster's ``DefaultRunLauncher`` and one ``dagster code-server start``
per tenant over TCP), the latter laid out as docker-compose.yml deploys it: code servers and runs on a
"workers host", webserver and daemon on a "control host" (``erp dev --no-workers``), each with its own
ERP_HOME, sharing only the database, the object store and the credential key."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from erp_platform.demo import workflow_text
from erp_platform.orchestration._workspace import workspace_target
from tests.orchestration.workflows import small_sync
from tests.support.database import fresh_database
from tests.support.stack import Stack, running_stack, wait_until

TENANT = "e2e_acme"


@pytest.fixture(scope="module", params=["forkserver", "stock"])
def e2e_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The running platform in each process mode (the stock one only for this module's tests)."""
    if request.param == "forkserver":
        yield request.getfixturevalue("stack")
        return
    with fresh_database("erp_stock") as url, running_stack(
        url, tmp_path_factory.mktemp("stock_home"), rows=300, webserver=True, process_mode="stock", split=True
    ) as running:
        yield running


@pytest.fixture(scope="module")
def synced(e2e_stack: Stack) -> Stack:
    stack = e2e_stack
    stack.onboard(TENANT, "standard", erp_code="acme", token="tok-acme")
    record = stack.apply_workflow(TENANT, workflow_text(), params={"erp_tenant": "acme"})
    assert record.status == "ACTIVE"
    run_id, status = stack.run(TENANT, "sales_sync")
    assert status == "SUCCESS", run_id
    return stack


def _expected(stack: Stack, entity: str) -> list[dict]:
    return list(stack.mock.expected_records("acme", entity))


def test_customers_equal_the_erp(synced: Stack) -> None:
    rows = synced.table(TENANT, "customers", "customer_id")
    expected = _expected(synced, "customers")
    assert len(rows) == len(expected) == 300
    for row, erp in zip(rows, expected, strict=True):
        assert row["customer_id"] == erp["id"]
        assert row["customer_number"] == erp["number"]
        assert row["name"] == erp["name"]
        assert row["country"] == erp["country"]
        assert row["balance"] == Decimal(str(erp["balance"])).quantize(Decimal("0.01"))
        assert row["is_active"] == erp["is_active"]
        assert row["_erp_run_id"]


def test_orders_equal_the_erp_and_carry_their_customer(synced: Stack) -> None:
    rows = synced.table(TENANT, "sales_orders", "order_id")
    orders = _expected(synced, "sales_orders")
    customers = {c["id"]: c for c in _expected(synced, "customers")}
    assert [r["order_id"] for r in rows] == [o["id"] for o in orders]
    for row, erp in zip(rows, orders, strict=True):
        assert row["order_number"] == erp["number"]
        assert row["status"] == erp["status"]
        assert row["total_amount"] == Decimal(str(erp["total_amount"])).quantize(Decimal("0.01"))
        assert row["customer_name"] == customers[erp["customer_id"]]["name"]
        assert row["is_large"] == (erp["total_amount"] >= 1000)


def test_runs_carry_the_artifact_tags(synced: Stack) -> None:
    from dagster import RunsFilter

    runs = synced.instance.get_runs(RunsFilter(tags={"erp/tenant": TENANT}))
    assert runs
    tags = runs[0].tags
    assert tags["erp/tier"] == "standard"
    assert tags["erp/workflow"] == "sales_sync"
    assert tags["erp/workflow_version"] == "1"
    assert len(tags["erp/workflow_hash"]) == 64
    assert tags["erp/tenant_standard"] == TENANT


def test_rerun_never_duplicates(synced: Stack) -> None:
    before = synced.table(TENANT, "customers", "customer_id")
    _, status = synced.run(TENANT, "sales_sync")
    assert status == "SUCCESS"
    after = synced.table(TENANT, "customers", "customer_id")
    assert [r["customer_id"] for r in after] == [r["customer_id"] for r in before]
    # unchanged rows are not rewritten: they keep the run id of the run that loaded them
    assert [r["_erp_run_id"] for r in after] == [r["_erp_run_id"] for r in before]


def test_incremental_run_picks_up_new_and_changed_orders(synced: Stack) -> None:
    before = len(_expected(synced, "sales_orders"))  # the stack's mock ERP is shared with other modules' tests
    synced.mock.simulate("acme", "sales_orders", append=7, touch=(1, 2, 3))
    _, status = synced.run(TENANT, "sales_sync")
    assert status == "SUCCESS"
    rows = {r["order_id"]: r for r in synced.table(TENANT, "sales_orders", "order_id")}
    expected = {o["id"]: o for o in _expected(synced, "sales_orders")}
    assert sorted(rows) == sorted(expected)
    assert len(rows) == before + 7
    for order_id in (1, 2, 3):
        assert rows[order_id]["status"] == expected[order_id]["status"]
        assert rows[order_id]["total_amount"] == Decimal(str(expected[order_id]["total_amount"])).quantize(
            Decimal("0.01")
        )


def test_extract_checkpoint_and_cursor_recorded(synced: Stack) -> None:
    from sqlalchemy import text

    with synced.platform.engine.connect() as conn:
        cursor = conn.execute(
            text(
                "SELECT c.cursor_value FROM erp_control.sync_cursors c "
                "JOIN erp_control.tenants t ON t.id = c.tenant_id "
                "WHERE t.slug = :s AND c.activity_id = 'orders'"
            ),
            {"s": TENANT},
        ).scalar_one()
    newest = max(o["updated_at"] for o in _expected(synced, "sales_orders"))
    assert cursor[:19] == newest[:19]


def test_outputs_stored_per_attempt_in_the_tenant_prefix(synced: Stack) -> None:
    from erp_platform.objectstore import tenant_prefix

    keys = [k.path for k in synced.platform.objects.list(tenant_prefix(TENANT))]
    outputs = [k for k in keys if "/activities/sales_sync.customers/attempt-" in k]
    assert outputs and all(k.startswith(f"tenants/{TENANT}/executions/") for k in outputs)
    assert all(k.endswith(".parquet") for k in outputs)


def _graphql(stack: Stack, query: str, variables: dict | None = None) -> dict:
    import httpx

    response = httpx.post(
        f"{stack.dev.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60
    )
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_ui_lists_tenant_code_locations_and_the_asset_graph(synced: Stack) -> None:
    locations = _graphql(
        synced, "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    )
    entries = {e["name"]: e["loadStatus"] for e in locations["workspaceOrError"]["locationEntries"]}
    assert entries[f"tenant_{TENANT}"] == "LOADED"
    assets = _graphql(
        synced,
        """
        query($loc: String!) {
          repositoryOrError(repositorySelector: {repositoryLocationName: $loc, repositoryName: "__repository__"}) {
            ... on Repository { assetNodes { assetKey { path } dependencyKeys { path } groupName kinds
                                             assetChecksOrError { ... on AssetChecks { checks { name } } } }
                                jobs { name } schedules { name } sensors { name } }
          }
        }""",
        {"loc": f"tenant_{TENANT}"},
    )["repositoryOrError"]
    nodes = {"/".join(n["assetKey"]["path"]): n for n in assets["assetNodes"]}
    prefix = f"{TENANT}/sales_sync/{TENANT}__"
    assert set(nodes) == {
        prefix + a for a in ("customers", "orders", "orders_enriched", "load_customers", "load_orders")
    }
    deps = {k: sorted("/".join(d["path"]) for d in n["dependencyKeys"]) for k, n in nodes.items()}
    assert deps[prefix + "orders_enriched"] == [prefix + "customers", prefix + "orders"]
    assert deps[prefix + "load_orders"] == [prefix + "orders_enriched"]
    assert nodes[prefix + "customers"]["kinds"] == ["wasm"]
    assert {c["name"] for c in nodes[prefix + "load_orders"]["assetChecksOrError"]["checks"]} == {
        "row_count",
        "business_key",
    }
    assert "sales_sync" in [j["name"] for j in assets["jobs"]]
    assert assets["schedules"][0]["name"] == "sales_sync__schedule_0"
    assert assets["sensors"][0]["name"] == "sales_sync__erp_change_1"


@pytest.mark.parametrize("e2e_stack", ["forkserver"], indirect=True)
def test_ui_renders_the_asset_graph_in_headless_chromium(synced: Stack) -> None:
    """A real browser renders the tenant's lineage page; the screenshot is kept as a test artifact."""
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, (
        "Debian's chromium is needed for this test: `make test` installs it (apt-get install chromium)"
    )
    url = f"{synced.dev.url}/locations/tenant_{TENANT}/asset-groups/{TENANT}__sales_sync"
    out_dir = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
    out_dir.mkdir(parents=True, exist_ok=True)
    shot = out_dir / "tenant_asset_graph.png"
    shot.unlink(missing_ok=True)
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1600,1000",
        "--virtual-time-budget=20000",
    ]
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [browser, *flags, f"--user-data-dir={profile}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [browser, *flags, f"--user-data-dir={profile}", f"--screenshot={shot}", url],
            capture_output=True,
            timeout=120,
            check=True,
        )
    for name in ("customers", "orders_enriched", "load_orders"):
        assert name in dom
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 40_000  # a rendered graph, not a blank page


# What each process mode runs: launcher class, the workspace entry's kind, the run tag naming the worker.
PROCESS_MODEL = {
    "forkserver": ("ErpRunLauncher", "socket", "erp/worker_pid"),
    "stock": ("DefaultRunLauncher", "port", ".dagster/grpc_info"),
}


def test_runs_use_the_launcher_and_code_servers_of_the_process_mode(synced: Stack) -> None:
    from dagster import RunsFilter

    mode = synced.platform.settings.process_mode
    launcher, entry_kind, worker_tag = PROCESS_MODEL[mode]
    assert type(synced.instance.run_launcher).__name__ == launcher
    workspace = Path(synced.instance.root_directory) / "workspace.yaml"
    target = workspace_target(workspace, TENANT)
    assert target is not None
    assert getattr(target, entry_kind) is not None
    entries = yaml.safe_load(workspace.read_text())["load_from"]
    # every tenant location is a gRPC server entry (the shared stack may serve other test tenants too)
    assert f"tenant_{TENANT}" in [e["grpc_server"]["location_name"] for e in entries]
    runs = synced.instance.get_runs(RunsFilter(tags={"erp/tenant": TENANT}))
    assert runs and all(worker_tag in r.tags for r in runs)
    if mode == "stock":  # the daemon reached the tenant's code server over TCP, at the workspace's address
        assert all(f'"port": {target.port}' in r.tags[worker_tag] for r in runs)
        # the control host's workspace names the workers host's server: base port + tenant id
        settings = synced.platform.settings
        tenant_id = synced.platform.tenants.get(TENANT).id
        assert target.port == settings.code_server_port_base + tenant_id
        assert synced.workers.code_server_pid(TENANT) is not None and synced.dev.code_server_pid(TENANT) is None


def test_the_supervisor_reloads_a_changed_tenant_and_restarts_a_dead_code_server(synced: Stack) -> None:
    from dagster._grpc.client import DagsterGrpcClient

    workspace = Path(synced.instance.root_directory) / "workspace.yaml"
    target = workspace_target(workspace, TENANT)
    assert target is not None
    client = DagsterGrpcClient(host=target.host, port=target.port, socket=target.socket)
    before = client.get_server_id()
    synced.apply_workflow(TENANT, SMALL)  # a registry change: the tenant's code location must follow it
    assert client.get_server_id() != before

    pid = synced.code_host.code_server_pid(TENANT)
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    wait_until(lambda: _dead(pid), what="the code server to die")
    synced.code_host.supervise(interval=0.1, stop_after=0.5)  # one supervision round
    restarted = synced.code_host.code_server_pid(TENANT)
    assert restarted is not None and restarted != pid
    _, status = synced.run(TENANT, "small_sync")
    assert status == "SUCCESS"


def _dead(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:  # a zombie until its parent reaps it
            return stat.read().split()[2] == "Z"
    except FileNotFoundError:
        return True


SMALL = small_sync("small_customers")


def _chromium(url: str, *, screenshot: Path | None = None) -> str:
    """The DOM of ``url`` rendered by Debian's headless chromium (and a screenshot when asked)."""
    import shutil
    import subprocess
    import tempfile

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "Debian's chromium is needed for this test: `make test` installs it (apt-get install chromium)"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--window-size=1600,1000", "--virtual-time-budget=20000"]
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run([browser, *flags, f"--user-data-dir={profile}", "--dump-dom", url],
                             capture_output=True, text=True, timeout=120, check=True).stdout
    if screenshot is not None:
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([browser, *flags, f"--user-data-dir={profile}", f"--screenshot={screenshot}", url],
                           capture_output=True, timeout=120, check=True)
    return dom


def test_global_lineage_names_the_tenant_of_each_group_and_asset(synced: Stack) -> None:
    """Dagster labels groups by their name and assets by the last part of their key: both name the tenant.
    The global lineage shows one group per tenant workflow; a group's page shows its assets."""
    out_dir = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
    out_dir.mkdir(parents=True, exist_ok=True)
    lineage = _chromium(f"{synced.dev.url}/asset-groups", screenshot=out_dir / "global_lineage.png")
    assert f"{TENANT}__sales_sync" in lineage
    group = _chromium(f"{synced.dev.url}/locations/tenant_{TENANT}/asset-groups/{TENANT}__sales_sync")
    for activity in ("customers", "orders", "orders_enriched", "load_customers", "load_orders"):
        assert f"{TENANT}__{activity}" in group


def test_a_refused_run_shows_its_reason_only(synced: Stack) -> None:
    from erp_platform.controls import ControlFlags
    from erp_platform.orchestration import RunLaunchError

    flags = ControlFlags(synced.platform.engine)
    flag = flags.set(scope="tenant", scope_id=TENANT, flag_type="pause", reason="ERP upgrade until 18:00")
    try:
        with pytest.raises(RunLaunchError) as caught:
            synced.launch(TENANT, "sales_sync")
    finally:
        flags.clear(flag.id)
    run_id = str(caught.value).split()[1]
    reason = (f"pause flag #{flag.id} on tenant {TENANT} (set by {flag.set_by}: ERP upgrade until 18:00) refuses "
              f"new runs of tenant {TENANT!r}; launch again once an operator clears it "
              f"(`erp ops flag clear {flag.id}`)")
    assert str(caught.value) == f"run {run_id} of {TENANT}/sales_sync was refused: {reason}"
    out_dir = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
    dom = _chromium(f"{synced.dev.url}/runs/{run_id}", screenshot=out_dir / "refused_run.png")
    assert "ERP upgrade until 18:00) refuses new runs" in dom  # the run page's event log
    assert "RunRefused" not in dom and "Traceback" not in dom
