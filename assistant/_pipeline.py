"""The draft pipeline: a proposed definition -> validate -> compile -> dry run -> a DRAFT version.

Every stage reports problems with their JSON paths; the first stage with problems stops the check, and
the problems go back to whoever proposed the draft (the model, for a bounded number of repairs, or the
user). A draft that passes every stage is stored through the workflow registry (validated and hashed
again there) as a DRAFT version and shown as a diff against the ACTIVE version. Activation is never
done here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine

from assistant._catalog import CatalogView
from assistant._compile import CompiledDraft, compile_draft, draft_inputs
from assistant._diff import change_summary, definition_yaml, unified_diff
from assistant._dryrun import DryRun, dry_run, missing_credentials
from assistant._grounding import invented_names
from assistant._store import AssistantStore, DraftInfo
from erp_platform._errors import NotFoundError, Problem
from erp_platform.sdks import SdkService
from erp_platform.tenancy import TenantService
from erp_platform.workflows import (
    InvalidDefinitionError,
    MappingRegistry,
    WorkflowDefinition,
    WorkflowRegistry,
    definition_payload,
    parse_definition,
    registry_catalog_factory,
    validate_definition,
)

Stage = Literal["parse", "ground", "validate", "compile", "dry_run", "ok"]


class ProblemView(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    message: str
    received: str | None = None

    @classmethod
    def of(cls, problem: Problem) -> ProblemView:
        received = None if problem.received is None else json.dumps(problem.received, default=str)[:200]
        return cls(path=problem.path, message=problem.message, received=received)

    def render(self) -> str:
        return f"{self.path}: {self.message}" + (f" (received: {self.received})" if self.received else "")


class DraftReport(BaseModel):
    """What the pipeline found: the stage reached, its problems, the compiled graph and the dry run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stage: Stage
    problems: tuple[ProblemView, ...] = ()
    invented: tuple[str, ...] = ()
    compiled: CompiledDraft | None = None
    dry_run: DryRun | None = None
    changes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.stage == "ok"


class DraftPipeline:
    """Checks and stores drafts of ONE tenant (catalog, registry, SDK sessions: all that tenant's)."""

    def __init__(self, engine: Engine, sdks: SdkService, tenant: str, catalog: CatalogView, *,
                 dry_run_rows: int = 20) -> None:
        self._engine = engine
        self._sdks = sdks
        self.tenant = tenant
        self.catalog = catalog
        self._rows = dry_run_rows
        self.registry = WorkflowRegistry(engine, registry_catalog_factory(engine))
        self.store = AssistantStore(engine)

    # -- checking ---------------------------------------------------------------------------------------
    def check(self, proposed: Mapping[str, Any] | WorkflowDefinition) -> tuple[WorkflowDefinition | None, DraftReport]:
        """Run every stage until one has problems."""
        if isinstance(proposed, WorkflowDefinition):
            definition = proposed
        else:
            try:
                definition = parse_definition(json.dumps(dict(proposed), default=str), filename="draft")
            except InvalidDefinitionError as exc:
                return None, DraftReport(stage="parse", problems=tuple(ProblemView.of(p) for p in exc.problems))
        invented = invented_names(definition, self.catalog)
        if invented:
            return definition, DraftReport(stage="ground", problems=tuple(ProblemView.of(p) for p in invented),
                                           invented=tuple(str(p.received) for p in invented))
        problems = validate_definition(
            definition, catalog=registry_catalog_factory(self._engine)(self.tenant),
            mappings=MappingRegistry(self._engine).source(self.tenant),
        )
        if problems:
            return definition, DraftReport(stage="validate", problems=tuple(ProblemView.of(p) for p in problems))
        tenant = TenantService(self._engine).get(self.tenant)
        _, active = self.active(definition.id)
        newest = max((r.version for r in self.registry.list(self.tenant, definition.id)), default=0)
        try:
            inputs = draft_inputs(self._engine, tenant, definition, newest + 1)
            compiled = compile_draft(inputs)
        except Exception as exc:  # Dagster refuses the graph: report it like any problem
            return definition, DraftReport(stage="compile", problems=(ProblemView(
                path="(compile)", message=f"the Dagster compilation failed: {type(exc).__name__}: {exc}"[:1000]),))
        needs = missing_credentials(self._engine, self._sdks, inputs)
        preview = dry_run(self._sdks, inputs, rows=self._rows, needs=needs)
        changes = tuple(change_summary(active, definition))
        if not preview.ok:
            return definition, DraftReport(
                stage="dry_run", compiled=compiled, dry_run=preview, changes=changes,
                problems=tuple(ProblemView(path=p, message=m) for p, m in preview.problems))
        return definition, DraftReport(stage="ok", compiled=compiled, dry_run=preview, changes=changes)

    def active(self, workflow_id: str) -> tuple[int | None, WorkflowDefinition | None]:
        """The ACTIVE version of a workflow of this tenant and its definition (None, None without one)."""
        records = [r for r in self.registry.list(self.tenant, workflow_id) if r.status == "ACTIVE"]
        if not records:
            return None, None
        _, definition = self.registry.get(self.tenant, workflow_id, records[0].version)
        return records[0].version, definition

    # -- storing ----------------------------------------------------------------------------------------
    def save(self, definition: WorkflowDefinition | None, report: DraftReport, *, conversation_id: str | None,
             repairs: int, source: str, proposed: Mapping[str, Any] | None = None) -> DraftInfo:
        """Store a checked draft: a valid one as a new DRAFT workflow version (through the registry), an
        invalid one only in the assistant's drafts (with its problems), never activated."""
        workflow_id = definition.id if definition is not None else str((proposed or {}).get("id", "unknown"))[:63]
        base_version, active = self.active(workflow_id) if definition is not None else (None, None)
        body = definition_payload(definition) if definition is not None else dict(proposed or {})
        version = content = None
        diff = ""
        notes = list(report.notes)
        if report.ok and definition is not None:
            record, created = self.registry.apply(self.tenant, definition_yaml(definition), f"assistant:{source}")
            version, content = record.version, record.content_hash
            if not created:
                notes.append(f"the newest version (v{record.version}) already has this content: no new version")
            diff = unified_diff(active, definition, active_version=base_version, draft_version=version)
        report = report.model_copy(update={"notes": tuple(notes)})
        return self.store.add_draft(
            self.tenant, conversation_id=conversation_id, workflow_id=workflow_id, version=version,
            content_hash=content, base_version=base_version, status="VALID" if report.ok else "INVALID",
            definition=body, report=report.model_dump(mode="json"), diff=diff, repairs=repairs, source=source,
        )


def activate_draft(engine: Engine, tenant: str, draft_id: int) -> DraftInfo:
    """Activate the workflow version a VALID draft stored: the same registry path as
    ``erp workflow activate`` (compatibility check, audit, previous ACTIVE version DEPRECATED).

    Raises:
        NotFoundError: no such draft for this tenant.
        ConflictError / CompatibilityError: as ``WorkflowRegistry.activate``.
    """
    store = AssistantStore(engine)
    draft = store.draft(tenant, draft_id)
    if draft.status != "VALID" or draft.version is None:
        raise NotFoundError(
            f"draft {draft_id} of tenant {tenant!r} is {draft.status}: it has no workflow version to activate; "
            "ask the assistant for a corrected draft"
        )
    WorkflowRegistry(engine, registry_catalog_factory(engine)).activate(tenant, draft.workflow_id, draft.version)
    return draft


def rollback(engine: Engine, tenant: str, workflow_id: str) -> tuple[int, int]:
    """Re-activate the version that was ACTIVE before the current one; returns (from, to) versions.

    Raises:
        NotFoundError: the workflow has no ACTIVE version, or no earlier version to return to.
    """
    registry = WorkflowRegistry(engine, registry_catalog_factory(engine))
    records = registry.list(tenant, workflow_id)
    current = next((r for r in records if r.status == "ACTIVE"), None)
    if current is None:
        raise NotFoundError(f"workflow {workflow_id!r} of tenant {tenant!r} has no ACTIVE version to roll back")
    earlier = [r for r in records if r.status == "DEPRECATED" and r.activated_at is not None
               and r.version != current.version]
    if not earlier:
        raise NotFoundError(
            f"workflow {workflow_id!r} of tenant {tenant!r} has no earlier activated version to return to "
            f"(versions: {', '.join(f'v{r.version} {r.status}' for r in records)}); retire v{current.version} "
            f"with `erp workflow retire {tenant} {workflow_id} {current.version}` to stop it"
        )
    previous = max(earlier, key=lambda r: r.activated_at or r.created_at)
    registry.activate(tenant, workflow_id, previous.version)
    return current.version, previous.version


def describe_problems(problems: tuple[ProblemView, ...]) -> str:
    return "\n".join(f"  - {p.render()}" for p in problems)

