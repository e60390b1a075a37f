"""Minimal HTTP plumbing for the raw ASGI app: requests, responses, JSON error bodies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson

from erp_platform._errors import ErpPlatformError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON = "application/json"
_MAX_BODY = 1_048_576


class ApiError(ErpPlatformError):
    """An HTTP error answer: status, machine-readable code, message (and extra headers)."""

    def __init__(
        self, status: int, code: str, message: str, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers


@dataclass(frozen=True)
class Request:
    """One HTTP request as the handlers see it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    base_url: str  # scheme://host[:port] the client used

    def param(self, name: str) -> str | None:
        """A query parameter (the last one when repeated)."""
        return self.query.get(name)


@dataclass(frozen=True)
class Response:
    """One HTTP response."""

    status: int
    body: bytes
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = field(default=())


def json_response(status: int, payload: object, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """A JSON response from a Python object."""
    return Response(status, orjson.dumps(payload), JSON, headers)


def error_response(error: ApiError) -> Response:
    """The JSON error body ``{"error": {"code", "message"}}`` of an :class:`ApiError`."""
    body = {"error": {"code": error.code, "message": error.message}}
    return json_response(error.status, body, error.headers)


async def read_request(scope: Scope, receive: Receive, default_base_url: str) -> Request:
    """Read an ASGI HTTP request (headers, query, body up to 1 MiB)."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    raw_query = scope.get("query_string", b"").decode("latin-1")
    query = dict(parse_qsl(raw_query, keep_blank_values=True)) if raw_query else {}
    chunks: list[bytes] = []
    size = 0
    more = scope["method"] in ("POST", "PUT", "PATCH")
    while more:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_BODY:
            raise ApiError(413, "payload_too_large", f"request body is larger than {_MAX_BODY} bytes")
        chunks.append(chunk)
        more = message.get("more_body", False)
    host = headers.get("host")
    base_url = f"{scope.get('scheme', 'http')}://{host}" if host else default_base_url
    return Request(scope["method"], scope["path"], query, headers, b"".join(chunks), base_url)


async def send_response(send: Send, response: Response) -> None:
    """Write a response."""
    headers = [
        (b"content-type", response.content_type.encode()),
        (b"content-length", str(len(response.body)).encode()),
    ]
    headers.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers)
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
