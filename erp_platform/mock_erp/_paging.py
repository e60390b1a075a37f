"""Query parameters shared by the API styles, and fetching one page of rendered rows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from erp_platform.mock_erp._entities import DateFormat, EntitySpec
from erp_platform.mock_erp._http import ApiError, Request
from erp_platform.mock_erp._rows import Segment, json_array, ms_from_iso
from erp_platform.mock_erp._state import MockErpState

#: Largest page the server returns.
MAX_PAGE_SIZE = 1000
#: Page size when the client does not ask for one.
DEFAULT_PAGE_SIZE = 100

_DIGITS = re.compile(r"[0-9]{1,12}")
_FILTER = re.compile(r"\s*updated_at\s+(gt|ge)\s+(.+?)\s*", re.IGNORECASE)
_LITERAL = re.compile(r"(?:datetime|datetimeoffset)?'(.*)'", re.IGNORECASE)


def int_param(request: Request, name: str, *, default: int, minimum: int, maximum: int) -> int:
    """An integer query parameter within [minimum, maximum]; 400 otherwise."""
    raw = request.param(name)
    if raw is None:
        return default
    if _DIGITS.fullmatch(raw) is None or not minimum <= int(raw) <= maximum:
        raise ApiError(
            400,
            "invalid_parameter",
            f"query parameter {name}={raw!r} is invalid: use an integer from {minimum} to {maximum}",
        )
    return int(raw)


def timestamp_ms(raw: str, where: str) -> int:
    """An ISO 8601 timestamp (naive means UTC) as epoch ms; 400 naming ``where`` otherwise."""
    try:
        return ms_from_iso(raw)
    except ValueError:
        raise ApiError(
            400,
            "invalid_parameter",
            f"{where}: {raw!r} is not an ISO 8601 timestamp: use e.g. 2024-01-01T00:00:00Z",
        ) from None


def odata_filter_ms(raw: str) -> int:
    """The cursor of ``$filter=updated_at gt|ge <timestamp>`` as an exclusive lower bound in epoch ms.

    The timestamp may be bare (V4: ``2024-01-01T00:00:00Z``) or a V2 literal
    (``datetime'2024-01-01T00:00:00'``, ``datetimeoffset'...'``).
    """
    match = _FILTER.fullmatch(raw)
    if match is None:
        raise ApiError(
            400,
            "unsupported_filter",
            f"$filter={raw!r} is not supported: use 'updated_at gt <ISO 8601 timestamp>' "
            "(or 'ge'), e.g. $filter=updated_at gt 2024-01-01T00:00:00Z",
        )
    operator, literal = match.group(1).lower(), match.group(2)
    quoted = _LITERAL.fullmatch(literal)
    ms = timestamp_ms(quoted.group(1) if quoted else literal, "$filter")
    return ms if operator == "gt" else ms - 1


def check_system_options(request: Request, allowed: tuple[str, ...]) -> None:
    """400 for OData system query options ($...) the service does not implement."""
    for name in request.query:
        if name.startswith("$") and name not in allowed:
            raise ApiError(
                400,
                "unsupported_option",
                f"query option {name} is not supported: this service supports {', '.join(allowed)}",
            )
    fmt = request.param("$format")
    if fmt is not None and fmt.lower() not in ("json", "application/json"):
        raise ApiError(400, "unsupported_format", f"$format={fmt!r} is not supported: use $format=json")


@dataclass(frozen=True)
class Page:
    """One page of rendered rows and the size of the whole (filtered) result."""

    segments: list[Segment]
    size: int  # rows on this page
    total: int

    def json_array(self) -> list[Segment]:
        """The parts of the rows' JSON array (join with ``b"".join``)."""
        return json_array(self.segments)


def fetch_page(
    state: MockErpState,
    tenant: str,
    spec: EntitySpec,
    fmt: DateFormat,
    *,
    after_ms: int | None,
    offset: int,
    limit: int,
) -> Page:
    """Rows ``offset .. offset+limit-1`` of the tenant's entity, ordered by (updated_at, id)."""
    with state.lock:
        timeline = state.timeline(tenant, spec.name)
        page = timeline.slice(after_ms, offset, limit)
        records = timeline.records
    return Page(state.source(tenant).page(spec, fmt, page, records), page.size, page.total)


def page_url(request: Request, overrides: dict[str, str]) -> str:
    """Absolute URL of the same path with query parameters replaced by ``overrides``."""
    params = {**request.query, **overrides}
    path = quote(request.path, safe="/()'$,:@")
    query = urlencode(params, quote_via=quote, safe="$'(),:")
    return f"{request.base_url}{path}?{query}"
