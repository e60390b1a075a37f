"""Runtime shared by every operation of a generated ERP SDK guest (standard library only).

Emitted unchanged as ``_erp_runtime.py`` next to each generated guest module. It validates parameters,
builds requests from the operation tables, calls the host (``fetch_json_records`` for host-parsed pages,
``send`` otherwise), computes continuation tokens and reports every failure as a ``GuestError`` JSON.

This file is guest source, read as text by the generator: it is never imported on the host (its
``wit_world`` / ``componentize_py_types`` imports exist only inside the component or a native runner).
"""

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urljoin

from componentize_py_types import Err  # type: ignore[import-not-found]
from wit_world.imports import host  # type: ignore[import-not-found]

RESERVED = ("_next", "_page_size", "_since", "_mode")
RETRYABLE_STATUS = (408, 425, 429, 500, 502, 503, 504)
MAX_PAGE_SIZE = 100000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DOTNET_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")
BARE_VALUE = re.compile(r"^[A-Za-z0-9._~:+-]+$")
GUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
TEMPORAL = re.compile(r"^[0-9T:.+Z-]+$")
TYPED = re.compile(r"^[A-Za-z0-9_.:+ -]+$")
INTEGER_TEXT = re.compile(r"^-?\d+$")
HTTP_ERROR = re.compile(r"^HttpError: (\d{3})\b")
INDEX = re.compile(r"^-?\d+$")
LINK_NEXT = re.compile(r'^<([^>]*)>\s*;(?:[^,]*;)?\s*rel="?next"?', re.I)
HEADER_META = "header:"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
QUERY_SAFE = "',:()$*!@/"
TYPE_NAMES = {
    "string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean",
    "array": "an array", "object": "an object", "any": "a value",
}


class Fail(Exception):
    """A failure reported to the host as GuestError JSON: args are (kind, message, status, retryable)."""


def fail(kind: str, message: str, status: Any = None, retryable: bool = False) -> Fail:
    """Build a :class:`Fail` (raise the result)."""
    return Fail(kind, message, status, retryable)


class Op:
    """One operation: its path builder and the tables describing parameters, records and paging."""

    def __init__(
        self,
        name: str,
        build_path: Callable[[dict[str, Any]], str],
        method: str,
        params: tuple[tuple[Any, ...], ...],
        *,
        entity: Any = None,
        collection: bool = False,
        records: tuple[str, ...] = (),
        paging: Any = None,
        since: Any = None,
        body: Any = None,
    ) -> None:
        self.name = name
        self.build_path = build_path
        self.method = method
        self.params = params
        self.by_name = {p[0]: p for p in params}
        self.entity = entity
        self.collection = collection
        self.records = records
        self.paging = paging
        self.since = since
        self.body = body


def index(*ops: Op) -> dict[str, Op]:
    """The operation table of a guest, by operation name."""
    return {op.name: op for op in ops}


def load_fields(describe: str) -> dict[str, dict[str, str]]:
    """Field kinds per entity, from the describe() JSON."""
    entities = json.loads(describe)["entities"]
    return {name: dict(entity["fields"]) for name, entity in entities.items()}


# -- parameters ------------------------------------------------------------------------------------------


def kind_of(value: Any) -> str:
    """The JSON type name of a value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "unknown"


def type_ok(expected: str, value: Any) -> bool:
    """Whether a value has the parameter's JSON type."""
    actual = kind_of(value)
    if expected == "any":
        return actual != "unknown"
    if expected == "number":
        return actual in ("integer", "number")
    return actual == expected


def bind(op: Op, params: dict[str, Any]) -> dict[str, Any]:
    """Check params against the operation's table: unknown, missing and mistyped ones are refused."""
    values: dict[str, Any] = {}
    for key, value in params.items():
        if key in RESERVED:
            continue
        spec = op.by_name.get(key)
        if spec is None:
            known = ", ".join(sorted(op.by_name)) or "none"
            raise fail(
                "bad_params", f"unknown parameter '{key}' for operation '{op.name}' (parameters: {known})"
            )
        if value is None:
            continue
        if not type_ok(spec[3], value):
            raise fail(
                "bad_params",
                f"parameter '{key}' of operation '{op.name}' must be {TYPE_NAMES.get(spec[3], spec[3])}, "
                f"got {kind_of(value)}",
            )
        if spec[3] == "array" and spec[6] is not None:
            for item in value:
                if not type_ok(spec[6], item):
                    raise fail(
                        "bad_params",
                        f"items of parameter '{key}' of operation '{op.name}' must be "
                        f"{TYPE_NAMES.get(spec[6], spec[6])}, got {kind_of(item)}",
                    )
        values[key] = value
    for spec in op.params:
        if spec[4] and spec[0] not in values:
            raise fail("bad_params", f"missing required parameter '{spec[0]}' for operation '{op.name}'")
    return values


def scalar_text(value: Any) -> str:
    """A scalar as URL text: booleans lower-case, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def seg(values: dict[str, Any], name: str) -> str:
    """A value as (part of) a path segment: every reserved character percent-encoded, no dot segments."""
    text = quote(scalar_text(values[name]), safe="")
    if text in (".", ".."):
        return text.replace(".", "%2E")
    return text


def bare(values: dict[str, Any], name: str) -> str:
    """A value the template puts unquoted inside OData key parentheses: only plain characters."""
    text = scalar_text(values[name])
    if not BARE_VALUE.match(text):
        raise fail(
            "bad_params",
            f"parameter '{name}' must be a plain key value (letters, digits and . _ ~ : + -), "
            f"got {text[:80]!r}",
        )
    return quote(text, safe=":")


def quoted(values: dict[str, Any], name: str) -> str:
    """A value the template puts inside single quotes: quotes doubled, then percent-encoded."""
    return quote(scalar_text(values[name]).replace("'", "''"), safe="'")


def literal_text(name: str, value: Any, kind: str) -> str:
    """An OData literal of the given kind (string, int, num_m, typed:guid, ...), validated."""
    if kind == "string":
        return "'" + str(value).replace("'", "''") + "'"
    if kind == "bool":
        return "true" if value else "false"
    if kind in ("int", "int_l"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail("bad_params", f"parameter '{name}' must be an integer")
        return str(value) + ("L" if kind == "int_l" else "")
    if kind in ("num", "num_m", "num_d", "num_f"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail("bad_params", f"parameter '{name}' must be a number")
        return repr(value) + {"num": "", "num_m": "M", "num_d": "d", "num_f": "f"}[kind]
    text = str(value)
    if kind == "guid":
        if not GUID.match(text):
            raise fail("bad_params", f"parameter '{name}' must be a GUID, got {text[:80]!r}")
        return text
    if kind == "temporal":
        if not TEMPORAL.match(text):
            raise fail(
                "bad_params", f"parameter '{name}' must be an ISO 8601 date or time, got {text[:80]!r}"
            )
        return text
    if kind.startswith("typed:"):
        if not TYPED.match(text) or (kind == "typed:guid" and not GUID.match(text)):
            raise fail("bad_params", f"parameter '{name}' is not a valid {kind[6:]} value, got {text[:80]!r}")
        return kind[6:] + "'" + text + "'"
    raise fail("guest_error", f"unknown literal kind {kind!r} for parameter '{name}'")


def lit(values: dict[str, Any], name: str, kind: str) -> str:
    """An OData literal in a path (keys, function parameters); an absent optional value is ``null``."""
    if name not in values:
        return "null"
    return quote(literal_text(name, values[name], kind), safe="'")


def query_value(value: Any) -> str:
    """A query parameter value, percent-encoded (``+`` and ``&`` included)."""
    return quote(scalar_text(value), safe=QUERY_SAFE)


def build_query(op: Op, values: dict[str, Any]) -> list[tuple[str, str]]:
    """The operation's query parameters as (wire name, encoded value) pairs."""
    pairs: list[tuple[str, str]] = []
    for spec in op.params:
        if spec[1] != "query" or spec[0] not in values:
            continue
        value = values[spec[0]]
        if spec[5] == "odata_literal":
            pairs.append((spec[2], quote(literal_text(spec[0], value, spec[6]), safe=QUERY_SAFE)))
        elif isinstance(value, list):
            if spec[5] == "csv":
                pairs.append((spec[2], ",".join(query_value(v) for v in value)))
            else:
                pairs.extend((spec[2], query_value(v)) for v in value)
        else:
            pairs.append((spec[2], query_value(value)))
    return pairs


def since_headers(op: Op, since: Any, values: dict[str, Any]) -> list[tuple[str, str]]:
    """The ``If-Modified-Since``-style header carrying ``_since`` (header mode), else none."""
    if since is None or op.since is None or op.since[0] != "header":
        return []
    _mode, param, _field, literal, _fixed = op.since
    for spec in op.params:
        if spec[1] == "header" and spec[2].lower() == param.lower() and spec[0] in values:
            raise fail("bad_params", f"pass either '_since' or the '{spec[0]}' parameter, not both")
    return [(param, since_literal(since, literal))]


def build_headers(op: Op, values: dict[str, Any], body: Any) -> list[tuple[str, str]]:
    """Accept, Content-Type when there is a body, and the operation's header parameters (no line breaks)."""
    headers = [("Accept", "application/json")]
    if body is not None:
        headers.append(("Content-Type", op.body))
    for spec in op.params:
        if spec[1] == "header" and spec[0] in values:
            text = scalar_text(values[spec[0]])
            if "\r" in text or "\n" in text or "\0" in text:
                raise fail("bad_params", f"parameter '{spec[0]}' must not contain line breaks")
            headers.append((spec[2], text))
    return headers


def build_body(op: Op, values: dict[str, Any]) -> Any:
    """The JSON body: the ``body`` parameter, or an object of body-field parameters."""
    if op.body is None:
        return None
    fields = {}
    has_fields = False
    for spec in op.params:
        if spec[1] == "body" and spec[0] in values:
            return json.dumps(values[spec[0]])
        if spec[1] == "body_field":
            has_fields = True
            if spec[0] in values:
                fields[spec[2]] = values[spec[0]]
    return json.dumps(fields) if has_fields else None


def with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    """Append encoded query pairs to a relative URL."""
    if not pairs:
        return url
    text = "&".join(quote(key, safe="$") + "=" + value for key, value in pairs)
    return url + ("&" if "?" in url else "?") + text


# -- reserved parameters -----------------------------------------------------------------------------------


def parse_since(op: Op, value: Any) -> datetime:
    """``_since`` as an aware UTC datetime."""
    if op.since is None:
        raise fail("bad_params", f"operation '{op.name}' does not support '_since' (it has no change cursor)")
    if not isinstance(value, str):
        raise fail("bad_params", f"'_since' must be an ISO 8601 date-time string, got {kind_of(value)}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail("bad_params", f"'_since' must be an ISO 8601 date-time, got {value[:80]!r}") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def since_literal(moment: datetime, literal: str) -> str:
    """The cursor timestamp as the server expects it in a filter or parameter."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += "." + str(moment.microsecond).rjust(6, "0").rstrip("0")
    if literal == "v2_datetime":
        return "datetime'" + text + "'"
    if literal == "v2_datetimeoffset":
        return "datetimeoffset'" + text + "Z'"
    if literal == "http_date":
        return (WEEKDAYS[moment.weekday()] + ", " + str(moment.day).rjust(2, "0") + " " + MONTHS[moment.month - 1]
                + " " + str(moment.year) + " " + moment.strftime("%H:%M:%S") + " GMT")
    return text + "Z"


def parse_page_size(value: Any) -> Any:
    """``_page_size`` as a positive integer, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value > MAX_PAGE_SIZE:
        raise fail("bad_params", f"'_page_size' must be an integer from 1 to {MAX_PAGE_SIZE}, got {value!r}")
    return value


def parse_token(op: Op, token: Any) -> tuple[str, Any]:
    """A continuation token from a previous page: (kind, value)."""
    if token is None:
        return "", None
    style = op.paging[0] if op.paging else "none"
    if not isinstance(token, str) or len(token) < 2 or style == "none":
        raise fail("bad_params", f"'_next' is not a continuation token of operation '{op.name}'; pass the "
                   "'next' value of the previous page unchanged")
    kind, rest = token[0], token[1:]
    if kind == "L":
        return kind, rest
    if kind == "C" and style == "cursor":
        return kind, rest
    if kind in "SPO" and INTEGER_TEXT.match(rest) and int(rest) >= 0:
        return kind, int(rest)
    if kind == "Q" and style == "page":  # page-only paging: "Q<page>:<records on a full page>"
        page, _, full = rest.partition(":")
        if INTEGER_TEXT.match(page) and INTEGER_TEXT.match(full) and int(page) >= 0 and int(full) > 0:
            return kind, (int(page), int(full))
    raise fail("bad_params", f"'_next' is not a continuation token of operation '{op.name}'; pass the 'next' "
               "value of the previous page unchanged")


# -- responses ---------------------------------------------------------------------------------------------


def host_failure(op: Op, error: Any) -> Fail:
    """A host error string (``EgressDenied: ...``) as a GuestError; ``HttpError: <status>`` as http_error."""
    text = str(error.value if isinstance(error, Err) else error)
    match = HTTP_ERROR.match(text)
    if match:
        status = int(match.group(1))
        return fail("http_error", f"operation '{op.name}': {text}"[:1000], status, status in RETRYABLE_STATUS)
    return fail("host_error", f"operation '{op.name}': {text}"[:1000], None, text.startswith("RateLimited"))


def http_failure(op: Op, method: str, url: str, status: int, body: str) -> Fail:
    """An HTTP error status as a GuestError (retryable for 408, 425, 429 and 5xx gateways)."""
    path = url.split("?", maxsplit=1)[0][:200]
    return fail(
        "http_error",
        f"operation '{op.name}': {method} {path} returned HTTP {status}: {body[:300]}",
        status,
        status in RETRYABLE_STATUS,
    )


def lookup(data: Any, path: str) -> Any:
    """A meta value: the key itself (``@odata.nextLink``), else a dotted path (``d.__next``); integer
    parts index arrays, negative ones from the end (``data.-1.id``: the last record's id)."""
    if isinstance(data, dict) and path in data:
        return data[path]
    current = data
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and INDEX.match(part) and -len(current) <= int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def link_next(value: Any) -> Any:
    """The rel="next" URL of an RFC 8288 ``Link`` header value, or None."""
    if not isinstance(value, str):
        return None
    for part in value.split(","):
        match = LINK_NEXT.match(part.strip())
        if match:
            return match.group(1)
    return None


def header_value(headers: Any, name: str) -> Any:
    """A response header's value (case-insensitive) from the guest-mode header list."""
    for key, value in headers or []:
        if str(key).lower() == name:
            return value
    return None


def dig(op: Op, data: Any, path: tuple[str, ...], strict: bool) -> Any:
    """The value at a record path: strict (collections, like the host) or else the whole body."""
    current = data
    for key in path:
        if isinstance(current, dict) and key in current:
            current = current[key]
        elif not strict:
            return data
        else:
            raise fail("bad_response", f"operation '{op.name}': the response has no '{'.'.join(path)}'")
    return current


def to_datetime(value: Any) -> Any:
    """ISO 8601 or /Date(ms)/ -> ISO 8601 UTC text; other values unchanged."""
    if not isinstance(value, str) or not value:
        return value
    match = DOTNET_DATE.match(value)
    if match:
        return (EPOCH + timedelta(milliseconds=int(match.group(1)))).isoformat()
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def to_date(value: Any) -> Any:
    """ISO date, date-time or /Date(ms)/ -> ISO date text."""
    if not isinstance(value, str) or not value:
        return value
    match = DOTNET_DATE.match(value)
    if match:
        return (EPOCH + timedelta(milliseconds=int(match.group(1)))).date().isoformat()
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return value


def normalise_value(kind: str, value: Any) -> Any:
    """One field value normalised by its FieldKind (unconvertible values are kept as they are)."""
    if value is None:
        return None
    if kind == "datetime":
        return to_datetime(value)
    if kind == "date":
        return to_date(value)
    if kind == "integer":
        if isinstance(value, str) and INTEGER_TEXT.match(value.strip()):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value
    if kind == "number":
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, str)):
            try:
                return float(value)
            except ValueError:
                return value
        return value
    if kind == "decimal":
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return repr(value) if isinstance(value, float) else str(value)
        return value
    if kind == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return value
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def normalise(record: Any, fields: dict[str, str]) -> Any:
    """A record with each known field normalised (guest parse mode)."""
    if not isinstance(record, dict):
        return record
    for name, kind in fields.items():
        if name in record:
            record[name] = normalise_value(kind, record[name])
    return record


def next_token(
    op: Op, state: tuple[str, Any], url: str, meta: dict[str, Any], *, count: int, size: Any
) -> Any:
    """The continuation token of the next page, or None on the last page."""
    if op.paging is None:
        return None
    style, _, _, first, next_path, count_path, total_path, more_path, fixed = op.paging
    kind, position = state
    link = meta.get(next_path) if next_path else None
    if next_path and next_path.startswith(HEADER_META):
        link = link_next(link)
    if more_path and meta.get(more_path) is False:
        return None
    if style in ("odata_next_link", "odata_skip") or (style == "cursor" and isinstance(link, str)
                                                      and link.startswith(("http://", "https://", "/"))):
        if isinstance(link, str) and link:
            target = link if link.startswith(("http://", "https://")) else urljoin(url, link)
            return None if target == url else "L" + target
        if kind == "L" or op.paging[2] is None or count == 0 or (size is not None and count < size):
            return None
        return "S" + str((position or 0) + count)
    if style == "cursor":
        return None if link in (None, "") else "C" + str(link)
    total = meta.get(total_path) if total_path else None
    if style == "page":
        if op.paging[1] is None:  # page only: the server's page size is fixed; a short or empty page is last
            page, full = position if kind == "Q" else (first if position is None else position, fixed or count)
            if count == 0 or count < full:
                return None
            return "Q" + str(page + 1) + ":" + str(full)
        page = first if position is None else position
        pages = meta.get(count_path) if count_path else None
        if isinstance(pages, int) and not isinstance(pages, bool):
            return "P" + str(page + 1) if page + 1 - first < pages else None
        if isinstance(total, int) and size:
            return "P" + str(page + 1) if (page + 1 - first) * size < total else None
        return None if count == 0 or (size is not None and count < size) else "P" + str(page + 1)
    if style == "offset_limit":
        offset = position or 0
        if isinstance(total, int) and not isinstance(total, bool):
            return "O" + str(offset + count) if count > 0 and offset + count < total else None
        return None if count == 0 or (size is not None and count < size) else "O" + str(offset + count)
    return None


# -- execution ---------------------------------------------------------------------------------------------


def request_url(op: Op, values: dict[str, Any], state: tuple[str, Any], size: Any, since: Any) -> str:
    """The relative (or, following a next link, absolute) URL of this page's request."""
    if state[0] == "L":
        return str(state[1])
    pairs = build_query(op, values)
    if since is not None and op.since[0] != "header":
        mode, param, _field, literal, fixed = op.since
        stamp = since_literal(since, literal)
        pairs.extend((key, query_value(value)) for key, value in fixed if not any(p[0] == key for p in pairs))
        if mode == "odata_filter":
            expression = _field + " gt " + stamp
            existing = [i for i, pair in enumerate(pairs) if pair[0] == param]
            if existing:
                i = existing[0]
                expression = "(" + values_of(op, values, param) + ") and " + expression
                pairs[i] = (param, query_value(expression))
            else:
                pairs.append((param, query_value(expression)))
        else:
            if any(pair[0] == param for pair in pairs):
                raise fail("bad_params", f"pass either '_since' or the '{param}' parameter, not both")
            pairs.append((param, query_value(stamp)))
    if op.paging is not None:
        style, size_param, position_param, first = op.paging[0], op.paging[1], op.paging[2], op.paging[3]
        if size is not None and size_param:
            pairs.append((size_param, str(size)))
        kind, position = state
        if position_param and style in ("odata_skip", "odata_next_link", "offset_limit") and position:
            pairs.append((position_param, str(position)))
        if position_param and style == "page":
            page = position[0] if kind == "Q" else position
            pairs.append((position_param, str(first if page is None else page)))
        if position_param and style == "cursor" and kind == "C":
            pairs.append((position_param, query_value(position)))
    return with_query(op.build_path(values), pairs)


def values_of(op: Op, values: dict[str, Any], wire: str) -> str:
    """The caller's raw value of the query parameter with this wire name."""
    for spec in op.params:
        if spec[2] == wire and spec[0] in values:
            return scalar_text(values[spec[0]])
    return ""


def send(op: Op, request: Any) -> Any:
    """host.send with host errors and HTTP errors mapped to GuestErrors."""
    try:
        response = host.send(request)
    except Err as error:
        raise host_failure(op, error) from None
    if response.status >= 400:
        raise http_failure(op, request.method, request.url, response.status, response.body)
    return response


def parse_json(op: Op, text: str) -> Any:
    """A JSON body, or a bad_response GuestError."""
    try:
        return json.loads(text)
    except ValueError as error:
        raise fail("bad_response", f"operation '{op.name}': the response is not JSON ({error})") from None


def run(op: Op, fields: dict[str, dict[str, str]], params: dict[str, Any]) -> dict[str, Any]:
    """Execute one page of one operation and return the GuestPage as a dict."""
    mode = params.get("_mode") or "host"
    if mode not in ("host", "guest"):
        raise fail("bad_params", f"'_mode' must be 'host' or 'guest', got {mode!r}")
    size = parse_page_size(params.get("_page_size"))
    since = None if params.get("_since") is None else parse_since(op, params.get("_since"))
    state = parse_token(op, params.get("_next")) if op.collection else ("", None)
    if not op.collection and params.get("_next") is not None:
        raise fail("bad_params", f"operation '{op.name}' returns a single result: '_next' is not accepted")
    values = bind(op, params)
    url = request_url(op, values, state, size, since)
    body = build_body(op, values)
    request = host.HttpRequest(op.method, url, build_headers(op, values, body) + since_headers(op, since, values), body)
    entity_fields = fields.get(op.entity, {}) if op.entity else {}
    if not op.collection:
        response = send(op, request)
        result = None
        if response.body.strip():
            result = dig(op, parse_json(op, response.body), op.records, False)
        if entity_fields and isinstance(result, dict):
            result = normalise(result, entity_fields)
        return {"status": response.status, "result": result, "entity": op.entity}
    paging = op.paging or ("none", None, None, 1, None, None, None, None, None)
    meta_paths = [p for p in paging[4:8] if p]
    if mode == "host":
        try:
            info = host.fetch_json_records(request, list(op.records), meta_paths)
        except Err as error:
            raise host_failure(op, error) from None
        if info.status >= 400:
            raise http_failure(op, request.method, url, info.status, "")
        meta = json.loads(info.meta_json) if info.meta_json else {}
        meta = meta if isinstance(meta, dict) else {}
        token = next_token(op, state, url, meta, count=info.record_count, size=size)
        return {"status": info.status, "host_page": info.page_id, "fields": entity_fields, "next": token,
                "entity": op.entity, "selector": list(op.records)}
    response = send(op, request)
    data = parse_json(op, response.body)
    records = dig(op, data, op.records, True)
    if not isinstance(records, list):
        where = ".".join(op.records)
        raise fail("bad_response", f"operation '{op.name}': '{where}' is not a list of records")
    if entity_fields:
        records = [normalise(r, entity_fields) for r in records]
    meta = {
        path: header_value(response.headers, path[len(HEADER_META):]) if path.startswith(HEADER_META)
        else lookup(data, path)
        for path in meta_paths
    }
    token = next_token(op, state, url, meta, count=len(records), size=size)
    return {"status": response.status, "records": records, "next": token, "entity": op.entity,
            "selector": list(op.records)}


def execute(ops: dict[str, Op], fields: dict[str, dict[str, str]], operation: str, params_json: str) -> str:
    """The guest's ``execute``: a GuestPage JSON, or ``Err(GuestError JSON)``; no exception escapes."""
    try:
        op = ops.get(operation)
        if op is None:
            raise fail("unknown_operation", f"unknown operation '{operation}'; describe() lists the "
                       f"{len(ops)} operations of this SDK")
        try:
            params = json.loads(params_json)
        except ValueError as error:
            raise fail("bad_params", f"params-json is not valid JSON ({error})") from None
        if not isinstance(params, dict):
            raise fail("bad_params", f"params-json must be a JSON object, got {kind_of(params)}")
        return json.dumps(run(op, fields, params), separators=(",", ":"))
    except Fail as failure:
        kind, message, status, retryable = failure.args
        report = {"kind": kind, "message": message, "status": status, "retryable": retryable}
    except Exception as unexpected:  # the guest must never trap: every error becomes a GuestError
        report = {"kind": "guest_error", "message": f"operation '{operation}' failed: {unexpected!r}"[:1000],
                  "status": None, "retryable": False}
    raise Err(json.dumps(report, separators=(",", ":")))
