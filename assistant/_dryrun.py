"""The dry run: the first page of each extract through the tenant's real WASM SDK against its ERP, then
the draft's transforms and mappings applied in memory, showing the rows each load would write.

Nothing is written: no object, no checkpoint, no cursor, no row in the tenant's schema. The SDK calls
themselves go through the normal host (egress rules, credentials, rate limits, request audit).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict

from erp_platform._errors import ErpPlatformError, Problem
from erp_platform.orchestration._artifacts import CompiledInputs
from erp_platform.sdks import SdkService
from erp_platform.transforms import ExecutionContext, apply_mapping, apply_transform, frame_from_records
from erp_platform.workflows import (
    ExtractActivity,
    LoadActivity,
    TransformActivity,
    analyse_steps,
    main_input,
)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExtractPreview(_Frozen):
    activity: str
    sdk: str
    operation: str
    records: int
    more_pages: bool


class LoadPreview(_Frozen):
    """The rows a load would merge into ``table`` (first rows only), as text."""

    activity: str
    table: str
    business_key: tuple[str, ...]
    columns: tuple[str, ...]
    rows: tuple[tuple[str | None, ...], ...]
    row_count: int


class DryRun(_Frozen):
    extracts: tuple[ExtractPreview, ...] = ()
    loads: tuple[LoadPreview, ...] = ()
    problems: tuple[tuple[str, str], ...] = ()  # (path, message)

    @property
    def ok(self) -> bool:
        return not self.problems


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | float | int | bool):
        return str(value)
    return str(value)[:200]


def dry_run(service: SdkService, inputs: CompiledInputs, *, rows: int, show: int = 10) -> DryRun:
    """Run the draft on the first page of each extract; every failure becomes a problem with its path."""
    definition = inputs.definition
    tenant = inputs.tenant.slug
    graph, _ = analyse_steps(definition)
    index = {a.id: i for i, a in enumerate(definition.activities)}
    frames: dict[str, pl.LazyFrame] = {}
    extracts: list[ExtractPreview] = []
    loads: list[LoadPreview] = []
    problems: list[Problem] = []
    run_id = f"assistant-dry-run-{uuid.uuid4().hex[:12]}"
    for activity_id in graph.order:
        i = index[activity_id]
        activity = definition.activities[i]
        path = f"activities[{i}]"
        try:
            if isinstance(activity, ExtractActivity):
                cfg = activity.config
                sdk = inputs.sdks[cfg.sdk]
                pages = service.call(tenant, cfg.sdk, cfg.operation, {**cfg.params, "_page_size": rows},
                                     version=sdk.version, pages=1, run_id=run_id)
                page = pages[0]
                fields = sdk.entity_fields(sdk.operation(cfg.operation).get("entity"))
                frames[activity.id] = frame_from_records(page.records, fields, where=f"{cfg.operation} page 1").lazy()
                extracts.append(ExtractPreview(activity=activity.id, sdk=cfg.sdk, operation=cfg.operation,
                                               records=len(page.records), more_pages=page.next is not None))
                continue
            main = main_input(activity, graph)
            upstream = graph.upstream.get(activity.id, ())
            if main is None or any(u not in frames for u in upstream):
                continue  # an upstream failed: reported there
            if isinstance(activity, TransformActivity):
                ctx = ExecutionContext(tenant=tenant, workflow=definition.id, run_id=run_id, step=activity.id,
                                       run_started_at=datetime.now(UTC))
                inputs_by_id = {u: frames[u] for u in upstream}
                out = apply_transform(activity.config, inputs_by_id, main=main, ctx=ctx)
                frames[activity.id] = out.collect().lazy()
            elif isinstance(activity, LoadActivity):
                plan = inputs.plans.get(activity.id)
                if plan is None:
                    reasons = "; ".join(p.message for p in inputs.problems) or "its input could not be typed"
                    problems.append(Problem(path, f"load {activity.id!r} has no plan: {reasons}"))
                    continue
                mapped = apply_mapping(frames[main], plan.mapping, where=f"load {activity.id!r}")
                head = mapped.head(show)
                loads.append(LoadPreview(
                    activity=activity.id, table=activity.config.table,
                    business_key=plan.business_key, columns=tuple(mapped.columns),
                    rows=tuple(tuple(_text(v) for v in row) for row in head.iter_rows()),
                    row_count=mapped.height,
                ))
        except ErpPlatformError as exc:
            problems.append(Problem(path, f"dry run of {activity.type} {activity.id!r} failed: {exc}"))
    return DryRun(extracts=tuple(extracts), loads=tuple(loads),
                  problems=tuple((p.path, p.message) for p in problems))
