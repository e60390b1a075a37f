"""Mapping configs (``erp_control.mapping_configs``): versioned, content-hashed, immutable once ACTIVE.

A mapping file names the mapping and lists its columns (the fields of ``MappingSpec``)::

    name: orders_to_sales
    columns:
      - {source: id, target: order_id, type: bigint, nullable: false}
      - {source: total, target: amount, type: "numeric(12,2)"}
      - {source: ContactID}               # target contact_id, type: the field's own type

A source is a field name exactly as the ERP gives it; ``target`` defaults to its snake_case and ``type``
to the field's own type (filled in when a load resolves the mapping against its input).

The content hash covers the ``MappingSpec`` (the columns), not the name, which is the registry key. A
load's ``mapping_ref`` resolves to the mapping's ACTIVE version (drafts may reference one that only has
DRAFT versions; activation requires an ACTIVE one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, func, insert, select, update

from erp_platform._errors import ArtifactIntegrityError, ConflictError, NotFoundError, Problem
from erp_platform.registry import MappingConfig, record_audit
from erp_platform.transforms._spec import Identifier, MappingSpec
from erp_platform.workflows._document import load_document
from erp_platform.workflows._hash import model_payload, payload_hash
from erp_platform.workflows._mapping_source import ResolvedMapping
from erp_platform.workflows._problems import problems_from_validation_error
from erp_platform.workflows._records import MappingRecord
from erp_platform.workflows._scope import lock_artifact, tenant_id_for
from erp_platform.workflows._validate import InvalidDefinitionError

_COLUMNS = tuple(MappingConfig.__table__.c)


class MappingDocument(MappingSpec):
    """A mapping file: the mapping's ``name`` plus the fields of :class:`MappingSpec`."""

    name: Identifier

    def spec(self) -> MappingSpec:
        """The mapping without its name (what is stored and hashed)."""
        return MappingSpec.model_validate(self.model_dump(exclude={"name"}))


def parse_mapping(text_or_bytes: str | bytes, *, filename: str) -> MappingDocument:
    """Parse and check a mapping file (YAML or JSON); every problem at once.

    Raises:
        DocumentSyntaxError: not YAML/JSON (file, line and column).
        InvalidDefinitionError: fields missing or invalid, or two columns with the same target.
    """
    data = load_document(text_or_bytes, filename=filename, what="mapping")
    try:
        document = MappingDocument.model_validate(data)
    except ValidationError as exc:
        raise InvalidDefinitionError(
            f"{filename}: invalid mapping", problems_from_validation_error(exc, MappingDocument)
        ) from None
    problems: list[Problem] = []
    first: dict[str, int] = {}
    for k, column in enumerate(document.columns):  # default targets never collide (see complete_mapping)
        if column.target is None:
            continue
        if column.target in first:
            problems.append(Problem(
                f"columns[{k}].target",
                f"duplicate target column: columns[{first[column.target]}] writes it too; each target column "
                "is written by one mapping entry",
                column.target,
            ))
        first.setdefault(column.target, k)
    InvalidDefinitionError.raise_if_any(f"{filename}: invalid mapping", problems)
    return document


def mapping_hash(spec: MappingSpec) -> str:
    """Content hash of a mapping: sha256 of its canonical JSON."""
    return payload_hash(model_payload(spec))


class _StoredMappings:
    """A snapshot of one tenant's mappings for resolving ``mapping_ref`` (a :class:`MappingSource`).

    A mapping's content is verified against its hash when it is resolved, so a damaged mapping fails the
    workflows that use it, not every workflow of the tenant.
    """

    def __init__(self, tenant: str, rows: dict[str, Any]) -> None:
        self._tenant = tenant
        self._rows = rows

    def names(self) -> Sequence[str]:
        return sorted(self._rows)

    def resolve(self, name: str) -> ResolvedMapping | None:
        row = self._rows.get(name)
        if row is None:
            return None
        spec = _verified_spec(self._tenant, row)
        return ResolvedMapping(name, row.version, row.status, row.content_hash, spec)


class MappingRegistry:
    """Stores, activates and reads one tenant's mapping configs. Every change is audited."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def apply(self, tenant: str, text: str | bytes, filename: str) -> tuple[MappingRecord, bool]:
        """Store a new DRAFT version, or return the newest one when its content hash is the same.

        Returns:
            The version's record, and True when a new version was created.
        """
        with self._engine.connect() as conn:
            tenant_id_for(conn, tenant)
        document = parse_mapping(text, filename=filename)
        spec = document.spec()
        digest = mapping_hash(spec)
        with self._engine.begin() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            lock_artifact(conn, "mapping", tenant_id, document.name)
            newest = conn.execute(
                select(*_COLUMNS)
                .where(MappingConfig.tenant_id == tenant_id, MappingConfig.name == document.name)
                .order_by(MappingConfig.version.desc()).limit(1)
            ).first()
            if newest is not None and newest.content_hash == digest and newest.status != "RETIRED":
                return MappingRecord.from_row(tenant, newest), False
            version = (newest.version if newest is not None else 0) + 1
            row = conn.execute(
                insert(MappingConfig).values(
                    tenant_id=tenant_id, name=document.name, version=version, content_hash=digest,
                    mapping=model_payload(spec), status="DRAFT",
                ).returning(*_COLUMNS)
            ).one()
            record_audit(conn, action="mapping.apply", target_type="mapping",
                         target_id=f"{document.name}@{version}", tenant_slug=tenant,
                         details={"version": version, "content_hash": digest, "filename": filename})
            return MappingRecord.from_row(tenant, row), True

    def activate(self, tenant: str, name: str, version: int) -> MappingRecord:
        """Make one version ACTIVE; the previously ACTIVE version becomes DEPRECATED."""
        with self._engine.begin() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            lock_artifact(conn, "mapping", tenant_id, name)
            row = self._row(conn, tenant, tenant_id, name, version)
            if row.status == "ACTIVE":
                return MappingRecord.from_row(tenant, row)
            if row.status == "RETIRED":
                raise ConflictError(
                    f"mapping {name!r} version {version} of tenant {tenant!r} is RETIRED and cannot be "
                    "activated; "
                    "apply the mapping again to get a new version"
                )
            _verified_spec(tenant, row)
            previous = conn.execute(
                update(MappingConfig)
                .where(MappingConfig.tenant_id == tenant_id, MappingConfig.name == name,
                       MappingConfig.status == "ACTIVE")
                .values(status="DEPRECATED").returning(MappingConfig.version)
            ).scalar()
            updated = conn.execute(
                update(MappingConfig).where(MappingConfig.id == row.id).values(status="ACTIVE")
                .returning(*_COLUMNS)
            ).one()
            record_audit(conn, action="mapping.activate", target_type="mapping",
                         target_id=f"{name}@{version}", tenant_slug=tenant,
                         details={"version": version, "content_hash": row.content_hash,
                                  "deprecated_version": previous})
            return MappingRecord.from_row(tenant, updated)

    def list(self, tenant: str) -> list[MappingRecord]:
        """Every version of every mapping of the tenant, by name then version."""
        with self._engine.connect() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            rows = conn.execute(
                select(*_COLUMNS).where(MappingConfig.tenant_id == tenant_id)
                .order_by(MappingConfig.name, MappingConfig.version)
            ).all()
        return [MappingRecord.from_row(tenant, r) for r in rows]

    def get(self, tenant: str, name: str, version: int | None = None) -> tuple[MappingRecord, MappingSpec]:
        """One version (default: the ACTIVE one, else the newest) with its verified content."""
        with self._engine.connect() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            row = self._row(conn, tenant, tenant_id, name, version)
        return MappingRecord.from_row(tenant, row), _verified_spec(tenant, row)

    def source(self, tenant: str) -> _StoredMappings:
        """A snapshot of the tenant's mappings (ACTIVE version per name, else newest) for validation."""
        with self._engine.connect() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            rows = conn.execute(
                select(*_COLUMNS)
                .where(MappingConfig.tenant_id == tenant_id, MappingConfig.status != "RETIRED")
                .order_by(MappingConfig.name, MappingConfig.version)
            ).all()
        chosen: dict[str, Any] = {}
        for row in rows:
            current = chosen.get(row.name)
            if current is None or current.status != "ACTIVE":
                chosen[row.name] = row
        return _StoredMappings(tenant, chosen)

    def _row(self, conn: Connection, tenant: str, tenant_id: int, name: str, version: int | None) -> Any:
        stmt = select(*_COLUMNS).where(MappingConfig.tenant_id == tenant_id, MappingConfig.name == name)
        if version is not None:
            row = conn.execute(stmt.where(MappingConfig.version == version)).first()
        else:
            row = conn.execute(
                stmt.order_by((MappingConfig.status == "ACTIVE").desc(), MappingConfig.version.desc())
                .limit(1)
            ).first()
        if row is None:
            which = f"version {version}" if version is not None else "any version"
            count = conn.execute(
                select(func.count()).select_from(MappingConfig).where(MappingConfig.tenant_id == tenant_id)
            ).scalar_one()
            raise NotFoundError(
                f"mapping {name!r} ({which}) does not exist for tenant {tenant!r}; "
                + (f"list its mappings with `erp mapping list {tenant}`" if count else
                   f"store one with `erp mapping apply {tenant} FILE`")
            )
        return row


def _verified_spec(tenant: str, row: Any) -> MappingSpec:
    actual = payload_hash(dict(row.mapping))
    if actual != row.content_hash:
        raise ArtifactIntegrityError(
            f"mapping {row.name!r} version {row.version} of tenant {tenant!r} does not match its content "
            "hash "
            f"(expected {row.content_hash}, actual {actual}): it was changed outside the registry; do not "
            "use it, "
            "apply the mapping again from its source file"
        )
    try:
        return MappingSpec.model_validate(row.mapping)
    except ValidationError as exc:
        raise ArtifactIntegrityError(
            f"mapping {row.name!r} version {row.version} of tenant {tenant!r} cannot be read by this release "
            f"({exc.error_count()} problem(s)); apply it again"
        ) from None
