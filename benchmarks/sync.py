"""Sync benchmark: N rows (default 1,000,000) from the mock ERP into Postgres, several ways, one run.

1. The platform: a workflow (extract through the WASM SDK -> transform in polars -> merge load) run through
   Dagster's run queue on the local stack (fork server, code server, daemon); rows/s end to end and per stage.
   The extract reads the REST endpoint's page numbers 4 pages at a time (``parallel_requests``, default),
   from page 20 on in page workers (at most one more than the cores).
2. The fetch + parse ceiling: the same endpoint and page size read with httpx and parsed with orjson, no
   sandbox, no frames, no storage; one connection (pages one after another), read just before and just after
   the platform run (the mean is the ceiling: this shared machine's speed drifts by tens of percent within
   minutes), and 4 connections in threads.
3. Raw ``COPY`` (CSV streamed from polars: the fastest COPY path from Python) of the same rows (read back
   from the platform's extract output) into a fresh table with a primary key in the same database: the
   ceiling for the load stage.
4. dlt (``rest_api`` source -> ``postgres`` destination, merge on ``id``) syncing the same endpoint into the
   same database, twice: with dlt's defaults (the ERP's default page size of 100 records, ``insert_values``
   files), and tuned (1,000-record pages, the largest the ERP serves; ``csv`` files loaded with COPY;
   2 normalize workers; the resource ``parallelized``). dlt's ``rest_api`` fetches the pages of one
   paginated resource one after another: it has no option to fetch page numbers in parallel.

Also: the time from `erp run` (launching through the queue) to the first step starting, p50/p95 over small
runs. Targets: load stage >= 0.5x raw COPY; extract >= 0.5x the one-connection fetch + parse ceiling; end to
end >= 3x dlt tuned.

Usage: ``python benchmarks/sync.py [--rows N] [--skip-dlt]`` (dlt comes from the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import atexit
import io
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson
import polars as pl
import psycopg
from _common import ROOT, percentile, table

from erp_platform import Platform
from erp_platform.config import load_settings
from erp_platform.mock_erp import MockErpConfig, MockErpProcess
from erp_platform.orchestration._page_workers import workers_for
from erp_platform.registry import migrate
from tests.support.database import fresh_database

WORKFLOW = """
id: bench_sync
activities:
  - id: customers
    type: extract
    config: {sdk: mock_erp, operation: list_customers, page_size: 1000}
  - id: shaped
    type: transform
    config:
      steps:
        - {op: derive, column: label, expr: "upper(country) || '-' || number"}
  - id: load
    type: load
    config:
      table: customers
      business_key: [customer_id]
      mapping:
        columns:
          - {source: id, target: customer_id, type: bigint, nullable: false}
          - {source: number, target: number, type: text}
          - {source: name, target: name, type: text}
          - {source: email, target: email, type: text}
          - {source: phone, target: phone, type: text}
          - {source: city, target: city, type: text}
          - {source: country, target: country, type: text}
          - {source: currency, target: currency, type: text}
          - {source: credit_limit, target: credit_limit, type: "numeric(14,2)"}
          - {source: balance, target: balance, type: "numeric(14,2)"}
          - {source: is_active, target: is_active, type: boolean}
          - {source: label, target: label, type: text}
          - {source: updated_at, target: erp_updated_at, type: timestamptz}
steps:
  - {activity: customers}
  - {activity: shaped, depends_on: [customers]}
  - {activity: load, depends_on: [shaped]}
"""

TINY = """
id: tiny
activities:
  - id: one_page
    type: extract
    config: {sdk: mock_erp, operation: list_items, page_size: 10, max_pages: 1}
"""


def _step_seconds(instance, run_id: str) -> tuple[dict[str, float], float, float]:
    from dagster import DagsterEventType

    starts: dict[str, float] = {}
    steps: dict[str, float] = {}
    run_start = run_end = 0.0
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.RUN_START:
            run_start = record.timestamp
        elif event.event_type in (DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE):
            run_end = record.timestamp
        elif event.event_type == DagsterEventType.STEP_START:
            starts[event.step_key] = record.timestamp
        elif event.event_type == DagsterEventType.STEP_SUCCESS:
            steps[event.step_key.rsplit("__", 1)[-1]] = record.timestamp - starts[event.step_key]
    return steps, run_start, run_end


def _first_step_latency(instance, launch, count: int) -> list[float]:
    from dagster import DagsterEventType

    from erp_platform.orchestration._launch import wait_for_run

    samples = []
    for _ in range(count):
        t0 = time.time()
        run_id = launch()
        wait_for_run(instance, run_id, timeout=300)
        first = min(
            r.timestamp
            for r in instance.all_logs(run_id)
            if r.dagster_event and r.dagster_event.event_type == DagsterEventType.STEP_START
        )
        samples.append(first - t0)
    return samples


def raw_copy(url: str, parquet: Path) -> tuple[int, float]:
    """COPY of the extracted rows (CSV from polars) into a fresh table with a primary key: the load ceiling."""
    frame = pl.read_parquet(parquet)
    cols = [
        "id",
        "number",
        "name",
        "email",
        "phone",
        "city",
        "country",
        "currency",
        "credit_limit",
        "balance",
        "is_active",
        "updated_at",
    ]
    frame = frame.select(cols)
    ddl = (
        "CREATE TABLE raw_copy_customers (customer_id bigint PRIMARY KEY, number text, name text, email text,"
        " phone text, city text, country text, currency text, credit_limit numeric(14,2), balance numeric(14,2),"
        " is_active boolean, erp_updated_at timestamptz)"
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS raw_copy_customers")
        conn.execute(ddl)
        t0 = time.perf_counter()  # encoding the rows for COPY is part of copying them
        buf = io.BytesIO()
        frame.write_csv(buf, include_header=False)
        with conn.cursor() as cur, cur.copy("COPY raw_copy_customers FROM STDIN (FORMAT csv)") as copy:
            view = buf.getbuffer()
            for start in range(0, len(view), 1 << 20):
                copy.write(view[start : start + (1 << 20)])
        elapsed = time.perf_counter() - t0
    return frame.height, elapsed


def fetch_parse(base_url: str, rows: int, connections: int) -> float:
    """Seconds to read every page of the REST endpoint (1,000 records) with httpx + orjson: the ceiling."""
    pages = -(-rows // 1000)
    counted = [0] * connections

    def read(worker: int) -> None:
        headers = {"Authorization": "Bearer tok-acme", "X-ERP-Tenant": "acme"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
            for page in range(1 + worker, pages + 1, connections):
                response = client.get("/api/v1/customers", params={"page": page, "pageSize": 1000})
                counted[worker] += len(orjson.loads(response.content)["items"])

    t0 = time.perf_counter()
    threads = [threading.Thread(target=read, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - t0
    assert sum(counted) == rows, f"fetch + parse read {sum(counted)} records, expected {rows}"
    return elapsed


def run_dlt(url: str, base_url: str, rows: int, workdir: Path, *, tuned: bool) -> float:
    """dlt's rest_api -> postgres (merge on id): with its defaults, or tuned (see the module docstring)."""
    import dlt
    from dlt.sources.rest_api import rest_api_source

    endpoint: dict[str, object] = {"path": "customers", "data_selector": "items"}
    resource: dict[str, object] = {"name": "customers", "endpoint": endpoint, "primary_key": "id",
                                   "write_disposition": "merge"}
    if tuned:
        endpoint["params"] = {"pageSize": 1000}
        resource["parallelized"] = True
        os.environ["NORMALIZE__WORKERS"] = "2"
    else:
        os.environ.pop("NORMALIZE__WORKERS", None)
    source = rest_api_source(
        {
            "client": {
                "base_url": f"{base_url}/api/v1/",
                "auth": {"type": "bearer", "token": "tok-acme"},
                "headers": {"X-ERP-Tenant": "acme"},
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "base_page": 1,
                    "total_path": "pageCount",
                },
            },
            "resources": [resource],
        }
    )
    name = "tuned" if tuned else "default"
    # dlt insists on a password; the local server uses trust auth, so any value works
    dlt_url = url.replace("postgres@", "postgres:trust@", 1) if "postgres@" in url else url
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_sync_{name}",
        destination=dlt.destinations.postgres(credentials=dlt_url),
        dataset_name=f"dlt_bench_{name}",
        pipelines_dir=str(workdir / "dlt"),
    )
    t0 = time.perf_counter()
    pipeline.run(source, loader_file_format="csv" if tuned else None)
    elapsed = time.perf_counter() - t0
    os.environ.pop("NORMALIZE__WORKERS", None)
    with psycopg.connect(url) as conn:
        loaded = conn.execute(f"SELECT count(*) FROM dlt_bench_{name}.customers").fetchone()[0]
    assert loaded == rows, f"dlt ({name}) loaded {loaded} rows, expected {rows}"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_ROWS", "1000000")))
    parser.add_argument("--skip-dlt", action="store_true")
    parser.add_argument("--latency-runs", type=int, default=12)
    parser.add_argument("--keep", action="store_true",
                        help="keep the run's ERP_HOME (logs, staged parts; about 200 MB per 1M rows) and print where")
    args = parser.parse_args()

    from erp_platform.orchestration._launch import launch_workflow_run, wait_for_run
    from erp_platform.orchestration._supervisor import DevStack
    from erp_platform.queue import open_instance
    from erp_platform.sdks import SdkService
    from erp_platform.workflows import WorkflowRegistry, registry_catalog_factory

    workdir = Path(tempfile.mkdtemp(prefix="erp-bench-sync-"))
    if args.keep:
        print(f"ERP_HOME of the run: {workdir / 'home'}")
    else:
        atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    home = workdir / "home"
    results: dict[str, object] = {"rows": args.rows}
    with fresh_database("erp_bench_sync") as url:
        os.environ.update({"ERP_HOME": str(home), "ERP_DATABASE_URL": url})
        settings = load_settings(home=home, database_url=url)
        with Platform(settings) as plat, MockErpProcess(MockErpConfig(rows=args.rows, seed=3)) as mock:
            migrate(plat.engine)
            spec = httpx.get(f"{mock.base_url}/openapi.json", timeout=60).content
            plat.tenants.create("bench", "enterprise")
            plat.credentials.set("bench", "token", "tok-acme", sdk="mock_erp")
            plat.credentials.set("bench", "x_erp_tenant", "acme", sdk="mock_erp")
            plat.tenants.allow_private_egress("bench", mock.base_url.split("://", 1)[1])
            sdks = SdkService.from_platform(plat)
            built = sdks.build("bench", spec, filename="mock.json", name="mock_erp")
            sdks.activate("bench", "mock_erp", built.version)
            registry = WorkflowRegistry(plat.engine, registry_catalog_factory(plat.engine))
            for text_ in (WORKFLOW, TINY):
                record, _ = registry.apply("bench", text_, "bench.yaml")
                registry.activate("bench", record.workflow_id, record.version)
            with (
                DevStack(plat, webserver=False, metrics_port=-1) as stack,
                open_instance(plat, stack.dagster_env) as instance,
            ):
                # the ceiling is read just before and just after the platform run, in the same conditions
                # (stack up, nothing else running), so a change in the machine's speed shows in both
                ceiling_before_s = fetch_parse(mock.base_url, args.rows, 1)
                t0 = time.time()
                run_id = launch_workflow_run(instance, "bench", "bench_sync")
                status = wait_for_run(instance, run_id, timeout=7200)
                launched_to_done = time.time() - t0
                ceiling_after_s = fetch_parse(mock.base_url, args.rows, 1)
                assert status.value == "SUCCESS", f"benchmark run {run_id} ended {status.value}"
                steps, run_start, run_end = _step_seconds(instance, run_id)
                latency = _first_step_latency(
                    instance,
                    lambda: launch_workflow_run(instance, "bench", "tiny"),
                    args.latency_runs,
                )
                event = instance.get_latest_materialization_event(
                    __import__("dagster").AssetKey(["bench", "bench_sync", "bench__customers"])
                )
                extracted = str(event.asset_materialization.metadata["erp/object_key"].value)
            parquet = plat.objects.path_of(  # type: ignore[attr-defined]
                __import__("erp_platform.orchestration._io_manager", fromlist=["key_for_path"]).key_for_path(
                    "bench", extracted
                )
            )
            copied, copy_s = raw_copy(url, parquet)
            assert copied == args.rows
            ceiling_s = (ceiling_before_s + ceiling_after_s) / 2
            ceiling4_s = fetch_parse(mock.base_url, args.rows, 4)
            dlt_s = dlt_tuned_s = None
            if not args.skip_dlt:
                dlt_s = run_dlt(url, mock.base_url, args.rows, workdir, tuned=False)
                dlt_tuned_s = run_dlt(url, mock.base_url, args.rows, workdir, tuned=True)

    rows = args.rows
    e2e = run_end - run_start
    results.update(
        {
            "platform_end_to_end_s": e2e,
            "platform_launch_to_done_s": launched_to_done,
            "steps_s": steps,
            "raw_copy_s": copy_s,
            "fetch_parse_s": ceiling_s,
            "fetch_parse_before_s": ceiling_before_s,
            "fetch_parse_after_s": ceiling_after_s,
            "fetch_parse_4_connections_s": ceiling4_s,
            "dlt_default_s": dlt_s,
            "dlt_tuned_s": dlt_tuned_s,
            "first_step_latency_p50_s": percentile(latency, 50),
            "first_step_latency_p95_s": percentile(latency, 95),
        }
    )
    load_rate, copy_rate = rows / steps["load"], rows / copy_s
    lines = [
        ["platform end to end (run start -> success)", f"{e2e:8.1f} s", f"{rows / e2e:>10,.0f}", ""],
        [
            "platform from `erp run` to success",
            f"{launched_to_done:8.1f} s",
            f"{rows / launched_to_done:>10,.0f}",
            "",
        ],
        [
            f"  extract through WASM (4 pages at once, {workers_for(4)} page workers)",
            f"{steps['customers']:8.1f} s",
            f"{rows / steps['customers']:>10,.0f}",
            f"{ceiling_s / steps['customers']:.2f}x fetch + parse, 1 connection (target >= 0.5x); "
            f"{ceiling4_s / steps['customers']:.2f}x with 4",
        ],
        ["  transform (polars)", f"{steps['shaped']:8.1f} s", f"{rows / steps['shaped']:>10,.0f}", ""],
        [
            "  load (COPY + merge)",
            f"{steps['load']:8.1f} s",
            f"{load_rate:>10,.0f}",
            f"{load_rate / copy_rate:.2f}x raw COPY (target >= 0.5x)",
        ],
        ["fetch + parse (httpx + orjson), 1 connection", f"{ceiling_s:8.1f} s", f"{rows / ceiling_s:>10,.0f}",
         f"ceiling of the extract: mean of {ceiling_before_s:.1f} s just before and {ceiling_after_s:.1f} s "
         "just after the platform run"],
        ["fetch + parse (httpx + orjson), 4 connections", f"{ceiling4_s:8.1f} s", f"{rows / ceiling4_s:>10,.0f}",
         ""],
        ["raw COPY of the same rows", f"{copy_s:8.1f} s", f"{copy_rate:>10,.0f}", "1.00x"],
    ]
    for label, seconds, target in (("dlt rest_api -> postgres, defaults", dlt_s, ""),
                                   ("dlt rest_api -> postgres, tuned", dlt_tuned_s, " (target >= 3x)")):
        if seconds is not None:
            lines.append([label, f"{seconds:8.1f} s", f"{rows / seconds:>10,.0f}",
                          f"platform end to end {seconds / e2e:.2f}x this{target}"])
    table(
        f"sync of {rows:,} customers from the mock ERP into Postgres",
        ["path", "time", "rows/s", "comparison"],
        lines,
    )
    table(
        "time from `erp run` to the first step starting",
        ["runs", "p50", "p95"],
        [[len(latency), f"{percentile(latency, 50):.2f} s", f"{percentile(latency, 95):.2f} s"]],
    )
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "sync.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
