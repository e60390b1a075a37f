"""The /metrics and /health endpoint over real HTTP."""

from __future__ import annotations

import httpx

from erp_platform._platform import Platform
from erp_platform.observability import MetricsServer
from tests.queue.harness import QueueStack


def test_metrics_health_and_unknown_paths(stack: QueueStack, platform: Platform) -> None:
    with MetricsServer(platform, host="127.0.0.1", port=0, instance=stack.instance, min_interval=0) as server:
        metrics = httpx.get(f"{server.url}/metrics", timeout=30)
        health = httpx.get(f"{server.url}/health", timeout=30)
        missing = httpx.get(f"{server.url}/nope", timeout=30)
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain; version=")
    assert "# TYPE erp_run_refusals_total counter" in metrics.text
    assert 'erp_tier_run_limit{tier="enterprise"} 100.0' in metrics.text
    assert (health.status_code, health.json()["ok"]) == (200, True)
    assert (missing.status_code, missing.text) == (404, "not found: use /metrics or /health\n")


def test_an_unhealthy_platform_answers_503(stack: QueueStack, platform: Platform) -> None:
    from erp_platform.observability import ObservabilitySettings

    stale = ObservabilitySettings(daemon_heartbeat_tolerance_seconds=0.000001)
    with MetricsServer(platform, port=0, instance=stack.instance, settings=stale) as server:
        reply = httpx.get(f"{server.url}/health", timeout=30)
    assert reply.status_code == 503
    assert [c["name"] for c in reply.json()["checks"] if not c["ok"]] == ["dagster_daemon"]


def test_stop_is_idempotent(platform: Platform) -> None:
    server = MetricsServer(platform, port=0).start()
    url = server.url
    server.stop()
    server.stop()
    try:
        httpx.get(f"{url}/metrics", timeout=2)
        answered = True
    except httpx.HTTPError:
        answered = False
    assert answered is False
