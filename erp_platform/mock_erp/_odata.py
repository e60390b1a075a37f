"""OData V4 (``/odata/v4/companies({tenant})/<set>``) and V2 (``/odata/v2/<Set>``) collections.

``$top`` asks for a page size (the server caps it at 1,000; without ``$top`` pages have 100 rows) and
``$skip`` for a start; while rows remain after a page, the page carries a next link with the same
``$top`` and the next ``$skip``, so clients may either follow the link or count ``$skip`` themselves.
"""

from __future__ import annotations

import orjson

from erp_platform.mock_erp._auth import TENANT_HEADER, Authenticator
from erp_platform.mock_erp._entities import DateFormat, EntitySpec
from erp_platform.mock_erp._http import ApiError, Request, Response
from erp_platform.mock_erp._paging import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    check_system_options,
    fetch_page,
    int_param,
    odata_filter_ms,
    page_url,
)
from erp_platform.mock_erp._rows import Segment
from erp_platform.mock_erp._state import MockErpState

V4_OPTIONS = ("$top", "$skip", "$filter", "$count", "$format")
V2_OPTIONS = ("$top", "$skip", "$filter", "$inlinecount", "$format")
_MAX_SKIP = 10**12


def _window(request: Request) -> tuple[int | None, int, int]:
    top = int_param(request, "$top", default=DEFAULT_PAGE_SIZE, minimum=1, maximum=10**9)
    skip = int_param(request, "$skip", default=0, minimum=0, maximum=_MAX_SKIP)
    raw_filter = request.param("$filter")
    after_ms = None if raw_filter is None or not raw_filter.strip() else odata_filter_ms(raw_filter)
    return after_ms, skip, min(top, MAX_PAGE_SIZE)


def _choice(request: Request, name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = request.param(name)
    if raw is None:
        return default
    if raw.lower() not in allowed:
        raise ApiError(
            400,
            "invalid_parameter",
            f"query parameter {name}={raw!r} is invalid: use one of {', '.join(allowed)}",
        )
    return raw.lower()


def odata_v4_list(
    state: MockErpState, auth: Authenticator, request: Request, company: str, spec: EntitySpec
) -> Response:
    """``GET /odata/v4/companies({tenant})/<set>``."""
    tenant = auth.tenant(request)
    company = company.strip("'")
    if company != tenant:
        raise ApiError(
            403,
            "tenant_mismatch",
            f"company {company!r} in the URL is not the ERP tenant of {TENANT_HEADER} and your "
            f"credentials: use /odata/v4/companies({tenant})/{spec.v4_set}",
        )
    check_system_options(request, V4_OPTIONS)
    with_count = _choice(request, "$count", ("true", "false"), "false") == "true"
    after_ms, skip, size = _window(request)
    page = fetch_page(state, tenant, spec, DateFormat.ISO, after_ms=after_ms, offset=skip, limit=size)
    context = f"{request.base_url}/odata/v4/companies({tenant})/$metadata#{spec.v4_set}"
    parts: list[Segment] = [b'{"@odata.context":', orjson.dumps(context)]
    if with_count:
        parts += [b',"@odata.count":', str(page.total).encode()]
    parts += [b',"value":', *page.json_array()]
    if page.size and skip + page.size < page.total:
        next_link = page_url(request, {"$skip": str(skip + page.size)})
        parts += [b',"@odata.nextLink":', orjson.dumps(next_link)]
    parts.append(b"}")
    return Response(200, b"".join(parts), "application/json;odata.metadata=minimal")


def odata_v2_list(state: MockErpState, auth: Authenticator, request: Request, spec: EntitySpec) -> Response:
    """``GET /odata/v2/<Set>``."""
    tenant = auth.tenant(request)
    check_system_options(request, V2_OPTIONS)
    with_count = _choice(request, "$inlinecount", ("allpages", "none"), "none") == "allpages"
    after_ms, skip, size = _window(request)
    page = fetch_page(state, tenant, spec, DateFormat.DOTNET, after_ms=after_ms, offset=skip, limit=size)
    parts: list[Segment] = [b'{"d":{']
    if with_count:
        parts += [b'"__count":"', str(page.total).encode(), b'",']
    parts += [b'"results":', *page.json_array()]
    if page.size and skip + page.size < page.total:
        next_link = page_url(request, {"$skip": str(skip + page.size)})
        parts += [b',"__next":', orjson.dumps(next_link)]
    parts.append(b"}}")
    return Response(200, b"".join(parts))
