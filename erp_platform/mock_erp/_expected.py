"""The records the mock ERP serves, computed without a server (for tests of later stages)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from erp_platform.mock_erp._activity import ActivityLog, AppendRows, CreateRecord, TouchRows, apply_activity
from erp_platform.mock_erp._activity import check_entity as _check_entity
from erp_platform.mock_erp._config import MockErpConfig
from erp_platform.mock_erp._entities import DateFormat, entity_spec
from erp_platform.mock_erp._errors import UnknownTenantError
from erp_platform.mock_erp._rows import RowSource, json_array
from erp_platform.mock_erp._state import entity_counts
from erp_platform.mock_erp._timeline import EntityTimeline

_BATCH = 16_384


def expected_records(
    config: MockErpConfig,
    tenant: str,
    entity: str,
    activity: ActivityLog | Iterable[AppendRows | TouchRows | CreateRecord] = (),
) -> Iterator[dict[str, Any]]:
    """Every record of ``entity`` exactly as the REST API serialises it, in served order.

    The order is ``(updated_at, id)``, the order of every API style. ``activity`` is the ERP tenant's
    simulated activity (``server.activity_log(tenant)``), replayed in order; only that entity's part
    matters. Records are generated in batches, so millions of rows stream in bounded memory.

    Raises:
        UnknownTenantError: ``tenant`` is not in ``config.tenants``.
        UnknownEntityError: ``entity`` is not a mock ERP entity.
        ActivityError: the activity cannot be replayed (e.g. a touched id that does not exist).
    """
    if tenant not in config.tenants:
        raise UnknownTenantError(
            f"unknown ERP tenant {tenant!r}: configured tenants are {', '.join(config.tenants)}"
        )
    _check_entity(entity)
    items = activity.activity if isinstance(activity, ActivityLog) else activity
    counts = entity_counts(config.rows)
    timeline = EntityTimeline(counts[entity])
    for item in items:
        if item.entity == entity:
            apply_activity(timeline, item)
    return _stream(config, tenant, entity, timeline, counts)


def _stream(
    config: MockErpConfig, tenant: str, entity: str, timeline: EntityTimeline, counts: dict[str, int]
) -> Iterator[dict[str, Any]]:
    spec = entity_spec(entity)
    source = RowSource(config.seed, tenant, counts)
    offset = 0
    while True:
        page = timeline.slice(None, offset, _BATCH)
        if page.size == 0:
            return
        segments = source.page(spec, DateFormat.ISO, page, timeline.records)
        yield from orjson.loads(b"".join(json_array(segments)))
        offset += page.size
