"""Prometheus metrics read from the database at scrape time, after real runs, refusals and SDK requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dagster import DagsterRunStatus
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, text

from erp_platform.controls import ControlFlags
from erp_platform.observability import PlatformCollector, metrics_registry
from tests.queue.harness import OBSERVED, QueueStack

DONE = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


def scrape(collector: PlatformCollector) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    found = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def insert_requests(engine: Engine, rows: list[tuple[str, int | None, float, str | None]]) -> None:
    with engine.begin() as conn:
        for sdk, status, ms, error in rows:
            conn.execute(text(
                "INSERT INTO erp_control.sdk_requests (tenant_slug, sdk_name, sdk_version, operation, "
                "method, host, path, status, bytes, ms, attempt, error) VALUES (:t, :s, 1, 'list_orders', "
                "'GET', 'erp.example.com', '/orders', :status, 100, :ms, 1, :error)"),
                {"t": OBSERVED, "s": sdk, "status": status, "ms": ms, "error": error})


@pytest.fixture
def collector(observed: QueueStack, engine: Engine) -> Iterator[PlatformCollector]:
    yield PlatformCollector(engine, min_interval=0)


def test_runs_queue_waits_rows_loaded_and_refusals(observed: QueueStack, engine: Engine,
                                                   collector: PlatformCollector) -> None:
    before = scrape(collector)
    runs = [observed.submit(OBSERVED), observed.submit(OBSERVED, "load")]
    for run_id in runs:
        assert observed.wait(run_id, DONE).status == DagsterRunStatus.SUCCESS
    flag = ControlFlags(engine).set(scope="tenant", scope_id=OBSERVED, flag_type="block", reason="metrics")
    observed.submit_refused(OBSERVED)
    ControlFlags(engine).clear(flag.id)
    after = scrape(collector)

    labels = {"tenant": OBSERVED, "tier": "standard"}
    succeeded = value(after, "erp_runs", status="SUCCESS", **labels)
    assert succeeded - value(before, "erp_runs", status="SUCCESS", **labels) == 2
    assert value(after, "erp_runs", status="FAILURE", **labels) - value(
        before, "erp_runs", status="FAILURE", **labels) == 1  # the refused run failed to start
    waits = value(after, "erp_run_queue_wait_seconds_count", **labels)
    assert waits - value(before, "erp_run_queue_wait_seconds_count", **labels) == 2
    assert value(after, "erp_run_queue_wait_seconds_sum", **labels) > 0
    assert value(after, "erp_run_queue_wait_seconds_bucket", le="+Inf", **labels) == waits
    assert value(after, "erp_run_refusals_total", reason="flag_block", **labels) - value(
        before, "erp_run_refusals_total", reason="flag_block", **labels) == 1
    assert value(after, "erp_rows_loaded_total", tenant=OBSERVED) - value(
        before, "erp_rows_loaded_total", tenant=OBSERVED) == 42
    assert value(after, "erp_rows_written_total", tenant=OBSERVED) - value(
        before, "erp_rows_written_total", tenant=OBSERVED) == 40
    assert value(after, "erp_tier_run_limit", tier="free") == 5
    assert value(after, "erp_tier_max_queue_depth", tier="enterprise") == 10000
    assert value(after, "erp_dagster_storage_up") == 1


def test_sdk_requests_latency_errors_and_violations(observed: QueueStack, engine: Engine,
                                                   collector: PlatformCollector) -> None:
    before = scrape(collector)
    insert_requests(engine, [
        ("metrics_erp", 200, 20.0, None),
        ("metrics_erp", 200, 300.0, None),
        ("metrics_erp", 503, 40.0, None),
        ("metrics_erp", None, 0.0, "EgressDenied: 10.0.0.1 is a private address"),
        ("metrics_erp", None, 0.0, "RateLimited: over the tenant's limit"),
    ])
    after = scrape(collector)
    sdk = {"tenant": OBSERVED, "sdk": "metrics_erp"}

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("erp_sdk_requests_total", **sdk) == 5
    assert delta("erp_sdk_request_errors_total", **sdk) == 3
    assert delta("erp_sdk_request_duration_seconds_bucket", le="0.025", **sdk) == 3
    assert delta("erp_sdk_request_duration_seconds_bucket", le="0.25", **sdk) == 4
    assert delta("erp_sdk_request_duration_seconds_bucket", le="+Inf", **sdk) == 5
    assert delta("erp_sdk_request_duration_seconds_sum", **sdk) == pytest.approx(0.36)
    assert delta("erp_sandbox_violations_total", kind="EgressDenied", **sdk) == 1
    assert delta("erp_sandbox_violations_total", kind="RateLimited", **sdk) == 1

    insert_requests(engine, [("metrics_erp", 200, 10.0, None)])  # read incrementally: only the new row
    again = scrape(collector)
    assert value(again, "erp_sdk_requests_total", **sdk) - value(after, "erp_sdk_requests_total", **sdk) == 1


def test_flags_are_counted_by_scope_and_type(observed: QueueStack, engine: Engine,
                                             collector: PlatformCollector) -> None:
    ControlFlags(engine).set(scope="sdk", scope_id=f"{OBSERVED}/metrics_erp", flag_type="rate_limit",
                             reason="slow", value={"max_api_calls_per_minute": 5})
    samples = scrape(collector)
    assert value(samples, "erp_control_flags_active", scope="sdk", flag_type="rate_limit") == 1


def test_results_are_cached_for_the_minimum_interval(observed: QueueStack, engine: Engine) -> None:
    registry, collector = metrics_registry(engine, min_interval=3600)
    first = generate_latest(registry)
    insert_requests(engine, [("cached_erp", 200, 5.0, None)])
    assert generate_latest(registry) == first
    collector.refresh()
    assert b'erp_sdk_requests_total{sdk="cached_erp",tenant="qa_obs"} 1.0' in generate_latest(registry)
