"""Observability: Prometheus metrics read from the database, structured JSON logs, health checks.

- :class:`MetricsServer` serves ``/metrics`` (:class:`PlatformCollector`) and ``/health``
  (:func:`check_health`); ``erp dev`` starts it on ``ERP_METRICS_PORT`` (default 9464).
- :class:`RunLogger` and :class:`JsonLogFormatter` write one JSON line per message with tenant, workflow,
  run and step; asset code uses ``RunLogger.for_context(context)``.
- Rows loaded come from load assets' materialization metadata (``erp/inserted``, ``erp/updated``,
  ``erp/unchanged`` as the platform's loads report them, or an explicit ``erp/rows_loaded``,
  :data:`ROWS_LOADED_METADATA`): ``erp_rows_loaded_total`` and ``erp_rows_written_total``.
"""

from erp_platform.observability._health import (
    HealthCheck,
    HealthReport,
    ObservabilitySettings,
    check_health,
)
from erp_platform.observability._logging import (
    CONTEXT_FIELDS,
    RUN_LOGGER,
    JsonLogFormatter,
    RunLogger,
    configure_json_logging,
)
from erp_platform.observability._metrics import (
    QUEUE_WAIT_BUCKETS,
    ROWS_LOADED_METADATA,
    SDK_LATENCY_BUCKETS,
    PlatformCollector,
    metrics_registry,
)
from erp_platform.observability._server import MetricsServer

__all__ = [
    "CONTEXT_FIELDS",
    "QUEUE_WAIT_BUCKETS",
    "ROWS_LOADED_METADATA",
    "RUN_LOGGER",
    "SDK_LATENCY_BUCKETS",
    "HealthCheck",
    "HealthReport",
    "JsonLogFormatter",
    "MetricsServer",
    "ObservabilitySettings",
    "PlatformCollector",
    "RunLogger",
    "check_health",
    "configure_json_logging",
    "metrics_registry",
]
