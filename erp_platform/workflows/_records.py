"""Registry rows as the rest of the platform sees them (no definition body: see ``WorkflowRegistry.get``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

WorkflowStatus = Literal["DRAFT", "ACTIVE", "DEPRECATED", "RETIRED"]
MappingStatus = Literal["DRAFT", "ACTIVE", "DEPRECATED", "RETIRED"]


class WorkflowRecord(BaseModel):
    """One stored version of a workflow.

    Status: DRAFT (applied, never active) -> ACTIVE (the one version that runs; activating another makes
    this one DEPRECATED) -> DEPRECATED -> RETIRED (final: never runs again). ``deprecated_after`` and
    ``force_cancel_after`` are the operational dates set by ``erp workflow deprecate``: after the first,
    runs of this version warn; after the second, running executions are cancelled and new ones refused.
    """

    model_config = ConfigDict(frozen=True)

    id: int
    tenant: str
    workflow_id: str
    version: int
    content_hash: str
    status: WorkflowStatus
    deprecated_after: datetime | None = None
    force_cancel_after: datetime | None = None
    required_sdk_version: int | None = None
    required_capabilities: list[str] = []
    created_by: str
    created_at: datetime
    activated_at: datetime | None = None
    retired_at: datetime | None = None

    @classmethod
    def from_row(cls, tenant: str, row: Any) -> WorkflowRecord:
        return cls(
            id=row.id,
            tenant=tenant,
            workflow_id=row.workflow_id,
            version=row.version,
            content_hash=row.content_hash,
            status=row.status,
            deprecated_after=row.deprecated_after,
            force_cancel_after=row.force_cancel_after,
            required_sdk_version=row.required_sdk_version,
            required_capabilities=list(row.required_capabilities or []),
            created_by=row.created_by,
            created_at=row.created_at,
            activated_at=row.activated_at,
            retired_at=row.retired_at,
        )

    @property
    def ref(self) -> str:
        """``workflow@version``: how audit entries and messages name this version."""
        return f"{self.workflow_id}@{self.version}"

    def is_deprecated_at(self, now: datetime) -> bool:
        """True when superseded (DEPRECATED) or past ``deprecated_after``: runs should warn."""
        if self.status == "DEPRECATED":
            return True
        return self.deprecated_after is not None and now >= self.deprecated_after

    def must_cancel_at(self, now: datetime) -> bool:
        """True when RETIRED or past ``force_cancel_after``: running executions are to be cancelled."""
        if self.status == "RETIRED":
            return True
        return self.force_cancel_after is not None and now >= self.force_cancel_after

    def accepts_new_runs_at(self, now: datetime) -> bool:
        """True for ACTIVE and DEPRECATED versions not yet past ``force_cancel_after``."""
        return self.status in ("ACTIVE", "DEPRECATED") and not self.must_cancel_at(now)


class MappingRecord(BaseModel):
    """One stored version of a mapping config (``LoadSpec.mapping_ref`` names it)."""

    model_config = ConfigDict(frozen=True)

    id: int
    tenant: str
    name: str
    version: int
    content_hash: str
    status: MappingStatus
    created_at: datetime

    @classmethod
    def from_row(cls, tenant: str, row: Any) -> MappingRecord:
        return cls(
            id=row.id,
            tenant=tenant,
            name=row.name,
            version=row.version,
            content_hash=row.content_hash,
            status=row.status,
            created_at=row.created_at,
        )

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"
