"""Prometheus metrics collected from the database at scrape time.

Run workers are separate (forked) processes, so in-process counters would be lost with them. The
collector reads what they already write: Dagster's run storage and event log (runs, queue waits, rows
loaded), ``erp_control.run_refusals``, ``erp_control.sdk_requests`` (calls, latency, errors, sandbox
violations) and the control flags. Append-only sources are read incrementally (by id) and accumulated,
so a scrape costs the new rows only; results are cached for ``min_interval`` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

_log = logging.getLogger("erp.metrics")

ROWS_LOADED_METADATA = "erp/rows_loaded"
#: what the platform's load assets report (erp_platform.loader.LoadResult as materialization metadata)
LOAD_METADATA = ("erp/inserted", "erp/updated", "erp/unchanged")
QUEUE_WAIT_BUCKETS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
SDK_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
VIOLATION_KINDS = ("EgressDenied", "FuelExhausted", "MemoryLimitExceeded", "DeadlineExceeded",
                   "OutputTooLarge", "ResponseTooLarge", "RateLimited", "TooManyRequests",
                   "InvalidGuestOutput", "GuestTrap")
_BATCH = 20000

_RUNS = text(
    """
    SELECT coalesce(tn.value, '') AS tenant, coalesce(tr.value, '') AS tier, r.status, count(*) AS n
      FROM runs r
      LEFT JOIN run_tags tn ON tn.run_id = r.run_id AND tn.key = 'erp/tenant'
      LEFT JOIN run_tags tr ON tr.run_id = r.run_id AND tr.key = 'erp/tier'
     GROUP BY 1, 2, 3
    """
)
_WAITS = text(
    """
    SELECT s.id, coalesce(tn.value, '') AS tenant, coalesce(tr.value, '') AS tier,
           EXTRACT(EPOCH FROM (s.timestamp - q.timestamp))::double precision AS wait
      FROM event_logs s
      JOIN LATERAL (SELECT e.timestamp FROM event_logs e
                     WHERE e.run_id = s.run_id AND e.dagster_event_type = 'PIPELINE_ENQUEUED'
                     ORDER BY e.id LIMIT 1) q ON true
      LEFT JOIN run_tags tn ON tn.run_id = s.run_id AND tn.key = 'erp/tenant'
      LEFT JOIN run_tags tr ON tr.run_id = s.run_id AND tr.key = 'erp/tier'
     WHERE s.dagster_event_type = 'PIPELINE_START' AND s.id > :cursor
     ORDER BY s.id
     LIMIT :batch
    """
)
_MATERIALIZATIONS = text(
    """
    SELECT s.id, coalesce(tn.value, '') AS tenant, s.event
      FROM event_logs s
      LEFT JOIN run_tags tn ON tn.run_id = s.run_id AND tn.key = 'erp/tenant'
     WHERE s.dagster_event_type = 'ASSET_MATERIALIZATION' AND s.id > :cursor AND s.id <= :high
       AND (strpos(s.event, 'erp/rows_loaded') > 0 OR strpos(s.event, 'erp/inserted') > 0)
     ORDER BY s.id
     LIMIT :batch
    """
)
_MAX_EVENT_ID = text(
    "SELECT coalesce(max(id), 0) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
)
_REFUSALS = text(
    "SELECT coalesce(tenant_slug, '') AS tenant, coalesce(tier, '') AS tier, reason, count(*) AS n "
    "FROM erp_control.run_refusals GROUP BY 1, 2, 3"
)
_SDK_MAX_ID = text("SELECT coalesce(max(id), 0) FROM erp_control.sdk_requests")
_FLAGS = text(
    "SELECT scope, flag_type, count(*) AS n FROM erp_control.system_control_flags WHERE enabled "
    "GROUP BY 1, 2"
)


def _sdk_requests_sql() -> Any:
    bucket_columns = ", ".join(
        f"count(*) FILTER (WHERE ms <= {b * 1000.0!r}) AS le_{i}" for i, b in enumerate(SDK_LATENCY_BUCKETS)
    )
    kinds = ", ".join(f"'{k}'" for k in VIOLATION_KINDS)
    return text(
        f"""
        SELECT tenant_slug AS tenant, sdk_name AS sdk, count(*) AS n,
               count(*) FILTER (WHERE error IS NOT NULL OR status >= 400) AS errors,
               coalesce(sum(ms), 0) / 1000.0 AS seconds, {bucket_columns}
          FROM erp_control.sdk_requests WHERE id > :low AND id <= :high
         GROUP BY 1, 2
        """
    ), text(
        f"""
        SELECT tenant_slug AS tenant, sdk_name AS sdk, split_part(error, ':', 1) AS kind, count(*) AS n
          FROM erp_control.sdk_requests
         WHERE id > :low AND id <= :high AND error IS NOT NULL AND split_part(error, ':', 1) IN ({kinds})
         GROUP BY 1, 2, 3
        """
    )


_SDK_CALLS, _SDK_VIOLATIONS = _sdk_requests_sql()


@dataclass
class _Histogram:
    bounds: Sequence[float]
    counts: list[float] = field(default_factory=list)
    total: float = 0.0

    def __post_init__(self) -> None:
        self.counts = [0.0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += 1
        self.counts[-1] += 1
        self.total += value

    def add_cumulative(self, cumulative: Sequence[int], count: int, total: float) -> None:
        for i, n in enumerate(cumulative):
            self.counts[i] += n
        self.counts[-1] += count
        self.total += total

    def buckets(self) -> list[tuple[str, float]]:
        labels = [repr(float(b)) for b in self.bounds] + ["+Inf"]
        return list(zip(labels, self.counts, strict=True))


@dataclass
class _State:
    runs: dict[tuple[str, str, str], int] = field(default_factory=dict)
    refusals: dict[tuple[str, str, str], int] = field(default_factory=dict)
    flags: dict[tuple[str, str], int] = field(default_factory=dict)
    waits: dict[tuple[str, str], _Histogram] = field(default_factory=dict)
    wait_cursor: int = 0
    rows_loaded: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    rows_written: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    rows_cursor: int = 0
    sdk_calls: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    sdk_errors: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    sdk_latency: dict[tuple[str, str], _Histogram] = field(default_factory=dict)
    sdk_cursor: int = 0
    violations: dict[tuple[str, str, str], float] = field(default_factory=lambda: defaultdict(float))
    dagster_tables: bool = True


class PlatformCollector(Collector):
    """A Prometheus collector over the platform database (see the module docstring)."""

    def __init__(self, engine: Engine, *, min_interval: float = 5.0,
                 tier_run_limits: dict[str, int] | None = None,
                 max_queue_depth: dict[str, int] | None = None) -> None:
        from erp_platform.queue import load_queue_settings

        settings = load_queue_settings()
        self._engine = engine
        self._min_interval = min_interval
        self._tier_limits = tier_run_limits or dict(settings.tier_run_limits)
        self._max_depth = max_queue_depth or dict(settings.max_queue_depth)
        self._state = _State()
        self._refreshed = float("-inf")
        self._lock = threading.Lock()

    def describe(self) -> list[Metric]:
        return []  # metric families depend on data; registering must not query the database

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if time.monotonic() - self._refreshed >= self._min_interval:
                self.refresh()
            families = self._families()
        yield from families

    def refresh(self) -> None:
        """Read what changed since the last refresh (called by ``collect`` when the cache is stale)."""
        state = self._state
        with self._engine.connect() as conn:
            state.refusals = {(r.tenant, r.tier, r.reason): int(r.n) for r in conn.execute(_REFUSALS)}
            state.flags = {(r.scope, r.flag_type): int(r.n) for r in conn.execute(_FLAGS)}
            self._read_sdk_requests(conn)
        try:
            with self._engine.connect() as conn:
                state.runs = {(r.tenant, r.tier, r.status): int(r.n) for r in conn.execute(_RUNS)}
                self._read_waits(conn)
                self._read_rows_loaded(conn)
            state.dagster_tables = True
        except ProgrammingError as exc:
            if "does not exist" not in str(exc.orig):
                raise
            state.dagster_tables = False  # Dagster's tables appear with the first `erp dev`
        self._refreshed = time.monotonic()

    # -- incremental sources ---------------------------------------------------------------------------
    def _read_waits(self, conn: Any) -> None:
        state = self._state
        while True:
            rows = conn.execute(_WAITS, {"cursor": state.wait_cursor, "batch": _BATCH}).all()
            for r in rows:
                hist = state.waits.setdefault((r.tenant, r.tier), _Histogram(QUEUE_WAIT_BUCKETS))
                hist.observe(max(0.0, float(r.wait)))
                state.wait_cursor = int(r.id)
            if len(rows) < _BATCH:
                return

    def _read_rows_loaded(self, conn: Any) -> None:
        from dagster import EventLogEntry
        from dagster._serdes import deserialize_value

        state = self._state
        high = int(conn.execute(_MAX_EVENT_ID).scalar() or 0)
        while True:
            params = {"cursor": state.rows_cursor, "batch": _BATCH, "high": high}
            rows = conn.execute(_MATERIALIZATIONS, params).all()
            for r in rows:
                state.rows_cursor = int(r.id)
                try:
                    entry = deserialize_value(r.event, EventLogEntry)
                except Exception:  # an event this Dagster version cannot read: skip it, keep counting
                    _log.warning("could not read materialization event %s", r.id)
                    continue
                materialization = entry.asset_materialization
                if materialization is not None:
                    loaded, written = _loaded_rows(materialization.metadata)
                    state.rows_loaded[r.tenant] += loaded
                    state.rows_written[r.tenant] += written
            if len(rows) < _BATCH:
                break
        state.rows_cursor = max(state.rows_cursor, high)

    def _read_sdk_requests(self, conn: Any) -> None:
        state = self._state
        high = int(conn.execute(_SDK_MAX_ID).scalar() or 0)
        if high <= state.sdk_cursor:
            return
        params = {"low": state.sdk_cursor, "high": high}
        for r in conn.execute(_SDK_CALLS, params):
            key = (r.tenant, r.sdk)
            state.sdk_calls[key] += int(r.n)
            state.sdk_errors[key] += int(r.errors)
            hist = state.sdk_latency.setdefault(key, _Histogram(SDK_LATENCY_BUCKETS))
            cumulative = [int(getattr(r, f"le_{i}")) for i in range(len(SDK_LATENCY_BUCKETS))]
            hist.add_cumulative(cumulative, int(r.n), float(r.seconds))
        for r in conn.execute(_SDK_VIOLATIONS, params):
            state.violations[(r.tenant, r.sdk, r.kind)] += int(r.n)
        state.sdk_cursor = high

    # -- families --------------------------------------------------------------------------------------
    def _families(self) -> list[Metric]:
        s = self._state
        runs = GaugeMetricFamily("erp_runs", "Dagster runs by tenant, tier and status",
                                 labels=["tenant", "tier", "status"])
        for (tenant, tier, status), n in sorted(s.runs.items()):
            runs.add_metric([tenant, tier, status], n)
        depth = GaugeMetricFamily("erp_queue_depth", "Runs queued per tier", labels=["tier"])
        running = GaugeMetricFamily("erp_runs_in_progress", "Runs starting, running or cancelling per tier",
                                    labels=["tier"])
        limit = GaugeMetricFamily("erp_tier_run_limit", "Runs in progress allowed per tier", labels=["tier"])
        max_depth = GaugeMetricFamily("erp_tier_max_queue_depth", "Queued runs allowed per tier",
                                      labels=["tier"])
        for tier in sorted(self._tier_limits):
            depth.add_metric([tier], sum(n for (_, t, st), n in s.runs.items()
                                         if t == tier and st == "QUEUED"))
            running.add_metric([tier], sum(n for (_, t, st), n in s.runs.items()
                                           if t == tier and st in ("STARTING", "STARTED", "CANCELING")))
            limit.add_metric([tier], self._tier_limits[tier])
            max_depth.add_metric([tier], self._max_depth.get(tier, 0))
        waits = HistogramMetricFamily("erp_run_queue_wait_seconds", "Time from ENQUEUED to RUN_START",
                                      labels=["tenant", "tier"])
        for (tenant, tier), hist in sorted(s.waits.items()):
            waits.add_metric([tenant, tier], hist.buckets(), hist.total)
        refusals = CounterMetricFamily("erp_run_refusals", "Runs refused at submit time by reason",
                                       labels=["tenant", "tier", "reason"])
        for (tenant, tier, reason), n in sorted(s.refusals.items()):
            refusals.add_metric([tenant, tier, reason], n)
        calls = CounterMetricFamily("erp_sdk_requests", "HTTP requests made for SDK calls",
                                    labels=["tenant", "sdk"])
        errors = CounterMetricFamily("erp_sdk_request_errors", "SDK requests that failed or got HTTP >= 400",
                                     labels=["tenant", "sdk"])
        latency = HistogramMetricFamily("erp_sdk_request_duration_seconds", "SDK request latency",
                                        labels=["tenant", "sdk"])
        for key in sorted(s.sdk_calls):
            calls.add_metric(list(key), s.sdk_calls[key])
            errors.add_metric(list(key), s.sdk_errors[key])
            hist = s.sdk_latency[key]
            latency.add_metric(list(key), hist.buckets(), hist.total)
        violations = CounterMetricFamily("erp_sandbox_violations", "Sandbox violations by kind",
                                         labels=["tenant", "sdk", "kind"])
        for (tenant, sdk, kind), seen in sorted(s.violations.items()):
            violations.add_metric([tenant, sdk, kind], seen)
        rows = CounterMetricFamily("erp_rows_loaded", "Distinct rows merged into tenant tables (new, changed "
                                   "or unchanged)", labels=["tenant"])
        for tenant, loaded in sorted(s.rows_loaded.items()):
            rows.add_metric([tenant], loaded)
        written = CounterMetricFamily("erp_rows_written", "Rows inserted or updated in tenant tables",
                                      labels=["tenant"])
        for tenant, count in sorted(s.rows_written.items()):
            written.add_metric([tenant], count)
        flags = GaugeMetricFamily("erp_control_flags_active", "Active control flags",
                                  labels=["scope", "flag_type"])
        for (scope, flag_type), n in sorted(s.flags.items()):
            flags.add_metric([scope, flag_type], n)
        up = GaugeMetricFamily("erp_dagster_storage_up", "1 when Dagster's run storage tables were readable")
        up.add_metric([], 1.0 if s.dagster_tables else 0.0)
        return [runs, depth, running, limit, max_depth, waits, refusals, calls, errors, latency, violations,
                rows, written, flags, up]


def _loaded_rows(metadata: Any) -> tuple[float, float]:
    """(rows loaded, rows written) from a load asset's materialization metadata."""

    def number(key: str) -> float:
        found = getattr(metadata.get(key), "value", None)
        return float(found) if isinstance(found, int | float) else 0.0

    if ROWS_LOADED_METADATA in metadata:
        loaded = number(ROWS_LOADED_METADATA)
        written = number("erp/inserted") + number("erp/updated") if "erp/inserted" in metadata else loaded
        return loaded, written
    inserted, updated, unchanged = (number(k) for k in LOAD_METADATA)
    return inserted + updated + unchanged, inserted + updated


def metrics_registry(engine: Engine, *,
                     min_interval: float = 5.0) -> tuple[CollectorRegistry, PlatformCollector]:
    """A registry holding only the platform collector (what ``/metrics`` serves)."""
    registry = CollectorRegistry(auto_describe=False)
    collector = PlatformCollector(engine, min_interval=min_interval)
    registry.register(collector)
    return registry, collector
