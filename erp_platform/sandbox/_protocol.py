"""The JSON contract between a connector guest and the host (see ``erp_platform/sandbox/wit/connector.wit``).

The guest's ``execute(operation, params-json)`` returns ``ok(text)`` where ``text`` is a
:class:`GuestPage` as JSON, or ``err(text)`` where ``text`` is a :class:`GuestError` as JSON. Guest
output is untrusted: the host validates it with these models before using any of it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: Reserved parameter keys understood by every generated operation.
PARAM_NEXT = "_next"
PARAM_PAGE_SIZE = "_page_size"
PARAM_SINCE = "_since"
PARAM_MODE = "_mode"
RESERVED_PARAMS = frozenset({PARAM_NEXT, PARAM_PAGE_SIZE, PARAM_SINCE, PARAM_MODE})


class ParseMode(StrEnum):
    """Who parses a JSON page: the host (fast path, records never enter the guest) or the guest."""

    HOST = "host"
    GUEST = "guest"


class FieldKind(StrEnum):
    """How the host normalises one field of a record."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    DECIMAL = "decimal"  # kept as a string with the exact digits, cast by the loader
    BOOLEAN = "boolean"
    DATE = "date"  # ISO date "2024-03-01" -> "2024-03-01"
    DATETIME = "datetime"  # ISO 8601 or OData "/Date(ms)/" -> ISO 8601 UTC "2019-03-11T17:53:36.230000+00:00"
    JSON = "json"  # nested object or array, kept as is


class GuestPage(BaseModel):
    """One page of an operation's result, as returned by the guest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: int = Field(200, description="HTTP status of the page's response")
    records: list[dict[str, Any]] | None = Field(
        None, description="records parsed and normalised by the guest (guest parse mode)"
    )
    host_page: int | None = Field(
        None, description="page id from host.fetch-json-records: the host holds the records (host mode)"
    )
    fields: dict[str, FieldKind] = Field(
        default_factory=dict, description="normalisation the host applies to host-held records"
    )
    next: str | None = Field(None, description="opaque continuation token; None on the last page")
    entity: str | None = Field(None, description="entity name of the records, when known")
    selector: list[str] | None = Field(None, description="record path the guest selected the records with")
    result: Any = Field(None, description="non-collection result (single object, scalar)")


class GuestError(BaseModel):
    """An error reported by the guest itself (bad parameters, unexpected response, HTTP error)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: str
    message: str
    status: int | None = None
    retryable: bool = False
