"""The exported names of the observability package are pinned."""

from __future__ import annotations

import erp_platform.observability as observability


def test_observability_exports() -> None:
    assert sorted(observability.__all__) == sorted([
        "CONTEXT_FIELDS", "QUEUE_WAIT_BUCKETS", "ROWS_LOADED_METADATA", "RUN_LOGGER", "SDK_LATENCY_BUCKETS",
        "HealthCheck", "HealthReport", "JsonLogFormatter", "MetricsServer", "ObservabilitySettings",
        "PlatformCollector", "RunLogger", "check_health", "configure_json_logging", "metrics_registry",
    ])
    assert all(hasattr(observability, name) for name in observability.__all__)
