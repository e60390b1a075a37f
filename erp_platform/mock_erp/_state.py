"""Everything a running mock ERP remembers: per-tenant rows and activity, faults, stats, idempotency.

No state is shared between ERP tenants: each has its own timelines, activity log, created records and
idempotency keys. All mutation happens under one lock, so the Python API (test thread) and the server
(event-loop thread) can both use it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from erp_platform.mock_erp._activity import (
    Activity,
    ActivityLog,
    AppendRows,
    CreateRecord,
    EntitySnapshot,
    TouchRows,
    apply_activity,
    check_entity,
)
from erp_platform.mock_erp._config import MockErpConfig
from erp_platform.mock_erp._entities import ENTITIES
from erp_platform.mock_erp._errors import UnknownTenantError
from erp_platform.mock_erp._faults import FaultInjector
from erp_platform.mock_erp._rows import ChunkCache, RowSource, iso_from_ms
from erp_platform.mock_erp._timeline import EntityTimeline


class ServerStats(BaseModel):
    """Requests served (admin calls excluded), per path and status."""

    model_config = ConfigDict(frozen=True)

    total: int
    by_path: dict[str, dict[str, int]]


@dataclass(frozen=True)
class StoredResponse:
    """The response to a request with an ``Idempotency-Key``, replayed for the same key."""

    fingerprint: str
    status: int
    body: bytes
    location: str


def entity_counts(rows: int) -> dict[str, int]:
    """Base row count of every entity for a configured ``rows``."""
    return {name: spec.count(rows) for name, spec in ENTITIES.items()}


class MockErpState:
    """The mutable state of one mock ERP server."""

    def __init__(self, config: MockErpConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.faults = FaultInjector()
        self.counts = entity_counts(config.rows)
        self._cache = ChunkCache()
        self._sources = {
            tenant: RowSource(config.seed, tenant, self.counts, self._cache) for tenant in config.tenants
        }
        self._timelines: dict[tuple[str, str], EntityTimeline] = {}
        self._activity: dict[str, list[AppendRows | TouchRows | CreateRecord]] = {}
        self._idempotency: dict[tuple[str, str], StoredResponse] = {}
        self._stats: dict[str, Counter[int]] = {}
        self._stats_lock = threading.Lock()

    # rows -------------------------------------------------------------------------------------------

    def check_tenant(self, tenant: str) -> None:
        """Raise :class:`UnknownTenantError` unless ``tenant`` is configured."""
        if tenant not in self.config.tenants:
            raise UnknownTenantError(
                f"unknown ERP tenant {tenant!r}: configured tenants are {', '.join(self.config.tenants)}"
            )

    def timeline(self, tenant: str, entity: str) -> EntityTimeline:
        """The (lazily created) timeline of one tenant's entity; call with :attr:`lock` held."""
        key = (tenant, entity)
        timeline = self._timelines.get(key)
        if timeline is None:
            timeline = self._timelines[key] = EntityTimeline(self.counts[entity])
        return timeline

    def source(self, tenant: str) -> RowSource:
        """The row renderer of one tenant."""
        return self._sources[tenant]

    # activity ---------------------------------------------------------------------------------------

    def simulate(
        self, tenant: str, entity: str, *, append: int = 0, touch: Sequence[int] = ()
    ) -> EntitySnapshot:
        """Simulate ERP activity: touch rows ``touch`` (by id), then append ``append`` new rows."""
        self.check_tenant(tenant)
        check_entity(entity)
        touched: list[int] = []
        appended: list[int] = []
        with self.lock:
            if touch:
                touched = self.record(tenant, TouchRows(entity=entity, ids=tuple(touch)))
            if append:
                appended = self.record(tenant, AppendRows(entity=entity, count=append))
            timeline = self.timeline(tenant, entity)
            return EntitySnapshot(
                tenant=tenant,
                entity=entity,
                count=timeline.count,
                max_updated_at=iso_from_ms(timeline.max_updated_ms),
                appended_ids=tuple(appended),
                touched_ids=tuple(touched),
            )

    def record(self, tenant: str, activity: AppendRows | TouchRows | CreateRecord) -> list[int]:
        """Apply one activity and add it to the tenant's log; returns the ids it appended or touched."""
        with self.lock:
            ids = apply_activity(self.timeline(tenant, activity.entity), activity)
            self._activity.setdefault(tenant, []).append(activity)
            return ids

    def activity_log(self, tenant: str) -> ActivityLog:
        """The tenant's activity so far, oldest first."""
        self.check_tenant(tenant)
        with self.lock:
            activity: tuple[Activity, ...] = tuple(self._activity.get(tenant, ()))
            return ActivityLog(tenant=tenant, activity=activity)

    # idempotency ------------------------------------------------------------------------------------

    def stored_response(self, tenant: str, key: str) -> StoredResponse | None:
        """The response recorded for an ``Idempotency-Key`` of this tenant, if any."""
        with self.lock:
            return self._idempotency.get((tenant, key))

    def store_response(self, tenant: str, key: str, response: StoredResponse) -> None:
        """Remember the response to an ``Idempotency-Key``."""
        with self.lock:
            self._idempotency[(tenant, key)] = response

    # stats ------------------------------------------------------------------------------------------

    def count_request(self, path: str, status: int) -> None:
        """Count one served request."""
        with self._stats_lock:
            counter = self._stats.get(path)
            if counter is None:
                counter = self._stats[path] = Counter()
            counter[status] += 1

    def stats(self) -> ServerStats:
        """Requests served so far, per path and status."""
        with self._stats_lock:
            by_path = {
                path: {str(status): n for status, n in sorted(counter.items())}
                for path, counter in sorted(self._stats.items())
            }
        return ServerStats(total=sum(sum(c.values()) for c in by_path.values()), by_path=by_path)

    # reset ------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the configured data: no activity, created records, idempotency keys, faults or stats."""
        with self.lock:
            self._timelines.clear()
            self._activity.clear()
            self._idempotency.clear()
            self.faults.clear()
            with self._stats_lock:
                self._stats.clear()
