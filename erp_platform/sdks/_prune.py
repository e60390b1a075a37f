"""Pruning old SDK versions: delete the stored artifacts of versions nothing can use any more.

A version's artifacts go only when the version is REVOKED or FAILED (neither ever opens again), is not
among the newest ``keep`` versions, and no stored workflow version pins it (``required_sdk_version``).
ACTIVE and TESTING versions are never pruned. The registry row stays (history and audit), with its
artifact references cleared; every pruned version is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Engine, Row, select, update

from erp_platform._errors import InvalidInputError
from erp_platform.objectstore import ObjectStore, sdk_artifact_key
from erp_platform.registry import SdkVersion, WorkflowDefinitionRow, record_audit
from erp_platform.sdks._registry import lock_sdk, not_found, tenant_row, validate_sdk_name, versions

PRUNABLE_STATUSES = ("REVOKED", "FAILED")
_FROZEN = ConfigDict(frozen=True)


class PrunedVersion(BaseModel):
    """One version whose artifacts were deleted."""

    model_config = _FROZEN

    version: int
    status: str
    objects: int = Field(description="objects deleted")


class KeptVersion(BaseModel):
    """One version left as it was, and why."""

    model_config = _FROZEN

    version: int
    status: str
    reason: str


class PruneReport(BaseModel):
    """What ``erp sdk prune`` did to one SDK of one tenant."""

    model_config = _FROZEN

    tenant: str
    sdk: str
    keep: int
    pruned: tuple[PrunedVersion, ...]
    kept: tuple[KeptVersion, ...]
    freed_bytes: int
    used_bytes: int
    limit_bytes: int | None


def prune_versions(engine: Engine, objects: ObjectStore, tenant: str, name: str, keep: int) -> PruneReport:
    """Delete the artifacts of ``name``'s prunable versions of ``tenant``, keeping the newest ``keep``.

    Raises:
        InvalidInputError: a bad SDK name or ``keep`` below 0.
        NotFoundError: the tenant has no such SDK.
    """
    validate_sdk_name(name)
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise InvalidInputError(f"--keep must be a whole number of versions, 0 or more (received {keep!r})")
    before = objects.usage(tenant).used_bytes
    pruned: list[PrunedVersion] = []
    kept: list[KeptVersion] = []
    with engine.begin() as conn:
        row_tenant = tenant_row(conn, tenant)
        lock_sdk(conn, row_tenant.id, name)
        rows = sorted(versions(conn, row_tenant.id, name), key=lambda r: r.version, reverse=True)
        if not rows:
            raise not_found(conn, row_tenant, name, None)
        pinned = _pinned_versions(conn, row_tenant.id, name)
        for position, row in enumerate(rows):
            reason = _keep_reason(row, position, keep, pinned)
            if reason is not None:
                kept.append(KeptVersion(version=row.version, status=row.status, reason=reason))
                continue
            count = objects.delete_prefix(sdk_artifact_key(tenant, name, row.version))
            conn.execute(update(SdkVersion).where(SdkVersion.id == row.id).values(
                spec_ref=None, code_ref=None, facade_ref=None, wasm_ref=None, precompiled_ref=None))
            record_audit(conn, action="sdk.prune", target_type="sdk", target_id=f"{name}@{row.version}",
                         tenant_slug=tenant, details={"version": row.version, "status": row.status,
                                                      "objects": count, "keep": keep})
            pruned.append(PrunedVersion(version=row.version, status=row.status, objects=count))
    usage = objects.usage(tenant)
    return PruneReport(tenant=tenant, sdk=name, keep=keep, pruned=tuple(pruned), kept=tuple(kept),
                       freed_bytes=max(0, before - usage.used_bytes), used_bytes=usage.used_bytes,
                       limit_bytes=usage.limit_bytes)


def _keep_reason(row: Row[Any], position: int, keep: int, pinned: dict[int, str]) -> str | None:
    if row.status not in PRUNABLE_STATUSES:
        return f"{row.status} versions are never pruned"
    if position < keep:
        return f"among the newest {keep}"
    if row.version in pinned:
        return f"pinned by workflow {pinned[row.version]}"
    if all(ref is None for ref in (row.spec_ref, row.code_ref, row.facade_ref, row.wasm_ref,
                                   row.precompiled_ref)):
        return "artifacts already deleted"
    return None


def _pinned_versions(conn: Connection, tenant_id: int, name: str) -> dict[int, str]:
    """Versions of SDK ``name`` that a stored workflow version pins, with the first such workflow."""
    rows: Sequence[Row[Any]] = conn.execute(
        select(WorkflowDefinitionRow.workflow_id, WorkflowDefinitionRow.version,
               WorkflowDefinitionRow.required_sdk_version, WorkflowDefinitionRow.definition)
        .where(WorkflowDefinitionRow.tenant_id == tenant_id,
               WorkflowDefinitionRow.required_sdk_version.is_not(None))
        .order_by(WorkflowDefinitionRow.workflow_id, WorkflowDefinitionRow.version)
    ).all()
    pinned: dict[int, str] = {}
    for row in rows:
        activities = (row.definition or {}).get("activities") or []
        uses = any(isinstance(a, dict) and (a.get("config") or {}).get("sdk") == name for a in activities)
        if uses:
            pinned.setdefault(int(row.required_sdk_version), f"{row.workflow_id} v{row.version}")
    return pinned
