"""Grounding: the catalog of ONE tenant that the assistant may read and name, and nothing else.

It holds the tenant's ACTIVE SDKs (collection reads with their entity's fields, exact names and types),
the SDK builder's decisions for each read (record selector, paging style, primary key, incremental cursor
parameter and field, each with the evidence that decided it) and the credentials each SDK needs, its
workflows and their versions, and the tables and columns of its own schema. Another tenant's SDKs,
fields, tables and workflows are not in it: they cannot be read, named or proposed.

The SdkSpec dump stored per SDK version is read by :func:`operation_view` and :func:`sdk_view` and
nothing else.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine, select, text

from erp_platform.db import tenant_schema
from erp_platform.registry import SdkVersion
from erp_platform.sandbox._protocol import RESERVED_PARAMS, FieldKind
from erp_platform.transforms import FIELD_KIND_TYPES
from erp_platform.workflows import WorkflowRegistry, registry_catalog_factory
from erp_platform.workflows._scope import tenant_id_for
from sdk_builder import CredentialRequirement, Pagination, PaginationStyle

_READS = frozenset({"GET", "HEAD"})
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldView(_Frozen):
    """One field of an entity: the exact name records carry, its kind and the column type it loads as."""

    name: str
    kind: FieldKind
    column_type: str = Field(description="logical column type (text, bigint, timestamptz, ...)")
    key: bool = Field(False, description="part of the entity's key")

    @property
    def mappable(self) -> bool:
        """True when the name can be used as a mapping source as it is (a lowercase identifier)."""
        return _IDENTIFIER.match(self.name) is not None


class DecisionView(_Frozen):
    """One decision of the SDK builder about a collection read and why it was made."""

    value: str = Field(description="what was decided, as `erp sdk show` prints it")
    source: str = Field("none", description="spec (inferred from the spec), override (set by the operator) or none")
    evidence: str = Field("", description="which property, parameter, path or extension decided it")


class CredentialView(_Frozen):
    """A credential an SDK needs in the tenant's store, and the command that sets it."""

    name: str
    location: str = Field(description="auth, header or query")
    wire_name: str
    purpose: str = ""
    command: str = Field(description="the exact command that sets it, as `erp sdk build` prints it")


class OperationView(_Frozen):
    """A collection read of an ACTIVE SDK, as the assistant may use it in an extract.

    ``keys`` is the primary key the SDK builder decided for the read (else the entity's declared keys);
    ``incremental_field`` is the record field holding the last change (the extract's default cursor) and
    ``incremental_param`` the query parameter or header that carries it to the ERP.
    """

    sdk: str
    sdk_version: int
    name: str
    entity: str | None = None
    summary: str = ""
    fields: tuple[FieldView, ...] = ()
    keys: tuple[str, ...] = ()
    paging: str = Field("none", description="odata_next_link, odata_skip, page, offset_limit, cursor or none")
    paging_detail: str = Field("none", description="paging style with its parameters, e.g. 'page(page, 100/page)'")
    record_path: tuple[str, ...] = ()
    incremental: bool = False
    incremental_field: str | None = None
    incremental_param: str | None = Field(None, description="query parameter or header carrying the cursor")
    incremental_mode: str | None = Field(None, description="odata_filter, query_param or header")
    params: tuple[str, ...] = ()
    required_params: tuple[str, ...] = ()
    decisions: dict[str, DecisionView] = Field(
        default_factory=dict, description="selector, paging, primary_key, incremental: value, source, evidence")
    credentials: tuple[CredentialView, ...] = Field((), description="credentials the SDK needs for any call")

    def field(self, name: str) -> FieldView | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def record_selector(self) -> str:
        """The record path, dotted; '(top level)' for a top-level array."""
        return ".".join(self.record_path) or "(top level)"

    def cursor_candidates(self) -> tuple[str, ...]:
        """Fields that can serve as this read's change cursor: the builder's field first, then the other
        date and time fields (empty when the read cannot be incremental)."""
        if not self.incremental:
            return ()
        dated = [f.name for f in self.fields if f.kind in (FieldKind.DATETIME, FieldKind.DATE)]
        first = [self.incremental_field] if self.incremental_field and self.field(self.incremental_field) else []
        return tuple(dict.fromkeys([*first, *dated]))


class SdkView(_Frozen):
    """The newest ACTIVE version of one SDK."""

    name: str
    version: int
    operations: tuple[OperationView, ...] = ()
    credentials: tuple[CredentialView, ...] = ()


class ColumnView(_Frozen):
    name: str
    type: str
    nullable: bool = True
    primary_key: bool = False


class TableView(_Frozen):
    """A table of the tenant's own schema (platform columns ``_erp_*`` left out)."""

    name: str
    columns: tuple[ColumnView, ...] = ()

    @property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.primary_key)


class WorkflowVersionView(_Frozen):
    version: int
    status: str
    content_hash: str


class WorkflowView(_Frozen):
    id: str
    versions: tuple[WorkflowVersionView, ...] = ()

    @property
    def active_version(self) -> int | None:
        return next((v.version for v in self.versions if v.status == "ACTIVE"), None)


class CatalogView(_Frozen):
    """Everything the assistant may know about one tenant (metadata only: no records)."""

    tenant: str
    sdks: tuple[SdkView, ...] = ()
    tables: tuple[TableView, ...] = ()
    workflows: tuple[WorkflowView, ...] = ()

    # -- lookups ----------------------------------------------------------------------------------------
    def sdk(self, name: str) -> SdkView | None:
        return next((s for s in self.sdks if s.name == name), None)

    def operation(self, sdk: str, name: str) -> OperationView | None:
        found = self.sdk(sdk)
        return next((o for o in found.operations if o.name == name), None) if found else None

    def operations(self) -> list[OperationView]:
        return [op for sdk in self.sdks for op in sdk.operations]

    def table(self, name: str) -> TableView | None:
        return next((t for t in self.tables if t.name == name), None)

    def workflow(self, workflow_id: str) -> WorkflowView | None:
        return next((w for w in self.workflows if w.id == workflow_id), None)

    def unknown_sdk_message(self, name: str) -> str:
        """What to tell someone (or the model) who named an SDK this tenant does not have."""
        names = [s.name for s in self.sdks]
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        listing = ", ".join(names) if names else "none yet (build one with `erp sdk build`, then activate it)"
        return f"unknown SDK {name!r}{hint}: this tenant's ACTIVE SDKs are {listing}"

    def unknown_operation_message(self, sdk: str, name: str) -> str:
        found = self.sdk(sdk)
        names = [o.name for o in found.operations] if found else []
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        return f"SDK {sdk!r} has no collection read {name!r}{hint}"


# -- reading the SdkSpec dump ------------------------------------------------------------------------------
class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _SpecField(_Loose):
    name: str
    kind: FieldKind


class _SpecEntity(_Loose):
    name: str
    fields: list[_SpecField] = Field(default_factory=list)
    keys: list[str] = Field(default_factory=list)


class _SpecParam(_Loose):
    name: str
    required: bool = False
    location: str = "query"


class _SpecPagination(_Loose):
    style: str = "none"
    size_param: str | None = None
    position_param: str | None = None
    next_path: str | None = None
    has_more_path: str | None = None
    fixed_page_size: int | None = None

    def detail(self) -> str:
        """The style with its parameters, as `erp sdk show` prints it."""
        return Pagination(style=PaginationStyle(self.style), size_param=self.size_param,
                          position_param=self.position_param, next_path=self.next_path,
                          has_more_path=self.has_more_path, fixed_page_size=self.fixed_page_size).detail()


class _SpecIncremental(_Loose):
    field: str | None = None
    mode: str | None = None
    param: str | None = None


class _SpecDecision(_Loose):
    source: str = "none"
    evidence: str = ""


class _SpecEvidence(_Loose):
    selector: _SpecDecision = _SpecDecision()
    paging: _SpecDecision = _SpecDecision()
    primary_key: _SpecDecision = _SpecDecision()
    incremental: _SpecDecision = _SpecDecision()




class _SpecOperation(_Loose):
    id: str
    method: str = "GET"
    collection: bool = False
    entity: str | None = None
    summary: str = ""
    parameters: list[_SpecParam] = Field(default_factory=list)
    record_path: list[str] = Field(default_factory=list)
    pagination: _SpecPagination = _SpecPagination()
    incremental: _SpecIncremental | None = None
    primary_key: list[str] = Field(default_factory=list)
    evidence: _SpecEvidence = _SpecEvidence()


def _decisions(op: _SpecOperation, keys: tuple[str, ...]) -> dict[str, DecisionView]:
    inc = op.incremental
    incremental = "none"
    if inc is not None:
        incremental = " ".join(p for p in (inc.mode, inc.param) if p) + (f" -> {inc.field}" if inc.field else "")
    values = {
        "selector": ".".join(op.record_path) or "(top level)",
        "paging": op.pagination.detail(),
        "primary_key": ", ".join(keys) or "none",
        "incremental": incremental or "none",
    }
    evidence = op.evidence
    return {
        name: DecisionView(value=value, source=getattr(evidence, name).source,
                           evidence=getattr(evidence, name).evidence[:400])
        for name, value in values.items()
    }


def credential_views(tenant: str, spec: Mapping[str, Any], sdk: str = "SDK") -> tuple[CredentialView, ...]:
    """The credentials a stored SdkSpec dump declares, each with the command that sets it for SDK ``sdk`` of
    ``tenant`` (credentials are bound to the SDK that sends them)."""
    views: list[CredentialView] = []
    for raw in spec.get("credentials") or []:
        try:
            cred = CredentialRequirement.model_validate(raw)
        except ValidationError:
            continue
        views.append(CredentialView(name=cred.name, location=cred.location.value, wire_name=cred.wire_name,
                                    purpose=cred.purpose[:300], command=cred.command(tenant, sdk)))
    return tuple(views)


def operation_view(
    sdk: str, version: int, operation: Mapping[str, Any], entities: Mapping[str, Mapping[str, Any]],
    credentials: tuple[CredentialView, ...] = (),
) -> OperationView | None:
    """One operation of a stored SdkSpec dump as the assistant sees it; None when it is not a collection
    read (or cannot be read). ``entities`` maps entity name -> entity dump; ``credentials`` are the SDK's."""
    try:
        op = _SpecOperation.model_validate(dict(operation))
        raw = entities.get(op.entity) if op.entity else None
        entity = _SpecEntity.model_validate(dict(raw)) if raw is not None else None
    except ValidationError:
        return None
    if op.method.upper() not in _READS or not op.collection:
        return None
    # the builder's decision first; older SDK versions recorded only the entity's declared keys
    keys = tuple(op.primary_key) or (tuple(entity.keys) if entity else ())
    fields = tuple(
        FieldView(name=f.name, kind=f.kind, column_type=FIELD_KIND_TYPES[f.kind], key=f.name in keys)
        for f in (entity.fields if entity else [])
    )
    params = [p for p in op.parameters if p.name not in RESERVED_PARAMS]
    return OperationView(
        sdk=sdk,
        sdk_version=version,
        name=op.id,
        entity=op.entity,
        summary=op.summary[:200],
        fields=fields,
        keys=keys,
        paging=op.pagination.style,
        paging_detail=op.pagination.detail(),
        record_path=tuple(op.record_path),
        incremental=op.incremental is not None,
        incremental_field=op.incremental.field if op.incremental else None,
        incremental_param=op.incremental.param if op.incremental else None,
        incremental_mode=op.incremental.mode if op.incremental else None,
        params=tuple(p.name for p in params),
        required_params=tuple(p.name for p in params if p.required and p.location != "header"),
        decisions=_decisions(op, keys),
        credentials=credentials,
    )


def sdk_view(name: str, version: int, spec: Mapping[str, Any], tenant: str = "TENANT") -> SdkView:
    """An SDK version's collection reads and credentials, from its stored SdkSpec dump (``tenant`` is
    written into the commands that set the credentials)."""
    entities = {str(e.get("name")): e for e in spec.get("entities", []) if isinstance(e, Mapping)}
    credentials = credential_views(tenant, spec, name)
    operations = [
        view for op in spec.get("operations", []) if isinstance(op, Mapping)
        if (view := operation_view(name, version, op, entities, credentials)) is not None
    ]
    return SdkView(name=name, version=version, operations=tuple(operations), credentials=credentials)


# -- reading one tenant's catalog --------------------------------------------------------------------------
_COLUMNS_SQL = text(
    "SELECT c.table_name, c.column_name, c.data_type, c.numeric_precision, c.numeric_scale, c.is_nullable, "
    "EXISTS (SELECT 1 FROM information_schema.table_constraints tc "
    "        JOIN information_schema.key_column_usage k ON k.constraint_name = tc.constraint_name "
    "         AND k.table_schema = tc.table_schema AND k.table_name = tc.table_name "
    "        WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = c.table_schema "
    "          AND tc.table_name = c.table_name AND k.column_name = c.column_name) AS is_pk "
    "FROM information_schema.columns c JOIN information_schema.tables t "
    "  ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE' "
    "WHERE c.table_schema = :schema ORDER BY c.table_name, c.ordinal_position"
)
_PG_TYPES = {
    "text": "text", "character varying": "text", "character": "text", "bigint": "bigint",
    "integer": "integer", "smallint": "integer", "double precision": "double precision",
    "real": "double precision", "boolean": "boolean", "date": "date",
    "timestamp with time zone": "timestamptz", "timestamp without time zone": "timestamptz",
    "jsonb": "jsonb", "json": "jsonb",
}


def _column_type(data_type: str, precision: int | None, scale: int | None) -> str:
    if data_type == "numeric":
        return f"numeric({precision},{scale})" if precision is not None else "numeric(38,10)"
    return _PG_TYPES.get(data_type, "text")


def tenant_tables(engine: Engine, tenant: str) -> tuple[TableView, ...]:
    """The tables of ``tenant_<slug>`` with their columns (platform ``_erp_*`` columns left out)."""
    by_table: dict[str, list[ColumnView]] = {}
    with engine.connect() as conn:
        for row in conn.execute(_COLUMNS_SQL, {"schema": tenant_schema(tenant)}):
            columns = by_table.setdefault(row.table_name, [])
            if row.column_name.startswith("_erp_"):
                continue
            columns.append(ColumnView(
                name=row.column_name,
                type=_column_type(row.data_type, row.numeric_precision, row.numeric_scale),
                nullable=row.is_nullable == "YES",
                primary_key=bool(row.is_pk),
            ))
    return tuple(TableView(name=name, columns=tuple(cols)) for name, cols in sorted(by_table.items()))


def load_catalog(engine: Engine, tenant: str) -> CatalogView:
    """Read the catalog of ``tenant`` (NotFoundError when the tenant does not exist).

    Only rows of this tenant are read: its newest ACTIVE version of each SDK, its workflows, its schema.
    """
    with engine.connect() as conn:
        tenant_id = tenant_id_for(conn, tenant)
        rows = conn.execute(
            select(SdkVersion.name, SdkVersion.version, SdkVersion.sdk_spec)
            .where(SdkVersion.tenant_id == tenant_id, SdkVersion.status == "ACTIVE")
            .order_by(SdkVersion.name, SdkVersion.version.desc())
        ).all()
    newest: dict[str, Any] = {}
    for row in rows:
        newest.setdefault(row.name, row)
    sdks = tuple(sdk_view(r.name, r.version, dict(r.sdk_spec or {}), tenant) for r in newest.values())
    registry = WorkflowRegistry(engine, registry_catalog_factory(engine))
    versions: dict[str, list[WorkflowVersionView]] = {}
    for record in registry.list(tenant):
        versions.setdefault(record.workflow_id, []).append(
            WorkflowVersionView(version=record.version, status=record.status, content_hash=record.content_hash)
        )
    workflows = tuple(WorkflowView(id=wid, versions=tuple(v)) for wid, v in sorted(versions.items()))
    return CatalogView(tenant=tenant, sdks=sdks, tables=tenant_tables(engine, tenant), workflows=workflows)


def catalog_from_specs(tenant: str, specs: Iterable[tuple[str, int, Mapping[str, Any]]],
                       tables: Iterable[TableView] = ()) -> CatalogView:
    """A catalog from SdkSpec dumps held in memory (benchmarks, tools): ``(name, version, dump)`` each."""
    return CatalogView(
        tenant=tenant,
        sdks=tuple(sdk_view(name, version, spec, tenant) for name, version, spec in specs),
        tables=tuple(tables),
    )
