"""The bodies of extract, transform and load assets.

Each body runs after :class:`StepGuard` and reports errors wrapped with tenant, workflow, activity and
attempt. Terminal errors (bad input, isolation, integrity, sandbox violations) fail the step without
retries; transient ones (ERP 5xx after the host's retries, rate limits, database timeouts) are retried
by the activity's retry policy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import dagster as dg
import polars as pl

from erp_platform._errors import ErpPlatformError, InvalidInputError
from erp_platform._gc import fewer_gc_passes
from erp_platform.objectstore import tenant_key
from erp_platform.orchestration._artifacts import SdkArtifact
from erp_platform.orchestration._checkpoints import (
    Checkpoint,
    commit_cursor,
    committed_cursor,
    load_checkpoint,
    save_checkpoint,
)
from erp_platform.orchestration._guard import StepIdentity
from erp_platform.orchestration._io_manager import local_path
from erp_platform.orchestration._page_workers import FrameSource, WorkerPlan, WorkerPool, worker_plan, workers_for
from erp_platform.orchestration._process import process_platform
from erp_platform.sandbox import PageReader
from erp_platform.tenancy import TenantInfo, tenant_transaction
from erp_platform.transforms import apply_transform, frame_from_records
from erp_platform.transforms._context import ExecutionContext
from erp_platform.workflows import ExtractActivity, ExtractConfig, LoadActivity, LoadPlan, TransformActivity

if TYPE_CHECKING:
    from erp_platform.sandbox import SdkSession

CURSOR_META = "erp/cursor_max"
ROOT_RUN_TAG = "dagster/root_run_id"


class ActivityTimeout(ErpPlatformError):
    """An activity ran past its start-to-close timeout."""


class ExtractError(InvalidInputError):
    """An extract cannot turn what the ERP returned into records (never retried: the SDK must change)."""


@dataclass(frozen=True)
class StepRuntime:
    """What an activity body needs: the Dagster context, which artifact it is, the tenant."""

    context: dg.AssetExecutionContext
    identity: StepIdentity
    tenant: TenantInfo
    timeout_seconds: int

    @property
    def run_id(self) -> str:
        return self.context.run.run_id

    @property
    def root_run_id(self) -> str:
        return self.context.run.tags.get(ROOT_RUN_TAG) or self.context.run.run_id

    @property
    def attempt(self) -> int:
        return int(self.context.retry_number) + 1

    def execution_context(self) -> ExecutionContext:
        """Deterministic time and ids: the root run's creation time, seeded by root run and step."""
        record = self.context.instance.get_run_record_by_id(self.root_run_id)
        started = record.create_timestamp if record is not None else datetime.now(UTC)
        return ExecutionContext(
            tenant=self.identity.tenant,
            workflow=self.identity.workflow,
            run_id=self.root_run_id,
            step=self.identity.activity,
            run_started_at=started.astimezone(UTC),
            attempt=self.attempt,
        )

    def describe(self) -> str:
        ident = self.identity
        return (
            f"tenant {ident.tenant!r}, workflow {ident.workflow!r} v{ident.version}, activity "
            f"{ident.activity!r}, attempt {self.attempt}"
        )


@contextmanager
def user_code_boundary(step: StepRuntime) -> Iterator[None]:
    """Re-raise errors with where they happened; terminal platform errors are not retried."""
    try:
        yield
    except dg.Failure:
        raise
    except ErpPlatformError as exc:
        message = f"{type(exc).__name__} in {step.describe()}: {exc}"
        if exc.transient:
            raise dg.Failure(description=message, allow_retries=True) from exc
        raise dg.Failure(description=message, allow_retries=False) from exc


# -- extract ----------------------------------------------------------------------------------------------
def run_extract(
    step: StepRuntime,
    activity: ExtractActivity,
    sdk: SdkArtifact,
    open_session: Callable[[], SdkSession],
    *,
    resource_fields: dict[str, Any] | None = None,
) -> tuple[pl.LazyFrame, dict[str, Any]]:
    """Read the operation page by page, checkpointing after each page so a resumed run continues.

    ``resource_fields`` (the SDK resource's :meth:`~ErpSdkResource.declared_fields`) let page workers open
    the same session in their own processes, where the fork server provides them (see ``_page_workers``).

    ``open_session`` opens the SDK in the sandbox (the code location's SDK resource: egress, credentials,
    rate limits, flags and the request audit trail apply).
    """
    plat = process_platform()
    cfg = activity.config
    op = sdk.operation(cfg.operation)
    fields = sdk.entity_fields(op.get("entity"))
    if not fields:
        raise ExtractError(
            f"operation {cfg.operation!r} of SDK {sdk.name} v{sdk.version} declares no record fields (its spec "
            "describes no schema for the records), so its records cannot be typed or loaded: rebuild the SDK "
            "from a spec that describes them, or extract another operation"
        )
    cursor_field = (cfg.cursor_field or (op.get("incremental") or {}).get("field")) if cfg.incremental else None
    ident = step.identity
    ckpt = load_checkpoint(plat.engine, step.tenant.id, step.root_run_id, ident.workflow, ident.activity)
    if ckpt.pages_done:
        step.context.log.info(
            f"resuming extract {ident.activity!r} after {ckpt.pages_done} pages ({ckpt.records_done} records) "
            f"checkpointed by run lineage {step.root_run_id}"
        )
    max_size = (op.get("pagination") or {}).get("max_page_size")
    page_size = cfg.effective_page_size(max_size if isinstance(max_size, int) and max_size > 0 else None)
    params: dict[str, Any] = {**cfg.params, "_page_size": page_size}
    since = (
        committed_cursor(plat.engine, step.tenant.id, ident.workflow, ident.activity)
        if cfg.incremental
        else None
    )
    if since is not None:
        params["_since"] = since
    deadline = time.monotonic() + step.timeout_seconds
    notes: list[str] = []  # why paging ended early (an ERP repeating its last page)
    if not ckpt.finished:
        _read_pages(
            step, ckpt, cfg=cfg, params=params, page_size=page_size, fields=fields, cursor_field=cursor_field,
            open_session=open_session, notes=notes, deadline=deadline,
            plan=worker_plan(step.run_id, ident.workflow, resource_fields, fields),
        )
        ckpt.finished = True
        save_checkpoint(plat.engine, ckpt, step.run_id)
    metadata: dict[str, Any] = {
        "erp/pages": ckpt.pages_done,
        "erp/records": ckpt.records_done,
        "erp/sdk": f"{sdk.name}@{sdk.version}",
        "erp/operation": cfg.operation,
    }
    if ckpt.cursor_max is not None:
        metadata[CURSOR_META] = ckpt.cursor_max
    if since is not None:
        metadata["erp/since"] = since
    if notes:
        metadata["erp/paging_note"] = "; ".join(notes)
    return _scan_parts(step, ckpt, fields), metadata


def _read_pages(
    step: StepRuntime,
    ckpt: Checkpoint,
    *,
    cfg: ExtractConfig,
    params: dict[str, Any],
    page_size: int,
    fields: dict[str, str],
    cursor_field: str | None,
    open_session: Callable[[], SdkSession],
    notes: list[str],
    deadline: float,
    plan: WorkerPlan | None,
) -> None:
    """Read the pages after the checkpoint (several at once where paging allows, in page workers where the
    fork server provides them) and stage them as parts."""
    if ckpt.pages_done and ckpt.next_token is None:
        return  # every page was read before a crash; only the finished mark is missing
    remaining = None if cfg.max_pages is None else cfg.max_pages - ckpt.pages_done
    if remaining is not None and remaining <= 0:
        return
    ident = step.identity
    first_page = ckpt.pages_done
    workers = WorkerPool(plan, workers_for(cfg.parallel_requests)) if plan is not None else None

    def open_source() -> FrameSource:
        return FrameSource(open_session(), fields, first_page=first_page, workers=workers)

    with (
        workers or nullcontext(),  # closed after the reader: no fetch is in flight by then
        fewer_gc_passes(),
        PageReader(
            open_source, cfg.operation, params, page_size=page_size, parallel=cfg.parallel_requests,
            start=ckpt.next_token, max_pages=remaining,
        ) as reader,
        _PartWriter(step, ckpt, cursor_field, rows_per_part=cfg.checkpoint_rows) as writer,
    ):
        pages_read = ckpt.pages_done
        for page in reader:
            if time.monotonic() > deadline:
                raise ActivityTimeout(
                    f"extract {ident.activity!r} passed its start_to_close_timeout of {step.timeout_seconds} s "
                    f"after {pages_read} pages; resume the run to continue from the last checkpoint"
                )
            if page.paging_note:
                step.context.log.warning(page.paging_note)
                notes.append(page.paging_note)
            pages_read += 1
            writer.add(page.frame, pages_read, page.next)


class _PartWriter:
    """Stages pages as parquet parts and checkpoints after each part, on a background thread.

    Pages accumulate until ``checkpoint_rows`` records, then become one part; the checkpoint (pages done,
    continuation token, parts) is saved once the part is durable, so a resumed run re-reads at most the
    pages after the last part. Writing overlaps with fetching the next pages (parquet encoding, file and
    database I/O release the GIL); parts are written in order by one worker.
    """

    def __init__(self, step: StepRuntime, ckpt: Checkpoint, cursor_field: str | None, *, rows_per_part: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._step, self._ckpt, self._cursor_field = step, ckpt, cursor_field
        self._rows_per_part = rows_per_part
        self._frames: list[pl.DataFrame] = []
        self._pending: Any = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="erp-extract-writer")
        self.rows = 0

    def __enter__(self) -> _PartWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self._flush()
            self._wait()
        finally:
            self._pool.shutdown(wait=True)

    def add(self, frame: pl.DataFrame, pages_done: int, next_token: str | None) -> None:
        self._frames.append(frame)
        self.rows += frame.height
        self._pages_done, self._next_token = pages_done, next_token
        if self.rows >= self._rows_per_part or next_token is None:
            self._flush()

    def _flush(self) -> None:
        if not self._frames:
            return
        frame = pl.concat(self._frames, how="vertical") if len(self._frames) > 1 else self._frames[0]
        pages_done, next_token = self._pages_done, self._next_token
        self._frames, self.rows = [], 0
        self._wait()  # parts are written and checkpointed in order
        self._pending = self._pool.submit(self._write, frame, pages_done, next_token)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def _write(self, frame: pl.DataFrame, pages_done: int, next_token: str | None) -> None:
        import io

        step, ckpt = self._step, self._ckpt
        key = tenant_key(
            step.tenant.slug, "executions", step.root_run_id, "activities",
            f"{step.identity.workflow}.{step.identity.activity}", "pages", f"part-{pages_done:06d}.parquet",
        )
        buf = io.BytesIO()
        frame.write_parquet(buf, compression="snappy")  # staged parts: half the CPU of zstd, read once
        process_platform().objects.put_bytes(key, buf.getvalue())  # replaces an unrecorded part of a crash
        ckpt.part_keys.append(key.path)
        ckpt.records_done += frame.height
        ckpt.pages_done, ckpt.next_token = pages_done, next_token
        if self._cursor_field and frame.height and self._cursor_field in frame.columns:
            ckpt.cursor_max = _max_cursor(ckpt.cursor_max, frame, self._cursor_field)
        save_checkpoint(process_platform().engine, ckpt, step.run_id)


def _scan_parts(step: StepRuntime, ckpt: Checkpoint, fields: dict[str, str]) -> pl.LazyFrame:
    from erp_platform.orchestration._io_manager import key_for_path

    paths = [local_path(key_for_path(step.tenant.slug, p)) for p in ckpt.part_keys]
    if not paths:
        return frame_from_records([], fields).lazy()
    return pl.scan_parquet(paths)


def _max_cursor(current: str | None, frame: pl.DataFrame, column: str) -> str | None:
    series = frame.get_column(column).drop_nulls()
    if series.is_empty():
        return current
    top = series.max()
    value = top.astimezone(UTC).isoformat() if isinstance(top, datetime) else str(top)
    return value if current is None or value > current else current


# -- transform --------------------------------------------------------------------------------------------
def run_transform(
    step: StepRuntime, activity: TransformActivity, inputs: dict[str, pl.LazyFrame], main: str
) -> pl.LazyFrame:
    return apply_transform(activity.config, inputs, main=main, ctx=step.execution_context())


# -- load -------------------------------------------------------------------------------------------------
def run_load(
    step: StepRuntime,
    activity: LoadActivity,
    frame: pl.LazyFrame,
    plan: LoadPlan,
    upstream_extracts: list[tuple[dg.AssetKey, str]],
) -> tuple[dict[str, Any], list[dg.AssetCheckResult]]:
    """Merge into the tenant's table, check it, then commit the incremental cursors of the extracts."""
    from erp_platform.loader import load_frame

    plat = process_platform()
    loaded_at = datetime.now(UTC)
    result = load_frame(
        plat.engine,
        step.tenant,
        activity.config.model_copy(update={"business_key": list(plan.business_key)}),
        frame,
        run_id=step.run_id,
        loaded_at=loaded_at,
        mapping=plan.mapping,
    )
    checks = _load_checks(step, activity, plan, result.rows_in - result.duplicates)
    for asset_key, extract_id in upstream_extracts:
        event = step.context.instance.get_latest_materialization_event(asset_key)
        meta = event.asset_materialization.metadata if event and event.asset_materialization else {}
        cursor = meta.get(CURSOR_META)
        if cursor is not None:
            commit_cursor(plat.engine, step.tenant.id, step.identity.workflow, extract_id,
                          value=str(cursor.value), run_id=step.run_id)
    metadata: dict[str, Any] = {
        "erp/table": result.table,
        "erp/rows_in": result.rows_in,
        "erp/inserted": result.inserted,
        "erp/updated": result.updated,
        "erp/unchanged": result.unchanged,
        "erp/duplicates": result.duplicates,
        "erp/created": result.created,
        "erp/columns_added": ", ".join(result.columns_added) or "-",
    }
    return metadata, checks


def _load_checks(
    step: StepRuntime, activity: LoadActivity, plan: LoadPlan, distinct_rows: int
) -> list[dg.AssetCheckResult]:
    """Row count, and business-key integrity from the table's primary key (unique and NOT NULL by
    construction), read from the catalog instead of scanning the table."""
    from sqlalchemy import text

    from erp_platform.db import quote_ident

    table = quote_ident(activity.config.table)
    with tenant_transaction(process_platform().engine, step.tenant) as conn:
        total = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        pk_columns = (
            conn.execute(
                text(
                    "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                    "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass(:t) AND i.indisprimary "
                    "ORDER BY a.attname"
                ),
                {"t": f"{step.tenant.schema_name}.{activity.config.table}"},
            )
            .scalars()
            .all()
        )
    expected = sorted(plan.business_key)
    return [
        dg.AssetCheckResult(
            check_name="row_count",
            passed=bool(total >= distinct_rows),
            metadata={"table_rows": int(total), "rows_loaded": int(distinct_rows)},
            description="the table holds at least every distinct business key of this load",
        ),
        dg.AssetCheckResult(
            check_name="business_key",
            passed=list(pk_columns) == expected,
            metadata={"primary_key": ", ".join(pk_columns) or "-", "business_key": ", ".join(expected)},
            description="the business key is the table's primary key (unique, never null)",
        ),
    ]


def extract_checks(frame: pl.LazyFrame, records: int, keys: tuple[str, ...]) -> list[dg.AssetCheckResult]:
    """Record count matches the checkpointed pages; entity keys present and unique when declared."""
    height = int(frame.select(pl.len()).collect().item())
    results = [
        dg.AssetCheckResult(
            check_name="record_count",
            passed=height == records,
            metadata={"rows": height, "records_fetched": records},
        )
    ]
    present = [k for k in keys if k in frame.collect_schema().names()]
    if present:
        stats = (
            frame.select(
                pl.len().alias("n"),
                pl.struct(present).n_unique().alias("distinct"),
                pl.any_horizontal([pl.col(k).is_null() for k in present]).sum().alias("nulls"),
            )
            .collect()
            .row(0, named=True)
        )
        results.append(
            dg.AssetCheckResult(
                check_name="keys",
                passed=bool(stats["distinct"] == stats["n"] and stats["nulls"] == 0),
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "rows": int(stats["n"]),
                    "distinct_keys": int(stats["distinct"]),
                    "null_keys": int(stats["nulls"] or 0),
                    "key": ", ".join(present),
                },
            )
        )
    return results
