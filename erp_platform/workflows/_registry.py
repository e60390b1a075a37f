"""The workflow registry service: validated, versioned, content-hashed, tenant-scoped definitions.

Every method takes the tenant's slug and only ever reads or changes that tenant's rows. A definition is
validated against the tenant's own SDK catalog and mapping configs, so it cannot reference another
tenant's artifacts. Every change is written to the audit log in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, func, insert, select, update

from erp_platform._errors import (
    ArtifactIntegrityError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    Problem,
)
from erp_platform.registry import WorkflowDefinitionRow, current_actor, record_audit
from erp_platform.workflows._catalog import SdkCatalog
from erp_platform.workflows._definition import Lifecycle, WorkflowDefinition
from erp_platform.workflows._hash import content_hash, definition_payload, stored_definition_hash
from erp_platform.workflows._mappings import MappingRegistry
from erp_platform.workflows._records import WorkflowRecord
from erp_platform.workflows._scope import as_utc, lock_artifact, tenant_id_for
from erp_platform.workflows._typecheck import LoadPlan, TypeSystem
from erp_platform.workflows._validate import (
    CompatibilityError,
    InvalidDefinitionError,
    parse_definition,
    plan_loads,
    validate_definition,
)

CatalogFactory = Callable[[str], SdkCatalog]
"""Returns the SDK catalog of one tenant (by slug)."""

_W = WorkflowDefinitionRow
_COLUMNS = tuple(WorkflowDefinitionRow.__table__.c)


class WorkflowRegistry:
    """Apply, activate, deprecate, retire and read one tenant's workflow definitions.

    Example::

        registry = WorkflowRegistry(engine, registry_catalog_factory(engine))
        record, created = registry.apply("acme", path.read_text(), path.name)
        registry.activate("acme", record.workflow_id, record.version)
    """

    def __init__(
        self,
        engine: Engine,
        catalog_factory: CatalogFactory,
        *,
        mappings: MappingRegistry | None = None,
        type_system: TypeSystem | None = None,
    ) -> None:
        self._engine = engine
        self._catalog_factory = catalog_factory
        self._mappings = mappings or MappingRegistry(engine)
        self._type_system = type_system

    # -- validation ------------------------------------------------------------------------------------
    def validate(
        self, tenant: str, text: str | bytes, filename: str, params: Mapping[str, str] | None = None
    ) -> WorkflowDefinition:
        """Parse and validate a definition against the tenant's SDKs and mappings; nothing is stored.

        Args:
            params: values of the definition's declared parameters (``--param NAME=VALUE``).

        Raises:
            DocumentSyntaxError, InvalidDefinitionError: with every problem (path, message, received).
        """
        with self._engine.connect() as conn:
            tenant_id_for(conn, tenant)
        definition = parse_definition(text, filename=filename, params=params)
        problems = validate_definition(
            definition,
            catalog=self._catalog_factory(tenant),
            mappings=self._mappings.source(tenant),
            type_system=self._type_system,
        )
        InvalidDefinitionError.raise_if_any(f"{filename}: invalid workflow definition", problems)
        return definition

    def plan(self, tenant: str, definition: WorkflowDefinition) -> tuple[dict[str, LoadPlan], list[Problem]]:
        """What each load of ``definition`` writes, resolved against the tenant's SDKs and mappings now (see
        :func:`plan_loads`): complete or derived mapping, business key columns; and every problem."""
        return plan_loads(definition, catalog=self._catalog_factory(tenant),
                          mappings=self._mappings.source(tenant), type_system=self._type_system)

    # -- changes ---------------------------------------------------------------------------------------
    def apply(
        self, tenant: str, text: str | bytes, filename: str, params: Mapping[str, str] | None = None
    ) -> tuple[WorkflowRecord, bool]:
        """Validate and store a definition as a new DRAFT version (newest version + 1).

        When the newest version has the same content hash (and is not RETIRED), it is returned instead and
        nothing changes: applying the same file twice is idempotent. The lifecycle dates of an existing
        version change only through :meth:`deprecate`. Parameter values (``params``) are substituted
        before hashing, so the same file with other values is another version.

        Returns:
            The version's record, and True when a new version was created.
        """
        definition = self.validate(tenant, text, filename, params)
        digest = content_hash(definition)
        lifecycle = definition.lifecycle
        with self._engine.begin() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            lock_artifact(conn, "workflow", tenant_id, definition.id)
            newest = conn.execute(
                select(*_COLUMNS).where(_W.tenant_id == tenant_id, _W.workflow_id == definition.id)
                .order_by(_W.version.desc()).limit(1)
            ).first()
            if newest is not None and newest.content_hash == digest and newest.status != "RETIRED":
                return WorkflowRecord.from_row(tenant, newest), False
            version = (newest.version if newest is not None else 0) + 1
            row = conn.execute(
                insert(WorkflowDefinitionRow).values(
                    tenant_id=tenant_id,
                    workflow_id=definition.id,
                    version=version,
                    content_hash=digest,
                    definition=definition_payload(definition),
                    status="DRAFT",
                    deprecated_after=as_utc(lifecycle.deprecated_after),
                    force_cancel_after=as_utc(lifecycle.force_cancel_after),
                    required_sdk_version=definition.compatibility.required_sdk_version,
                    required_capabilities=list(definition.compatibility.required_capabilities),
                    created_by=current_actor(),
                ).returning(*_COLUMNS)
            ).one()
            record_audit(conn, action="workflow.apply", target_type="workflow",
                         target_id=f"{definition.id}@{version}", tenant_slug=tenant,
                         details={"version": version, "content_hash": digest, "filename": filename,
                                  **_parameter_values(definition)})
            return WorkflowRecord.from_row(tenant, row), True

    def activate(self, tenant: str, workflow: str, version: int) -> WorkflowRecord:
        """Make one version the ACTIVE one after a compatibility check; the previous ACTIVE version becomes
        DEPRECATED.

        Raises:
            NotFoundError: no such version for this tenant.
            ConflictError: the version is RETIRED.
            CompatibilityError: an SDK, SDK version, operation, capability or mapping it needs is missing
                or not ACTIVE (every problem listed).
            ArtifactIntegrityError: the stored definition does not match its content hash.
        """
        # Snapshots of the tenant's SDKs and mappings, read before the row lock is taken.
        catalog = self._catalog_factory(tenant)
        mapping_source = self._mappings.source(tenant)
        with self._engine.begin() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            lock_artifact(conn, "workflow", tenant_id, workflow)
            row = self._row(conn, tenant, tenant_id, workflow, version)
            if row.status == "ACTIVE":
                return WorkflowRecord.from_row(tenant, row)
            if row.status == "RETIRED":
                raise ConflictError(
                    f"workflow {workflow!r} version {version} of tenant {tenant!r} is RETIRED, which is "
                    "final: "
                    f"apply the definition again to get a new version, then activate that one"
                )
            definition = _verified_definition(tenant, row)
            problems = validate_definition(
                definition,
                catalog=catalog,
                mappings=mapping_source,
                for_activation=True,
                type_system=self._type_system,
            )
            CompatibilityError.raise_if_any(
                f"cannot activate workflow {workflow!r} version {version} of tenant {tenant!r}", problems
            )
            previous = conn.execute(
                update(WorkflowDefinitionRow)
                .where(_W.tenant_id == tenant_id, _W.workflow_id == workflow, _W.status == "ACTIVE")
                .values(status="DEPRECATED").returning(_W.version)
            ).scalar()
            updated = conn.execute(
                update(WorkflowDefinitionRow).where(_W.id == row.id)
                .values(status="ACTIVE", activated_at=func.now()).returning(*_COLUMNS)
            ).one()
            record_audit(conn, action="workflow.activate", target_type="workflow",
                         target_id=f"{workflow}@{version}", tenant_slug=tenant,
                         details={"version": version, "content_hash": row.content_hash,
                                  "from_status": row.status, "deprecated_version": previous})
            return WorkflowRecord.from_row(tenant, updated)

    def deprecate(
        self,
        tenant: str,
        workflow: str,
        version: int,
        after: datetime,
        force_cancel_after: datetime | None = None,
    ) -> WorkflowRecord:
        """Set the lifecycle dates of an ACTIVE or DEPRECATED version (its status does not change).

        After ``after`` runs of this version warn; after ``force_cancel_after`` running executions are
        cancelled and new ones refused. Naive datetimes are taken as UTC. The definition and its content
        hash do not change (``lifecycle`` is not part of the hash).
        """
        after_utc = as_utc(after)
        cancel_utc = as_utc(force_cancel_after)
        if after_utc is not None and cancel_utc is not None and cancel_utc < after_utc:
            raise InvalidInputError(
                f"force_cancel_after ({cancel_utc.isoformat()}) is before deprecated_after "
                f"({after_utc.isoformat()}): running executions are cancelled only after the version is "
                "deprecated, so pass a --force-cancel-after on or after --after"
            )
        with self._engine.begin() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            lock_artifact(conn, "workflow", tenant_id, workflow)
            row = self._row(conn, tenant, tenant_id, workflow, version)
            if row.status == "DRAFT":
                raise ConflictError(
                    f"workflow {workflow!r} version {version} of tenant {tenant!r} is a DRAFT that never "
                    "ran: "
                    f"retire it instead with `erp workflow retire {tenant} {workflow} {version}`"
                )
            if row.status == "RETIRED":
                raise ConflictError(
                    f"workflow {workflow!r} version {version} of tenant {tenant!r} is already RETIRED"
                )
            updated = conn.execute(
                update(WorkflowDefinitionRow).where(_W.id == row.id)
                .values(deprecated_after=after_utc, force_cancel_after=cancel_utc).returning(*_COLUMNS)
            ).one()
            record_audit(conn, action="workflow.deprecate", target_type="workflow",
                         target_id=f"{workflow}@{version}", tenant_slug=tenant,
                         details={"version": version, "status": row.status,
                                  "deprecated_after": _iso(after_utc),
                                  "force_cancel_after": _iso(cancel_utc)})
            return WorkflowRecord.from_row(tenant, updated)

    def retire(self, tenant: str, workflow: str, version: int) -> WorkflowRecord:
        """Retire a version for good: it never runs again (retiring the ACTIVE version stops the workflow).

        Retiring a RETIRED version returns it unchanged.
        """
        with self._engine.begin() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            lock_artifact(conn, "workflow", tenant_id, workflow)
            row = self._row(conn, tenant, tenant_id, workflow, version)
            if row.status == "RETIRED":
                return WorkflowRecord.from_row(tenant, row)
            updated = conn.execute(
                update(WorkflowDefinitionRow).where(_W.id == row.id)
                .values(status="RETIRED", retired_at=func.now()).returning(*_COLUMNS)
            ).one()
            record_audit(conn, action="workflow.retire", target_type="workflow",
                         target_id=f"{workflow}@{version}", tenant_slug=tenant,
                         details={"version": version, "from_status": row.status})
            return WorkflowRecord.from_row(tenant, updated)

    # -- reads -----------------------------------------------------------------------------------------
    def get(
        self, tenant: str, workflow: str, version: int | None = None
    ) -> tuple[WorkflowRecord, WorkflowDefinition]:
        """One version (default: the ACTIVE one, else the newest) with its hash-verified definition.

        The definition's ``lifecycle`` carries the version's current dates (set by :meth:`deprecate`).

        Raises:
            NotFoundError: no such workflow or version for this tenant.
            ArtifactIntegrityError: the stored definition does not match its content hash.
        """
        with self._engine.connect() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            row = self._row(conn, tenant, tenant_id, workflow, version)
        return WorkflowRecord.from_row(tenant, row), _verified_definition(tenant, row)

    def active_definitions(self, tenant: str) -> list[tuple[WorkflowRecord, WorkflowDefinition]]:
        """The ACTIVE version of each of the tenant's workflows, by workflow id, each hash-verified.

        Raises:
            ArtifactIntegrityError: a stored definition does not match its content hash (names the tenant,
                workflow, version, expected and actual hash).
        """
        with self._engine.connect() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            rows = conn.execute(
                select(*_COLUMNS)
                .where(_W.tenant_id == tenant_id, _W.status == "ACTIVE")
                .order_by(_W.workflow_id)
            ).all()
        return [(WorkflowRecord.from_row(tenant, r), _verified_definition(tenant, r)) for r in rows]

    def verify(self, tenant: str, workflow: str, version: int, expected_hash: str) -> WorkflowRecord:
        """Check that a version still has the hash a run was started with (each step calls this first).

        Raises:
            ArtifactIntegrityError: the stored hash differs from ``expected_hash`` or from the content.
        """
        record, _ = self.get(tenant, workflow, version)
        if record.content_hash != expected_hash:
            raise ArtifactIntegrityError(
                f"workflow {workflow!r} version {version} of tenant {tenant!r} changed since the run "
                "started: "
                f"expected hash {expected_hash}, actual {record.content_hash}; start a new run"
            )
        return record

    def list(self, tenant: str, workflow: str | None = None) -> list[WorkflowRecord]:
        """Every version of the tenant's workflows (or of one workflow), by workflow id then version."""
        with self._engine.connect() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            stmt = select(*_COLUMNS).where(_W.tenant_id == tenant_id)
            if workflow is not None:
                stmt = stmt.where(_W.workflow_id == workflow)
            rows = conn.execute(stmt.order_by(_W.workflow_id, _W.version)).all()
        return [WorkflowRecord.from_row(tenant, r) for r in rows]

    # -- internals -------------------------------------------------------------------------------------
    def _row(self, conn: Connection, tenant: str, tenant_id: int, workflow: str, version: int | None) -> Any:
        stmt = select(*_COLUMNS).where(_W.tenant_id == tenant_id, _W.workflow_id == workflow)
        if version is not None:
            row = conn.execute(stmt.where(_W.version == version)).first()
        else:
            row = conn.execute(
                stmt.order_by((_W.status == "ACTIVE").desc(), _W.version.desc()).limit(1)
            ).first()
        if row is not None:
            return row
        versions = conn.execute(
            select(_W.version)
            .where(_W.tenant_id == tenant_id, _W.workflow_id == workflow)
            .order_by(_W.version)
        ).scalars().all()
        if versions:
            raise NotFoundError(
                f"workflow {workflow!r} of tenant {tenant!r} has no version {version} (versions: "
                f"{', '.join(str(v) for v in versions)})"
            )
        raise NotFoundError(
            f"workflow {workflow!r} does not exist for tenant {tenant!r}; list its workflows with "
            f"`erp workflow list {tenant}`"
        )


def _parameter_values(definition: WorkflowDefinition) -> dict[str, Any]:
    """``{"parameters": {name: value}}`` for the audit log, or nothing when none are declared."""
    if not definition.parameters:
        return {}
    return {"parameters": {name: p.value for name, p in definition.parameters.items()}}


def _verified_definition(tenant: str, row: Any) -> WorkflowDefinition:
    """Check the stored definition against its content hash, then parse it (lifecycle from the row)."""
    stored = dict(row.definition)
    actual = stored_definition_hash(stored)
    if actual != row.content_hash:
        raise ArtifactIntegrityError(
            f"workflow {row.workflow_id!r} version {row.version} of tenant {tenant!r} does not match its "
            "content "
            f"hash: expected {row.content_hash}, actual {actual}. The stored definition was changed outside "
            "the "
            "registry: do not run it; apply the definition again from its source and activate the new version"
        )
    try:
        definition = WorkflowDefinition.model_validate(stored)
    except ValidationError as exc:
        raise ArtifactIntegrityError(
            f"workflow {row.workflow_id!r} version {row.version} of tenant {tenant!r} cannot be read by this "
            f"release ({exc.error_count()} problem(s)); apply the definition again"
        ) from None
    lifecycle = Lifecycle(deprecated_after=row.deprecated_after, force_cancel_after=row.force_cancel_after)
    return definition.model_copy(update={"lifecycle": lifecycle})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
