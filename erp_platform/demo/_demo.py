"""The end-to-end demo: two tenants syncing from the mock ERP into their own schemas through Dagster.

``erp demo`` (what ``make demo`` runs): embedded Postgres (unless ERP_DATABASE_URL is set), the local
object store and credential store, the mock ERP, two tenants (free and enterprise), an SDK built from the
mock's OpenAPI document and activated for each, the ``sales_sync`` workflow applied and activated for
each, one materialisation each through Dagster's run queue, a summary, then the Dagster UI.
Everything is idempotent: running it again reuses what exists.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from sqlalchemy import text

from erp_platform._errors import ErpPlatformError, NotFoundError
from erp_platform._platform import Platform
from erp_platform.db import quote_ident


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    tier: str
    name: str
    erp_code: str
    token: str


DEMO_TENANTS = (
    DemoTenant("acme", "free", "Acme Trading GmbH", "acme", "tok-acme"),
    DemoTenant("globex", "enterprise", "Globex Corporation", "globex", "tok-globex"),
)
SDK_NAME = "mock_erp"
SPEC_FILENAME = "mock_erp.openapi.json"
WORKFLOW_ID = "sales_sync"
TABLES = ("customers", "sales_orders")


@dataclass
class TenantResult:
    slug: str
    tier: str
    sdk_version: int = 0
    workflow_version: int = 0
    run_id: str = ""
    status: str = ""
    run_seconds: float = 0.0
    queue_to_start_seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    failure: str | None = None


@dataclass
class DemoRun:
    """A run of a demo tenant that started while the demo ran, and what started it."""

    tenant: str
    run_id: str
    trigger: str  # demo, sensor <name>, schedule <name> or other
    status: str


@dataclass
class DemoSummary:
    mock_erp_url: str
    rows_per_entity: int
    ui_url: str | None
    tenants: list[TenantResult]
    setup_seconds: float
    total_seconds: float
    runs: list[DemoRun] = field(default_factory=list)

    def runs_by_trigger(self) -> dict[str, int]:
        """Every run the demo caused, counted by what started it (the demo itself, sensors, schedules)."""
        counts: dict[str, int] = {}
        for run in self.runs:
            counts[run.trigger] = counts.get(run.trigger, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def ok(self) -> bool:
        return all(t.status == "SUCCESS" for t in self.tenants)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "mock_erp_url": self.mock_erp_url,
            "rows_per_entity": self.rows_per_entity,
            "ui_url": self.ui_url,
            "setup_seconds": round(self.setup_seconds, 2),
            "total_seconds": round(self.total_seconds, 2),
            "tenants": [t.__dict__ for t in self.tenants],
            "runs": [r.__dict__ for r in self.runs],
            "runs_by_trigger": self.runs_by_trigger(),
        }


def workflow_text() -> str:
    """The ``sales_sync`` workflow for the mock ERP (its ``erp_tenant`` parameter: the company code)."""
    return resources.files("erp_platform.demo").joinpath("sales_sync.yaml").read_text()


def workflow_params(tenant: DemoTenant) -> dict[str, str]:
    """The values ``sales_sync`` is applied with for ``tenant`` (``--param erp_tenant=...``)."""
    return {"erp_tenant": tenant.erp_code}


def sdk_headers(tenant: DemoTenant) -> dict[str, str]:
    """The constant headers the demo SDK sends: the mock ERP's company header (``--header``)."""
    return {"X-ERP-Tenant": tenant.erp_code}


def prepare_tenant(plat: Platform, tenant: DemoTenant, mock_url: str, spec: bytes) -> TenantResult:
    """Onboard the tenant (idempotently) with credentials, egress exception, SDK and workflow."""
    from erp_platform.sdks import SdkService
    from erp_platform.workflows import WorkflowRegistry, registry_catalog_factory
    from sdk_builder import load_spec

    result = TenantResult(slug=tenant.slug, tier=tenant.tier)
    try:
        info = plat.tenants.get(tenant.slug)
        if info.tier != tenant.tier:
            plat.tenants.set_tier(tenant.slug, tenant.tier)
        if info.status != "active":
            plat.tenants.set_status(tenant.slug, "active")
    except NotFoundError:
        plat.tenants.create(tenant.slug, tenant.tier, name=tenant.name)
    plat.credentials.set(tenant.slug, "token", tenant.token, sdk=SDK_NAME)
    host_port = mock_url.split("://", 1)[1].rstrip("/")
    plat.tenants.allow_private_egress(tenant.slug, host_port)

    sdks = SdkService.from_platform(plat)
    headers = sdk_headers(tenant)
    wanted = load_spec(spec, filename=SPEC_FILENAME, name=SDK_NAME, headers=headers).spec.spec_hash
    existing = [s for s in sdks.list(tenant.slug) if s.name == SDK_NAME and s.status == "ACTIVE"]
    current = next((s for s in reversed(existing) if s.spec_hash == wanted), None)
    if current is None:
        built = sdks.build(tenant.slug, spec, filename=SPEC_FILENAME, name=SDK_NAME, headers=headers)
        if built.status != "TESTING":
            raise ErpPlatformError(
                f"the demo SDK for {tenant.slug} failed its sandbox tests: {built.test_results}"
            )
        current = sdks.activate(tenant.slug, SDK_NAME, built.version)
    result.sdk_version = current.version

    registry = WorkflowRegistry(plat.engine, registry_catalog_factory(plat.engine))
    record, _ = registry.apply(tenant.slug, workflow_text(), "sales_sync.yaml", workflow_params(tenant))
    if record.status != "ACTIVE":
        record = registry.activate(tenant.slug, record.workflow_id, record.version)
    result.workflow_version = record.version
    return result


def table_rows(plat: Platform, slug: str) -> dict[str, int]:
    """Row counts of the demo tables, read under the tenant's own role."""
    from erp_platform.tenancy import tenant_transaction

    info = plat.tenants.get(slug)
    counts: dict[str, int] = {}
    with tenant_transaction(plat.engine, info) as conn:
        for table in TABLES:
            exists = conn.execute(
                text("SELECT to_regclass(:t)"), {"t": f"{info.schema_name}.{table}"}
            ).scalar()
            counts[table] = (
                int(conn.execute(text(f"SELECT count(*) FROM {quote_ident(table)}")).scalar_one())
                if exists
                else 0
            )
    return counts


def run_timings(instance: Any, run_id: str) -> tuple[float, float, dict[str, float]]:
    """(queue-to-start seconds, run seconds, seconds per step) from Dagster's event log."""
    from dagster import DagsterEventType

    enqueued = start = end = None
    step_start: dict[str, float] = {}
    steps: dict[str, float] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None:
            continue
        kind = event.event_type
        if kind == DagsterEventType.RUN_ENQUEUED:
            enqueued = record.timestamp
        elif kind == DagsterEventType.RUN_START:
            start = record.timestamp
        elif kind in (DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE):
            end = record.timestamp
        elif kind == DagsterEventType.STEP_START and event.step_key:
            step_start[event.step_key] = record.timestamp
        elif (kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE)
              and event.step_key and event.step_key in step_start):
            steps[event.step_key.split("__")[-1]] = round(record.timestamp - step_start[event.step_key], 3)
    queue = (start - enqueued) if start and enqueued else 0.0
    duration = (end - start) if end and start else 0.0
    return round(queue, 3), round(duration, 3), steps


def runs_since(instance: Any, slugs: list[str], since: float) -> list[DemoRun]:
    """Runs of ``slugs`` created at or after ``since`` (a Unix time), oldest first, with their trigger."""
    from datetime import UTC, datetime

    from dagster import RunsFilter

    found: list[DemoRun] = []
    for slug in slugs:
        records = instance.get_run_records(
            RunsFilter(tags={"erp/tenant": slug}, created_after=datetime.fromtimestamp(since, UTC))
        )
        for record in sorted(records, key=lambda r: r.create_timestamp):
            tags = record.dagster_run.tags
            if tags.get("erp/trigger") == "demo":
                trigger = "demo"
            elif "dagster/sensor_name" in tags:
                trigger = f"sensor {tags['dagster/sensor_name']}"
            elif "dagster/schedule_name" in tags:
                trigger = f"schedule {tags['dagster/schedule_name']}"
            else:
                trigger = "other"
            found.append(DemoRun(slug, record.dagster_run.run_id, trigger, record.dagster_run.status.value))
    return found


def run_demo(
    plat: Platform, *, rows: int, ui: bool, port: int, mock_port: int, on_ready: Any = None
) -> DemoSummary:
    """Run the whole demo; ``on_ready(summary, stack)`` is called once the runs are done (UI still up)."""
    import httpx

    from erp_platform.mock_erp import MockErpConfig, MockErpProcess
    from erp_platform.orchestration._launch import launch_workflow_run, run_failure_message, wait_for_run
    from erp_platform.orchestration._supervisor import DevStack
    from erp_platform.queue import open_instance
    from erp_platform.registry import migrate

    t0 = time.monotonic()
    migrate(plat.engine)
    with MockErpProcess(MockErpConfig(rows=rows, seed=42), port=mock_port) as mock:
        spec = httpx.get(f"{mock.base_url}/openapi.json", timeout=30).content
        results = [prepare_tenant(plat, tenant, mock.base_url, spec) for tenant in DEMO_TENANTS]
        started = time.time() - 1.0  # runs created from here on (the daemon's sensors start with the stack)
        with (
            DevStack(plat, port=port, webserver=ui) as stack,
            open_instance(plat, stack.dagster_env) as instance,
        ):
            setup = time.monotonic() - t0
            for result in results:
                result.run_id = launch_workflow_run(
                    instance, result.slug, WORKFLOW_ID, tags={"erp/trigger": "demo"}
                )
            for result in results:
                status = wait_for_run(instance, result.run_id, timeout=1800)
                result.status = status.value
                if result.status != "SUCCESS":
                    result.failure = run_failure_message(instance, result.run_id)
                result.queue_to_start_seconds, result.run_seconds, result.steps = run_timings(
                    instance, result.run_id
                )
                result.rows = table_rows(plat, result.slug)
            summary = DemoSummary(
                mock_erp_url=mock.base_url,
                rows_per_entity=rows,
                ui_url=stack.url if ui else None,
                tenants=results,
                setup_seconds=setup,
                total_seconds=time.monotonic() - t0,
                runs=runs_since(instance, [t.slug for t in DEMO_TENANTS], started),
            )
            if on_ready is not None:
                on_ready(summary, stack)
    return summary
