"""``WorkflowDefinition``: the engine-neutral (Temporal-compatible) artifact that compiles to Dagster.

This module holds the shape of a definition and per-field rules. Whole-definition rules (cycles, unknown
activities, unknown SDK operations, mapping type checks, ...) are in ``_validate.py`` and report every
problem at once with its JSON path.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from erp_platform.loader._spec import LoadSpec
from erp_platform.transforms._names import FieldName
from erp_platform.transforms._spec import Identifier, TransformSpec


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetryPolicy(_Frozen):
    max_attempts: int = Field(3, ge=1, le=20)
    initial_interval_seconds: float = Field(1.0, ge=0, le=3600)
    backoff_coefficient: float = Field(2.0, ge=1.0, le=10.0)
    max_interval_seconds: float = Field(60.0, ge=0, le=86400)


class IdempotencyStrategy(StrEnum):
    NONE = "none"
    REQUEST_ID = "request_id"  # a deterministic Idempotency-Key per run, step and page is sent to the ERP
    CUSTOM = "custom"  # the activity is idempotent by construction (loads: merge on the business key)


DEFAULT_PAGE_SIZE = 1000


class ExtractConfig(_Frozen):
    """Read one SDK operation page by page."""

    sdk: Identifier = Field(description="name of the tenant's SDK")
    operation: Identifier = Field(description="SDK operation (a collection read)")
    params: dict[str, Any] = Field(default_factory=dict, description="operation parameters")
    page_size: int | None = Field(
        None, ge=1, le=10000,
        description=f"records per request (default: {DEFAULT_PAGE_SIZE}, or the most the operation accepts when "
        "that is less)",
    )

    def effective_page_size(self, max_page_size: int | None) -> int:
        """The page size to request: as given, else the default capped at the operation's maximum."""
        if self.page_size is not None:
            return self.page_size
        return min(DEFAULT_PAGE_SIZE, max_page_size) if max_page_size else DEFAULT_PAGE_SIZE
    incremental: bool = Field(False, description="read only records changed since the last successful run")
    cursor_field: FieldName | None = Field(
        None,
        description="incremental: the record field whose newest value is the next run's change cursor, exactly "
        "as the ERP names it (default: the change field the SDK declares for the operation)",
    )
    max_pages: int | None = Field(None, ge=1, description="stop after this many pages (samples, tests)")
    checkpoint_rows: int = Field(
        10_000, ge=1, le=1_000_000,
        description="records between checkpoints: a resumed run re-reads at most this many (1 = every page)",
    )
    parallel_requests: int = Field(
        4, ge=1, le=16,
        description="pages fetched at once where the paging allows it (page numbers, $skip, offsets; cursors and "
        "next links are read one page at a time); every request still counts against the tenant's rate limit. "
        "1 reads one page at a time, for ERPs that refuse concurrent requests",
    )


class ActivityType(StrEnum):
    EXTRACT = "extract"
    TRANSFORM = "transform"
    LOAD = "load"


class _ActivityBase(_Frozen):
    id: Identifier
    description: str = Field("", max_length=2000)
    side_effect: bool = False
    idempotency_strategy: IdempotencyStrategy = IdempotencyStrategy.NONE
    retry_policy: RetryPolicy | None = None
    start_to_close_timeout_seconds: int = Field(3600, ge=1, le=7 * 86400)


class ExtractActivity(_ActivityBase):
    type: Literal["extract"]
    config: ExtractConfig


class TransformActivity(_ActivityBase):
    type: Literal["transform"]
    config: TransformSpec


class LoadActivity(_ActivityBase):
    type: Literal["load"]
    config: LoadSpec
    side_effect: bool = True
    idempotency_strategy: IdempotencyStrategy = IdempotencyStrategy.CUSTOM


Activity = Annotated[ExtractActivity | TransformActivity | LoadActivity, Field(discriminator="type")]


class Step(_Frozen):
    """A step runs one activity after its dependencies; steps in one parallel group may run together."""

    id: Identifier | None = Field(None, description="step id (default: the activity id)")
    activity: Identifier
    depends_on: list[Identifier] = Field(default_factory=list, description="step ids that must finish first")
    parallel_group: Identifier | None = None

    @property
    def step_id(self) -> str:
        return self.id or self.activity


class ScheduleTrigger(_Frozen):
    type: Literal["schedule"]
    cron: str = Field(description="five-field cron expression, e.g. '0 * * * *'")
    timezone: str = "UTC"


class SensorTrigger(_Frozen):
    """``erp_change``: poll an extract's incremental cursor; ``upstream_freshness``: run when another of the
    tenant's workflows has materialised its assets since this one last ran."""

    type: Literal["sensor"]
    kind: Literal["erp_change", "upstream_freshness"]
    activity: Identifier | None = Field(None, description="erp_change: the extract activity to watch")
    upstream_workflow: Identifier | None = Field(None, description="upstream_freshness: workflow to follow")
    interval_seconds: int = Field(300, ge=30, le=86400)


Trigger = Annotated[ScheduleTrigger | SensorTrigger, Field(discriminator="type")]


class Lifecycle(_Frozen):
    deprecated_after: datetime | None = None
    force_cancel_after: datetime | None = None


class Compatibility(_Frozen):
    required_sdk_version: int | None = Field(None, ge=1)
    required_capabilities: list[str] = Field(default_factory=list)


class WorkflowParameter(_Frozen):
    """A value the definition uses as ``{name}``, supplied at apply time (``--param name=VALUE``)."""

    description: str = Field("", max_length=2000)
    default: str | None = Field(None, max_length=1000, description="used when no value is supplied")
    value: str | None = Field(None, max_length=1000, description="the value applied (set when applied)")


class WorkflowDefinition(_Frozen):
    """A versioned sync workflow. ``version`` and ``content_hash`` are assigned by the registry."""

    id: Identifier
    description: str = Field("", max_length=5000)
    activities: list[Activity] = Field(min_length=1)
    steps: list[Step] = Field(default_factory=list, description="default: one step per activity, no deps")
    retry_policy: RetryPolicy = RetryPolicy()
    triggers: list[Trigger] = Field(default_factory=list)
    lifecycle: Lifecycle = Lifecycle()
    compatibility: Compatibility = Compatibility()
    parameters: dict[Identifier, WorkflowParameter] = Field(
        default_factory=dict, description="values used as {name} in text, supplied when applied"
    )

    @model_serializer(mode="wrap")
    def _omit_no_parameters(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A definition without parameters dumps (and so hashes) exactly as before parameters existed."""
        data: dict[str, Any] = handler(self)
        if not self.parameters:
            data.pop("parameters", None)
        return data
