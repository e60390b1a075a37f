"""The SdkSpec: everything the code generator needs to know about one ERP API, independent of its format."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from erp_platform.sandbox._manifest import AuthConfig, HeaderSource, SdkManifest
from erp_platform.sandbox._protocol import FieldKind

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class SourceFormat(StrEnum):
    """Which kind of document the spec was built from."""

    OPENAPI_3 = "openapi3"
    SWAGGER_2 = "swagger2"
    ODATA_V2 = "odata_v2"
    ODATA_V4 = "odata_v4"


class ParamLocation(StrEnum):
    """Where a parameter goes in the request."""

    PATH = "path"
    QUERY = "query"
    HEADER = "header"
    BODY = "body"  # the whole JSON body
    BODY_FIELD = "body_field"  # one member of a JSON object body (OData V4 action parameters)


class ParamType(StrEnum):
    """The JSON type a parameter value must have."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ARRAY = "array"
    OBJECT = "object"
    ANY = "any"


class ValueEncoding(StrEnum):
    """How a parameter value is written into the URL."""

    SEGMENT = "segment"  # percent-encoded path segment (or part of one)
    ODATA_BARE = "odata_bare"  # inside an OData key, unquoted in the template: ({id})
    ODATA_QUOTED = "odata_quoted"  # inside an OData key, quoted in the template: ('{id}')
    ODATA_LITERAL = "odata_literal"  # an OData literal the builder formats (see Parameter.odata_literal)
    FORM = "form"  # query parameter, arrays repeated (explode)
    CSV = "csv"  # query parameter, arrays comma-joined
    PLAIN = "plain"  # header value, JSON body


class Parameter(BaseModel):
    """One operation parameter. ``name`` is the key callers use in params; ``wire_name`` goes on the wire."""

    model_config = _FROZEN

    name: str = Field(description="snake_case Python identifier, the key in params-json")
    wire_name: str = Field(description="name in the URL, header or body")
    location: ParamLocation
    type: ParamType = ParamType.STRING
    item_type: ParamType | None = Field(None, description="element type of an array")
    required: bool = False
    description: str = ""
    format: str | None = None
    encoding: ValueEncoding = ValueEncoding.SEGMENT
    odata_literal: str | None = Field(
        None, description="literal kind for ODATA_LITERAL: string, raw, guid_v2, datetime_v2, enum:<type>..."
    )


class RequestBody(BaseModel):
    """A JSON request body."""

    model_config = _FROZEN

    content_type: str = "application/json"
    required: bool = False
    entity: str | None = Field(None, description="entity the body describes, when it is one")
    json_schema: dict[str, Any] = Field(
        default_factory=dict, description="resolved JSON schema (depth-limited)"
    )


class PaginationStyle(StrEnum):
    """How an operation's result is split into pages."""

    # follow a next link: @odata.nextLink, d.__next, _links.next.href, links.next, or a ``Link`` header
    ODATA_NEXT_LINK = "odata_next_link"
    ODATA_SKIP = "odata_skip"  # $top / $skip
    PAGE = "page"  # page / pageSize (/ pageCount); page only (no size parameter): stop on a short page
    OFFSET_LIMIT = "offset_limit"  # offset / limit
    CURSOR = "cursor"  # an opaque cursor (in the body, or the last record's id) sent back as a parameter
    NONE = "none"


class DecisionSource(StrEnum):
    """Where a builder decision about an operation comes from."""

    SPEC = "spec"  # inferred from the spec (schema property, parameter, path, extension)
    OVERRIDE = "override"  # set by the operator (--override FILE or --set)
    NONE = "none"  # nothing applies (not a list operation, or nothing found)


class Decision(BaseModel):
    """One decision of the builder about one operation, with the evidence that decided it."""

    model_config = _FROZEN

    source: DecisionSource = DecisionSource.NONE
    evidence: str = Field("", description="which property, parameter, path or extension decided it, and why")


class OperationEvidence(BaseModel):
    """Evidence of every inferred decision of a list operation (shown by `erp sdk build` and `sdk show`)."""

    model_config = _FROZEN

    selector: Decision = Decision()
    paging: Decision = Decision()
    primary_key: Decision = Decision()
    incremental: Decision = Decision()


class CredentialLocation(StrEnum):
    """Where the host puts a credential on each request."""

    AUTH = "auth"  # the auth scheme (bearer token, basic password/username)
    HEADER = "header"  # a request header (API key header, tenant/organisation id header)
    QUERY = "query"  # a query parameter (API key in the query)


class CredentialRequirement(BaseModel):
    """A credential the SDK needs: ``printf %s "$VALUE" | erp credentials set TENANT NAME --sdk SDK``."""

    model_config = _FROZEN

    name: str = Field(description="credential name in the tenant's credential store")
    location: CredentialLocation
    wire_name: str = Field(description="header or query parameter name, or the auth scheme (bearer, basic)")
    purpose: str = Field(description="what the ERP uses it for, from the spec")

    def command(self, tenant: str = "TENANT", sdk: str = "SDK") -> str:
        """The exact command that sets it for SDK ``sdk`` (credentials are bound to the SDK that sends them)."""
        return f'printf %s "$VALUE" | erp credentials set {tenant} {self.name} --sdk {sdk}'


class Pagination(BaseModel):
    """Pagination parameters and where the page metadata is found in a response."""

    model_config = _FROZEN

    style: PaginationStyle = PaginationStyle.NONE
    size_param: str | None = Field(
        None, description="wire name of the page-size parameter ($top, pageSize, limit)"
    )
    position_param: str | None = Field(
        None, description="wire name of the position parameter ($skip, page, offset, cursor)"
    )
    first_page: int = Field(1, description="number of the first page (page style)")
    next_path: str | None = Field(None, description="meta path of the next link or next cursor")
    page_count_path: str | None = Field(None, description="meta path of the page count (page style)")
    total_path: str | None = Field(None, description="meta path of the total record count")
    has_more_path: str | None = Field(
        None, description="meta path of a 'more pages follow' flag (has_more): paging stops when it is false"
    )
    fixed_page_size: int | None = Field(
        None, description="server page size when the client cannot choose one (page-only paging)"
    )

    def detail(self) -> str:
        """The style with its parameters, as `erp sdk show` prints it: ``page(page, pageSize)``, ``none``."""
        if self.style is PaginationStyle.NONE:
            return self.style.value
        parts = [p for p in (self.position_param, self.size_param) if p]
        if self.next_path:
            parts.append(f"next={self.next_path}")
        if self.has_more_path:
            parts.append(f"while {self.has_more_path}")
        if self.fixed_page_size:
            parts.append(f"{self.fixed_page_size}/page")
        return self.style.value + (f"({', '.join(parts)})" if parts else "")


class IncrementalMode(StrEnum):
    """How ``_since`` reaches the server."""

    ODATA_FILTER = "odata_filter"  # $filter=<field> gt <literal>
    QUERY_PARAM = "query_param"  # ?updated_since=<iso>
    HEADER = "header"  # If-Modified-Since: <http-date or iso>


class DateFormat(StrEnum):
    """How dates are written in responses."""

    ISO = "iso"
    DOTNET = "dotnet"  # /Date(1552326816230)/ (OData V2)


class Incremental(BaseModel):
    """Incremental-read support: which field is the cursor and how ``_since`` maps onto the request."""

    model_config = _FROZEN

    field: str | None = Field(None, description="record field holding the last-change timestamp, when known")
    mode: IncrementalMode
    param: str = Field(
        description="wire name of the query parameter or header ($filter, updated_since, If-Modified-Since)"
    )
    literal: str = Field("iso", description="iso | v2_datetime | v2_datetimeoffset | http_date")
    fixed: tuple[tuple[str, str], ...] = Field(
        (), description="query parameters sent with the cursor, e.g. (lastModifiedDateTimeCondition, >=)"
    )


class Operation(BaseModel):
    """One callable operation of the SDK."""

    model_config = _FROZEN

    id: str = Field(description="unique, stable snake_case identifier; also the Python method name")
    source_id: str = Field(description="operationId, OData name, or 'METHOD /path' in the source spec")
    method: str
    path: str = Field(description="path template relative to the base URL, placeholders {wire_name}")
    summary: str = ""
    description: str = ""
    parameters: tuple[Parameter, ...] = ()
    request_body: RequestBody | None = None
    entity: str | None = Field(None, description="entity of the returned records, when known")
    resource: str = Field(description="what the operation acts on, for capabilities")
    collection: bool = False
    record_path: tuple[str, ...] = Field(
        (), description="keys leading to the record array (collection) or the record (single result)"
    )
    pagination: Pagination = Pagination()
    date_format: DateFormat = DateFormat.ISO
    incremental: Incremental | None = None
    primary_key: tuple[str, ...] = Field((), description="record fields identifying a record (list operations)")
    evidence: OperationEvidence = OperationEvidence()
    deprecated: bool = False

    @property
    def capability(self) -> str:
        """``read:<resource>`` for GET, ``delete:<resource>`` for DELETE, ``write:<resource>`` otherwise."""
        verb = {"GET": "read", "HEAD": "read", "DELETE": "delete"}.get(self.method, "write")
        return f"{verb}:{self.resource}"


class EntityField(BaseModel):
    """One typed field of an entity."""

    model_config = _FROZEN

    name: str = Field(description="field name as it appears in records")
    kind: FieldKind
    nullable: bool = True
    description: str = ""


class Entity(BaseModel):
    """A record type returned by operations."""

    model_config = _FROZEN

    name: str
    fields: tuple[EntityField, ...] = ()
    keys: tuple[str, ...] = ()
    description: str = ""

    def field_kinds(self) -> dict[str, FieldKind]:
        """The normalisation map the host applies to this entity's records."""
        return {f.name: f.kind for f in self.fields}


class SdkSpec(BaseModel):
    """A format-independent description of one ERP API, input of the code generator."""

    model_config = _FROZEN

    name: str = Field(description="snake_case SDK name")
    title: str = ""
    description: str = ""
    api_version: str = ""
    source_format: SourceFormat
    base_url: str = Field(description="absolute base URL ending with '/'; operation paths are relative to it")
    allowed_domains: tuple[str, ...] = ()
    auth: AuthConfig = AuthConfig()
    required_headers: tuple[HeaderSource, ...] = ()
    operations: tuple[Operation, ...] = ()
    entities: tuple[Entity, ...] = ()
    date_format: DateFormat = DateFormat.ISO
    credentials: tuple[CredentialRequirement, ...] = Field(
        (), description="credentials the SDK needs in the tenant's store (auth scheme, required headers)"
    )
    base_url_evidence: str = Field("", description="why this base URL (which server, or --base-url)")
    overrides: tuple[str, ...] = Field((), description="operator overrides applied, as OPERATION.FIELD=VALUE")
    spec_hash: str = Field(description="sha256 of the raw spec bytes and the build options")

    @property
    def capabilities(self) -> tuple[str, ...]:
        """Sorted, de-duplicated ``read:`` / ``write:`` / ``delete:`` capabilities of all operations."""
        return tuple(sorted({op.capability for op in self.operations}))

    def operation(self, operation_id: str) -> Operation:
        """Return the operation with this id (KeyError if absent)."""
        for op in self.operations:
            if op.id == operation_id:
                return op
        raise KeyError(operation_id)

    def entity(self, name: str) -> Entity:
        """Return the entity with this name (KeyError if absent)."""
        for entity in self.entities:
            if entity.name == name:
                return entity
        raise KeyError(name)

    def to_manifest(self, tenant: str, sdk_name: str, version: int) -> SdkManifest:
        """The sandbox manifest granting this SDK its base URL, domains, auth and required headers."""
        return SdkManifest(
            tenant=tenant,
            sdk_name=sdk_name,
            sdk_version=version,
            base_url=self.base_url,
            allowed_domains=self.allowed_domains,
            auth=self.auth,
            required_headers=self.required_headers,
        )


class SkippedOperation(BaseModel):
    """An operation of the spec that the builder could not support, and why."""

    model_config = _FROZEN

    operation_id: str
    method: str
    path: str
    reason: str


class ParsedSpec(BaseModel):
    """Result of :func:`sdk_builder.load_spec`: the SdkSpec plus what was skipped and what looked odd."""

    model_config = _FROZEN

    spec: SdkSpec
    skipped: tuple[SkippedOperation, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def total_operations(self) -> int:
        """Supported plus skipped operations: every operation the spec declares."""
        return len(self.spec.operations) + len(self.skipped)
