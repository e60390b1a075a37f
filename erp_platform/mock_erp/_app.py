"""The raw ASGI application: routing, fault injection, request stats."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable

import orjson

from erp_platform.mock_erp._admin import ADMIN_PREFIX, handle_admin
from erp_platform.mock_erp._auth import Authenticator
from erp_platform.mock_erp._entities import REST_PATHS, SALES_ORDERS, V2_SETS, V4_SETS
from erp_platform.mock_erp._faults import FaultRule
from erp_platform.mock_erp._http import (
    ApiError,
    Receive,
    Request,
    Response,
    Scope,
    Send,
    error_response,
    json_response,
    read_request,
    send_response,
)
from erp_platform.mock_erp._odata import odata_v2_list, odata_v4_list
from erp_platform.mock_erp._openapi import build_openapi
from erp_platform.mock_erp._rest import not_allowed, rest_create_sales_order, rest_get, rest_list
from erp_platform.mock_erp._state import MockErpState

_log = logging.getLogger(__name__)

_V4 = re.compile(r"/odata/v4/companies\(([^)/]*)\)/([A-Za-z]+)/?")
_V2 = re.compile(r"/odata/v2/([A-Za-z]+)/?")
_REST = re.compile(r"/api/v1/([a-z-]+)(?:/([^/]+))?/?")

_HTML_502 = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>"
    b"<p>The upstream ERP server did not answer. Please try again later.</p><hr><address>nginx</address>"
    b"</body></html>"
)
_MALFORMED = b'{"value": [{"id": 1, "name": "Broken\x01 record",, }'


class MockErpApp:
    """ASGI app of the mock ERP over one :class:`MockErpState`."""

    def __init__(self, state: MockErpState, default_base_url: str) -> None:
        self.state = state
        self._auth = Authenticator(state.config)
        self._default_base_url = default_base_url
        self._openapi: dict[str, bytes] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            request = await read_request(scope, receive, self._default_base_url)
        except ApiError as exc:
            await send_response(send, error_response(exc))
            return
        if request.path.startswith(ADMIN_PREFIX):
            await send_response(send, self._guarded(lambda: handle_admin(self.state, request)))
            return
        fault = self.state.faults.pick(request.method, request.path)
        if fault is not None and fault.fault == "slow":
            await asyncio.sleep(fault.delay_ms / 1000)
        response = _fault_response(fault) if fault is not None else None
        if response is None:
            response = self._guarded(lambda: self._route(request))
            if fault is not None and fault.fault == "truncated":
                cut = response.body[: len(response.body) // 2]
                response = Response(response.status, cut, response.content_type)
            elif fault is not None and fault.fault == "malformed":
                response = Response(response.status, _MALFORMED, response.content_type)
        self.state.count_request(request.path, response.status)
        await send_response(send, response)

    @staticmethod
    def _guarded(handler: Callable[[], Response]) -> Response:
        try:
            return handler()
        except ApiError as exc:
            return error_response(exc)
        except Exception as exc:  # a bug in the mock: answer 500 and keep serving
            _log.exception("mock ERP handler failed")
            message = f"internal error in the mock ERP: {type(exc).__name__}: {exc}"
            return error_response(ApiError(500, "internal_error", message))

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path == "/openapi.json":
            return self._get_only(request) or Response(200, self._openapi_bytes(request.base_url))
        if path in ("", "/"):
            return self._get_only(request) or json_response(200, _index(request.base_url))
        if match := _V4.fullmatch(path):
            spec = V4_SETS.get(match.group(2))
            if spec is not None:
                return self._get_only(request) or odata_v4_list(
                    self.state, self._auth, request, match.group(1), spec
                )
        elif match := _V2.fullmatch(path):
            spec = V2_SETS.get(match.group(1))
            if spec is not None:
                return self._get_only(request) or odata_v2_list(self.state, self._auth, request, spec)
        elif match := _REST.fullmatch(path):
            spec = REST_PATHS.get(match.group(1))
            record_id = match.group(2)
            if spec is not None and record_id is not None:
                return self._get_only(request) or rest_get(self.state, self._auth, request, spec, record_id)
            if spec is SALES_ORDERS and method == "POST":
                return rest_create_sales_order(self.state, self._auth, request)
            if spec is not None:
                allowed = "GET, POST" if spec is SALES_ORDERS else "GET"
                if method != "GET":
                    raise not_allowed(allowed)
                return rest_list(self.state, self._auth, request, spec)
        raise ApiError(
            404,
            "not_found",
            f"no endpoint {method} {path}: see {request.base_url}/openapi.json for every path",
        )

    @staticmethod
    def _get_only(request: Request) -> Response | None:
        if request.method != "GET":
            raise not_allowed("GET")
        return None

    def _openapi_bytes(self, base_url: str) -> bytes:
        body = self._openapi.get(base_url)
        if body is None:
            body = self._openapi[base_url] = orjson.dumps(build_openapi(base_url))
        return body


def _index(base_url: str) -> dict[str, object]:
    return {
        "name": "mock-erp",
        "openapi": f"{base_url}/openapi.json",
        "styles": {
            "odata_v4": f"{base_url}/odata/v4/companies({{tenant}})/customers",
            "odata_v2": f"{base_url}/odata/v2/Customers",
            "rest": f"{base_url}/api/v1/customers",
        },
    }


def _fault_response(fault: FaultRule | None) -> Response | None:
    """The canned answer of a fault that replaces the real one (None: answer normally)."""
    if fault is None:
        return None
    kind = fault.fault
    retry = (("Retry-After", str(fault.retry_after)),)
    if kind == "429":
        message = f"rate limit exceeded: retry after {fault.retry_after} seconds"
        return error_response(ApiError(429, "too_many_requests", message, retry))
    if kind == "500":
        return error_response(ApiError(500, "internal_error", "internal server error (injected fault)"))
    if kind == "503":
        message = f"service unavailable (injected fault): retry after {fault.retry_after} seconds"
        return error_response(ApiError(503, "unavailable", message, retry))
    if kind == "html":
        return Response(502, _HTML_502, "text/html; charset=utf-8")
    return None


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
