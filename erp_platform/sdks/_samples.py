"""Representative values synthesised from an SdkSpec: parameters, records and response pages.

Used by the sandbox tests of SDKs that have no test server: each GET operation gets a response built
from its record path, entity fields, date format and pagination, served through an httpx transport.
Every raw value comes with the value normalisation must turn it into, so the tests can check it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from erp_platform.sandbox import FieldKind
from sdk_builder import (
    DateFormat,
    Operation,
    PaginationStyle,
    Parameter,
    ParamType,
    SdkSpec,
    ValueEncoding,
)

SAMPLE_GUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
SAMPLE_PAGE_SIZE = 2
SKIP_TOKEN = "sample-page-2"  # noqa: S105 (a paging token, not a secret)
CURSOR_TOKEN = "sample-cursor-2"  # noqa: S105
_DAY_MS = 86_400_000
_DAY0_MS = 1_703_991_845_123  # 2023-12-31T03:04:05.123Z: record n is dated 2024-01-0n
_LITERAL_SAMPLES: dict[str, Any] = {
    "string": "sample",
    "guid": SAMPLE_GUID,
    "typed:guid": SAMPLE_GUID,
    "bool": True,
    "int": 1,
    "int_l": 1,
    "num": 1.5,
    "num_m": 1.5,
    "num_d": 1.5,
    "num_f": 1.5,
    "temporal": "2024-01-02",
    "typed:datetime": "2024-01-02T03:04:05",
    "typed:datetimeoffset": "2024-01-02T03:04:05Z",
    "typed:time": "PT1H",
    "typed:duration": "PT1H",
}
_FORMAT_SAMPLES = {"uuid": SAMPLE_GUID, "date": "2024-01-02", "date-time": "2024-01-02T03:04:05Z"}
_TYPE_SAMPLES: dict[ParamType, Any] = {
    ParamType.INTEGER: 1,
    ParamType.NUMBER: 1.5,
    ParamType.BOOLEAN: True,
    ParamType.OBJECT: {},
}


def sample_value(param: Parameter) -> Any:
    """A value of ``param`` that its generated validation accepts."""
    if param.encoding is ValueEncoding.ODATA_LITERAL:
        return _LITERAL_SAMPLES.get(param.odata_literal or "string", "sample")
    if param.type is ParamType.ARRAY:
        item = _TYPE_SAMPLES.get(param.item_type or ParamType.STRING, "sample")
        return [item]
    if param.type in _TYPE_SAMPLES:
        return _TYPE_SAMPLES[param.type]
    return _FORMAT_SAMPLES.get(param.format or "", "sample")


def required_params(op: Operation, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sample values for every required parameter of ``op`` (``overrides`` by parameter name win)."""
    chosen = overrides or {}
    return {p.name: chosen.get(p.name, sample_value(p)) for p in op.parameters if p.required}


def _field_sample(kind: FieldKind, index: int, date_format: DateFormat) -> tuple[Any, Any]:
    """(raw value as an ERP sends it, value after normalisation) of one field of record ``index``."""
    moment_ms = _DAY0_MS + index * _DAY_MS
    day = (date(2023, 12, 31) + timedelta(days=index)).isoformat()  # record n is dated 2024-01-0n
    if kind is FieldKind.INTEGER:
        return (str(index) if index % 2 else index), index
    if kind is FieldKind.NUMBER:
        return index, float(index)
    if kind is FieldKind.DECIMAL:
        return index + 0.25, repr(index + 0.25)
    if kind is FieldKind.BOOLEAN:
        return ("true" if index % 2 else False), bool(index % 2)
    if kind is FieldKind.DATE:
        if date_format is DateFormat.DOTNET:
            return f"/Date({moment_ms - moment_ms % _DAY_MS})/", day
        return day, day
    if kind is FieldKind.DATETIME:
        expected = f"{day}T03:04:05.123000+00:00"
        if date_format is DateFormat.DOTNET:
            return f"/Date({moment_ms})/", expected
        return f"{day}T03:04:05.123Z", expected
    if kind is FieldKind.JSON:
        return {"sample": [index]}, {"sample": [index]}
    return f"sample {index}", f"sample {index}"


def sample_records(spec: SdkSpec, op: Operation, indexes: range) -> tuple[list[Any], list[Any]]:
    """(raw records, normalised records) of ``op``'s entity for the given record numbers."""
    fields = spec.entity(op.entity).fields if op.entity and _has_entity(spec, op.entity) else ()
    raw: list[Any] = []
    expected: list[Any] = []
    for index in indexes:
        if not fields:
            record = {"id": index, "name": f"sample {index}"}
            raw.append(record)
            expected.append(dict(record))
            continue
        pairs = {f.name: _field_sample(f.kind, index, op.date_format) for f in fields}
        raw.append({name: pair[0] for name, pair in pairs.items()})
        expected.append({name: pair[1] for name, pair in pairs.items()})
    return raw, expected


def _has_entity(spec: SdkSpec, name: str) -> bool:
    return any(e.name == name for e in spec.entities)


def page_size(op: Operation) -> int:
    """Records on a full sample page: the server's fixed page size for page-only paging, else 2."""
    pg = op.pagination
    if pg.style is PaginationStyle.PAGE and pg.size_param is None and pg.fixed_page_size:
        return pg.fixed_page_size
    return SAMPLE_PAGE_SIZE


def expects_more(op: Operation) -> bool:
    """Whether a sample first page tells the SDK that a second page follows."""
    pg = op.pagination
    enveloped = bool(op.record_path)
    if pg.style in (PaginationStyle.ODATA_NEXT_LINK, PaginationStyle.ODATA_SKIP):
        return (pg.next_path is not None and enveloped) or pg.position_param is not None
    if pg.style in (PaginationStyle.PAGE, PaginationStyle.OFFSET_LIMIT):
        return pg.position_param is not None
    if pg.style is PaginationStyle.CURSOR:
        return pg.next_path is not None and enveloped and pg.position_param is not None
    return False


def is_second_page(op: Operation, url: httpx.URL) -> bool:
    """Whether a request asks for the second sample page (by next link, position or cursor)."""
    pg = op.pagination
    params = url.params
    if params.get("$skiptoken") == SKIP_TOKEN:
        return True
    if pg.position_param is None or pg.position_param not in params:
        return False
    value = params[pg.position_param]
    if pg.style is PaginationStyle.PAGE:
        return value == str(pg.first_page + 1)
    if pg.style is PaginationStyle.CURSOR:
        return value == CURSOR_TOKEN
    return value == str(page_size(op))


def _put(body: dict[str, Any], path: str, value: Any) -> None:
    """Set a meta value: ``@odata.nextLink`` as one key, ``d.__next`` as a nested one."""
    if path.startswith("@") or "." not in path:
        body[path] = value
        return
    *parents, last = path.split(".")
    node = body
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value


def _wrap(record_path: tuple[str, ...], value: Any) -> Any:
    for key in reversed(record_path):
        value = {key: value}
    return value


def collection_page(op: Operation, records: list[Any], *, first: bool, url: httpx.URL) -> Any:
    """The body of a sample page: records under the record path plus the paging metadata."""
    body = _wrap(op.record_path, records)
    if not isinstance(body, dict):
        return body
    pg = op.pagination
    more = first and expects_more(op)
    if pg.style in (PaginationStyle.ODATA_NEXT_LINK, PaginationStyle.ODATA_SKIP) and pg.next_path and more:
        _put(body, pg.next_path, str(url.copy_with(query=f"$skiptoken={SKIP_TOKEN}".encode())))
    if pg.style is PaginationStyle.CURSOR and pg.next_path:
        _put(body, pg.next_path, CURSOR_TOKEN if more else None)
    if pg.style is PaginationStyle.PAGE and pg.page_count_path:
        _put(body, pg.page_count_path, 2)
    if pg.style in (PaginationStyle.PAGE, PaginationStyle.OFFSET_LIMIT) and pg.total_path:
        _put(body, pg.total_path, page_size(op) + 1)
    if pg.has_more_path:
        _put(body, pg.has_more_path, more)
    return body


@dataclass
class SampleServer:
    """Answers the requests of one operation at a time with synthesised pages (an httpx transport)."""

    spec: SdkSpec
    current: Operation | None = None
    requests: int = 0

    def transport(self) -> httpx.MockTransport:
        """The transport to put into HostServices."""
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        op = self.current
        if op is None or request.method != op.method:
            return httpx.Response(404, json={"error": "no sample for this request"})
        if not op.collection:
            raw, _ = sample_records(self.spec, op, range(1, 2))
            return httpx.Response(200, json=_wrap(op.record_path, raw[0]))
        second = is_second_page(op, request.url)
        full = page_size(op)
        indexes = range(full + 1, full + 2) if second else range(1, full + 1)
        raw, _ = sample_records(self.spec, op, indexes)
        return httpx.Response(200, json=collection_page(op, raw, first=not second, url=request.url))
