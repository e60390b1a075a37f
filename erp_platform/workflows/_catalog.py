"""What a workflow may call: the catalog of ONE tenant's SDKs, their versions and operations.

A catalog is always one tenant's: a definition is validated against its own tenant's SDKs only, so it
cannot reference another tenant's SDK (the name is simply unknown).

Which SDK version a workflow uses (:func:`resolve_sdk_version`): the pinned
``compatibility.required_sdk_version`` when set (for every SDK the workflow uses), else the newest ACTIVE
version, else (drafts may be written against an SDK still being tested) the newest TESTING version.
Activation additionally requires the resolved version to be ACTIVE.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from erp_platform._errors import InvalidInputError
from erp_platform.sandbox._protocol import RESERVED_PARAMS, FieldKind

SdkStatus = Literal["TESTING", "ACTIVE", "REVOKED", "FAILED"]
_READ_METHODS = frozenset({"GET", "HEAD"})


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParamInfo(_Frozen):
    """One parameter callers pass in an extract's ``params``."""

    name: str
    required: bool = False


class OperationInfo(_Frozen):
    """One SDK operation as workflow validation sees it."""

    name: str
    method: str = "GET"
    path: str = Field("", description="path template relative to the SDK's base URL")
    collection: bool = True
    resource: str = ""
    entity: str | None = None
    fields: dict[str, FieldKind] = Field(default_factory=dict, description="record fields, in entity order")
    primary_key: tuple[str, ...] = Field((), description="record fields that identify a record")
    incremental: bool = Field(False, description="supports reading only records changed since a cursor")
    cursor_field: str | None = Field(None, description="record field holding the last change (incremental)")
    paging: str = Field("none", description="paging style (page, offset_limit, cursor, odata_next_link, ...)")
    fixed_page_size: int | None = Field(None, description="records per page when the server fixes it")
    max_page_size: int | None = Field(None, description="largest page size the ERP accepts, when declared")
    params: tuple[ParamInfo, ...] = ()

    @property
    def is_collection_read(self) -> bool:
        """A GET (or HEAD) returning a collection: what an extract normally calls."""
        return self.method.upper() in _READ_METHODS and self.collection


class SdkInfo(_Frozen):
    """One version of one SDK of a tenant: status, capabilities and operations."""

    name: str
    version: int = Field(ge=1)
    status: SdkStatus
    capabilities: tuple[str, ...] = ()
    operations: tuple[OperationInfo, ...] = ()

    def operation(self, name: str) -> OperationInfo | None:
        """The operation called ``name``, or None."""
        for op in self.operations:
            if op.name == name:
                return op
        return None

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"


class SdkCatalog(Protocol):
    """The SDKs of one tenant."""

    def sdk_names(self) -> Sequence[str]:
        """Names of the tenant's SDKs (any status), sorted."""
        ...

    def versions(self, sdk: str) -> Sequence[SdkInfo]:
        """Every version of one SDK, oldest first; empty when the tenant has no SDK of that name."""
        ...


class InMemorySdkCatalog:
    """A catalog held in memory (tests, tools, the assistant's dry runs)."""

    def __init__(self, sdks: Iterable[SdkInfo] = ()) -> None:
        by_name: dict[str, list[SdkInfo]] = {}
        for info in sdks:
            by_name.setdefault(info.name, []).append(info)
        self._by_name = {name: tuple(sorted(v, key=lambda s: s.version)) for name, v in by_name.items()}

    def sdk_names(self) -> Sequence[str]:
        return sorted(self._by_name)

    def versions(self, sdk: str) -> Sequence[SdkInfo]:
        return self._by_name.get(sdk, ())


def resolve_sdk_version(catalog: SdkCatalog, sdk: str, required_version: int | None) -> SdkInfo | None:
    """The version a workflow uses: pinned, else newest ACTIVE, else newest TESTING; None if none fits."""
    versions = list(catalog.versions(sdk))
    if required_version is not None:
        return next((v for v in versions if v.version == required_version), None)
    for status in ("ACTIVE", "TESTING"):
        matching = [v for v in versions if v.status == status]
        if matching:
            return matching[-1]
    return None


# -- conversion from the SDK builder's SdkSpec dump (sdk_versions.sdk_spec) -----------------------------


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _SpecParam(_Loose):
    name: str
    required: bool = False
    location: str = "query"


class _SpecOperation(_Loose):
    id: str
    method: str = "GET"
    path: str = ""
    resource: str = ""
    collection: bool = False
    entity: str | None = None
    parameters: list[_SpecParam] = Field(default_factory=list)
    incremental: dict[str, Any] | None = None
    primary_key: list[str] | None = None
    pagination: dict[str, Any] | None = None


class _SpecField(_Loose):
    name: str
    kind: FieldKind


class _SpecEntity(_Loose):
    name: str
    fields: list[_SpecField] = Field(default_factory=list)
    keys: list[str] = Field(default_factory=list)


class _SpecSubset(_Loose):
    name: str
    operations: list[_SpecOperation] = Field(default_factory=list)
    entities: list[_SpecEntity] = Field(default_factory=list)


def _capability(method: str, resource: str) -> str:
    verb = {"GET": "read", "HEAD": "read", "DELETE": "delete"}.get(method.upper(), "write")
    return f"{verb}:{resource}"


def catalog_entry_from_sdk_spec(
    spec: Mapping[str, Any],
    *,
    version: int = 1,
    status: SdkStatus = "ACTIVE",
    capabilities: Sequence[str] | None = None,
) -> SdkInfo:
    """Convert an ``SdkSpec`` dump (``sdk_versions.sdk_spec``) into a catalog entry.

    Keys read (everything else is ignored)::

        name                                  SDK name
        operations[].id                       operation name used in workflows
        operations[].method                   HTTP method (default GET)
        operations[].path                     path template (names scaffolded tables)
        operations[].resource                 for capabilities: read:/write:/delete:<resource>
        operations[].collection               true when it returns a list of records
        operations[].entity                   entity of the records (key into entities[].name)
        operations[].parameters[].name        parameter name callers pass in params
        operations[].parameters[].required    true when the call needs it
        operations[].parameters[].location    path/query/header/body (header parameters may be passed but
                                              are never required: the manifest supplies required headers)
        operations[].incremental              an object when incremental reads are supported; its
                                              ``field`` (when set) is the record's change field
        operations[].primary_key              record fields identifying a record (default: the entity's keys)
        operations[].pagination.style         paging style; .fixed_page_size: records per page the server
                                              fixes; .max_page_size: the largest page size it accepts
        entities[].name, entities[].keys, entities[].fields[].name, entities[].fields[].kind (a FieldKind)

    Args:
        spec: the JSON dump of the SDK builder's ``SdkSpec``.
        version, status: from the ``sdk_versions`` row.
        capabilities: the row's capabilities; default: derived from the operations as the builder does.

    Raises:
        InvalidInputError: the dump lacks a required key or has a value of the wrong kind.
    """
    try:
        parsed = _SpecSubset.model_validate(dict(spec))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        label = spec.get("name", "?") if isinstance(spec, Mapping) else "?"
        raise InvalidInputError(
            f"the stored SdkSpec of SDK {label!r} v{version} cannot be read: {where}: {first['msg']} "
            f"({exc.error_count()} problem(s)); rebuild the SDK with the current builder"
        ) from None
    entities = {e.name: {f.name: f.kind for f in e.fields} for e in parsed.entities}
    entity_keys = {e.name: tuple(e.keys) for e in parsed.entities}
    operations = tuple(
        OperationInfo(
            name=op.id,
            method=op.method.upper(),
            path=op.path,
            collection=op.collection,
            resource=op.resource,
            entity=op.entity,
            fields=entities.get(op.entity, {}) if op.entity else {},
            primary_key=tuple(op.primary_key) if op.primary_key else entity_keys.get(op.entity or "", ()),
            incremental=op.incremental is not None,
            cursor_field=_cursor_field(op.incremental),
            paging=str((op.pagination or {}).get("style") or "none"),
            fixed_page_size=_positive_int((op.pagination or {}).get("fixed_page_size")),
            max_page_size=_positive_int((op.pagination or {}).get("max_page_size")),
            params=tuple(
                ParamInfo(name=p.name, required=p.required and p.location != "header")
                for p in op.parameters
                if p.name not in RESERVED_PARAMS
            ),
        )
        for op in parsed.operations
    )
    caps = tuple(capabilities) if capabilities else tuple(
        sorted({_capability(op.method, op.resource) for op in parsed.operations})
    )
    return SdkInfo(name=parsed.name, version=version, status=status, capabilities=caps, operations=operations)


def _cursor_field(incremental: Mapping[str, Any] | None) -> str | None:
    if not incremental:
        return None
    value = incremental.get("field")
    return value if isinstance(value, str) and value else None


def _positive_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
