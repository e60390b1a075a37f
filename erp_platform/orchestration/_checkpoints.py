"""Extract checkpoints (page cursor per run lineage) and committed incremental cursors."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert

from erp_platform.registry import ExtractCheckpoint, SyncCursor


@dataclass
class Checkpoint:
    """Where an extract of one run lineage (root run and its re-executions) has got to."""

    tenant_id: int
    root_run_id: str
    workflow: str
    activity: str
    pages_done: int = 0
    records_done: int = 0
    next_token: str | None = None
    part_keys: list[str] = field(default_factory=list)
    cursor_max: str | None = None
    finished: bool = False


def load_checkpoint(
    engine: Engine, tenant_id: int, root_run_id: str, workflow: str, activity: str
) -> Checkpoint:
    t = ExtractCheckpoint.__table__
    with engine.connect() as conn:
        row = conn.execute(
            select(t).where(
                t.c.tenant_id == tenant_id,
                t.c.root_run_id == root_run_id,
                t.c.workflow_id == workflow,
                t.c.activity_id == activity,
            )
        ).first()
    if row is None:
        return Checkpoint(tenant_id, root_run_id, workflow, activity)
    return Checkpoint(
        tenant_id,
        root_run_id,
        workflow,
        activity,
        pages_done=row.pages_done,
        records_done=row.records_done,
        next_token=row.next_token,
        part_keys=list(row.part_keys),
        cursor_max=row.cursor_max,
        finished=row.finished,
    )


def save_checkpoint(engine: Engine, ckpt: Checkpoint, run_id: str) -> None:
    """Durably record progress (one statement, so a crash leaves the previous or the new checkpoint)."""
    values = {
        "tenant_id": ckpt.tenant_id,
        "root_run_id": ckpt.root_run_id,
        "workflow_id": ckpt.workflow,
        "activity_id": ckpt.activity,
        "run_id": run_id,
        "pages_done": ckpt.pages_done,
        "records_done": ckpt.records_done,
        "next_token": ckpt.next_token,
        "part_keys": ckpt.part_keys,
        "cursor_max": ckpt.cursor_max,
        "finished": ckpt.finished,
    }
    stmt = insert(ExtractCheckpoint).values(**values)
    stmt = stmt.on_conflict_do_update(
        constraint="uq_extract_checkpoints_lineage",
        set_={
            k: stmt.excluded[k]
            for k in values
            if k not in ("tenant_id", "root_run_id", "workflow_id", "activity_id")
        }
        | {"updated_at": stmt.excluded.updated_at},
    )
    with engine.begin() as conn:
        conn.execute(stmt)


def committed_cursor(engine: Engine, tenant_id: int, workflow: str, activity: str) -> str | None:
    t = SyncCursor.__table__
    with engine.connect() as conn:
        value = conn.execute(
            select(t.c.cursor_value).where(
                t.c.tenant_id == tenant_id, t.c.workflow_id == workflow, t.c.activity_id == activity
            )
        ).scalar()
    return str(value) if value is not None else None


def commit_cursor(
    engine: Engine, tenant_id: int, workflow: str, activity: str, *, value: str, run_id: str
) -> None:
    """Advance the incremental cursor (never backwards) once the extracted data is durably loaded."""
    t = SyncCursor.__table__
    stmt = insert(SyncCursor).values(
        tenant_id=tenant_id, workflow_id=workflow, activity_id=activity, cursor_value=value, run_id=run_id
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.tenant_id, t.c.workflow_id, t.c.activity_id],
        set_={
            "cursor_value": stmt.excluded.cursor_value,
            "run_id": stmt.excluded.run_id,
            "updated_at": stmt.excluded.updated_at,
        },
        where=t.c.cursor_value < stmt.excluded.cursor_value,
    )
    with engine.begin() as conn:
        conn.execute(stmt)
