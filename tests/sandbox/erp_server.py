"""A small real HTTP server playing an ERP for the sandbox tests (OData V4/V2, REST, faults, redirects).

It runs in a background thread on 127.0.0.1 and records every request it receives (path and headers) so
tests can check, on the receiving side, which headers (credentials!) arrived.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CITIES = ["Berlin", "Lyon", "Porto", "Utrecht", "Gdansk", "Turku", "Zurich", "Bergen"]
COUNTRIES = ["DE", "FR", "PT", "NL", "PL", "FI", "CH", "NO"]
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)


def customer(index: int) -> dict[str, Any]:
    """Customer ``index`` (1-based) as the OData V4 endpoint serialises it (ISO 8601 dates)."""
    updated = BASE_TIME + timedelta(minutes=index * 7, milliseconds=index * 13 % 1000)
    offset = "+02:00" if index % 3 == 0 else "Z"
    stamp = updated.astimezone(UTC)
    if offset == "+02:00":
        stamp = updated + timedelta(hours=2)
        text = stamp.replace(tzinfo=None).isoformat(timespec="milliseconds") + "+02:00"
    else:
        text = stamp.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
    return {
        "id": index,
        "number": f"C{index:08d}",
        "name": f"Customer {index} GmbH",
        "email": f"buyer{index}@customer{index % 97}.example.com",
        "city": CITIES[index % len(CITIES)],
        "country": COUNTRIES[index % len(COUNTRIES)],
        "balance": f"{(index * 1237) % 100000 / 100:.2f}",
        "credit_limit": (index % 50) * 1000,
        "blocked": index % 11 == 0,
        "created_on": (BASE_TIME - timedelta(days=index % 900)).date().isoformat(),
        "updated_at": text,
    }


def customer_v2(index: int) -> dict[str, Any]:
    """Customer ``index`` as OData V2 serialises it: ``/Date(ms)/`` for both dates."""
    record = customer(index)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    updated = datetime.fromisoformat(record["updated_at"]).astimezone(UTC)
    created = datetime.fromisoformat(record["created_on"]).replace(tzinfo=UTC)
    record["updated_at"] = f"/Date({int((updated - epoch).total_seconds() * 1000)})/"
    record["created_on"] = f"/Date({int((created - epoch).total_seconds() * 1000)}+0000)/"
    return record


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class ErpState:
    rows: int = 25
    next_origin: str | None = None  # scheme://host:port of the OData next links (default: the request's)
    received: list[ReceivedRequest] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, key: str) -> int:
        with self.lock:
            self.counters[key] = self.counters.get(key, 0) + 1
            return self.counters[key]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        with state.lock:
            state.received.append(ReceivedRequest(self.command, self.path, dict(self.headers.items())))
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        path = parts.path
        if path == "/odata/v4/customers":
            self._odata_v4(query)
        elif path == "/odata/v2/Customers":
            self._odata_v2(query)
        elif path.startswith("/api/v1/customers/"):
            index = int(path.rsplit("/", 1)[1])
            if 1 <= index <= state.rows:
                self._json(200, customer(index))
            else:
                self._json(404, {"error": {"code": "not_found", "message": f"customer {index} not found"}})
        elif path == "/echo":  # repeats the request line, as ERPs that quote the request do
            self._json(200, {"value": [], "request": self.path})
        elif path == "/echo-error":
            self._json(400, {"error": {"code": "bad_request", "message": f"cannot serve {self.path}"}})
        elif path == "/headers":
            self._json(200, {"value": [], "headers": dict(self.headers.items())})
        elif path == "/flaky":
            self._flaky(query)
        elif path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
            self._json(status, {"error": {"code": "status", "message": f"status {status}"}})
        elif path == "/slow":
            time.sleep(float(query.get("seconds", "1")))
            self._json(200, {"value": []})
        elif path == "/truncated":
            body = json.dumps({"value": [customer(i) for i in range(1, 6)]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif path == "/malformed":
            self._raw(200, b'{"value": [{"id": 1,, "name": oops}]', "application/json")
        elif path == "/html":
            self._raw(200, b"<html><body>Service temporarily down</body></html>", "text/html")
        elif path == "/big":
            size = int(query.get("bytes", "1000"))
            self._raw(200, b'{"value": ["' + b"x" * size + b'"]}', "application/json")
        elif path == "/big-chunked":
            self._chunked(int(query.get("bytes", "1000")))
        elif path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/redirect":
            self.send_response(int(query.get("code", "302")))
            self.send_header("Location", query["to"])
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._json(404, {"error": {"code": "no_route", "message": path}})

    def _odata_v4(self, query: dict[str, str]) -> None:
        rows = self.server.state.rows
        top = int(query.get("$top", "100"))
        skip = int(query.get("$skip", "0"))
        end = min(rows, skip + top)
        body: dict[str, Any] = {
            "@odata.context": "$metadata#customers",
            "value": [customer(i) for i in range(skip + 1, end + 1)],
        }
        if end < rows:  # like OData servers, the next link repeats the request's other query options
            origin = self.server.state.next_origin or f"http://{self.headers['Host']}"
            others = "".join(f"&{part}" for part in urlsplit(self.path).query.split("&")
                             if part and part.split("=", 1)[0] not in ("$top", "$skip"))
            body["@odata.nextLink"] = f"{origin}/odata/v4/customers?$top={top}{others}&$skip={end}"
        self._json(200, body)

    def _odata_v2(self, query: dict[str, str]) -> None:
        rows = self.server.state.rows
        top = int(query.get("$top", "100"))
        skip = int(query.get("$skip", "0"))
        end = min(rows, skip + top)
        inner: dict[str, Any] = {"results": [customer_v2(i) for i in range(skip + 1, end + 1)]}
        if end < rows:
            inner["__next"] = f"http://{self.headers['Host']}/odata/v2/Customers?$top={top}&$skip={end}"
        self._json(200, {"d": inner})

    def _flaky(self, query: dict[str, str]) -> None:
        attempt = self.server.state.count(query.get("key", "flaky"))
        if attempt <= int(query.get("fail", "1")):
            status = int(query.get("status", "503"))
            self.send_response(status)
            if "retry_after" in query:
                self.send_header("Retry-After", query["retry_after"])
            body = b'{"error": {"code": "busy", "message": "try again"}}'
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self._json(200, {"value": [customer(1)], "attempt": attempt})

    def _chunked(self, size: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"x" * 65536
        sent = 0
        try:
            self._write_chunk(b'{"value": ["')
            while sent < size:
                self._write_chunk(chunk)
                sent += len(chunk)
            self._write_chunk(b'"]}')
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def _json(self, status: int, payload: Any) -> None:
        self._raw(status, json.dumps(payload).encode(), "application/json")

    def _raw(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: ErpState

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # clients that time out or abort oversized downloads hang up: expected here


class ErpServer:
    """A running test ERP on 127.0.0.1 (context manager)."""

    def __init__(self, rows: int = 25) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = ErpState(rows=rows)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def state(self) -> ErpState:
        return self._server.state

    def received(self, path_prefix: str = "") -> list[ReceivedRequest]:
        with self.state.lock:
            return [r for r in self.state.received if r.path.startswith(path_prefix)]

    def reset(self) -> None:
        with self.state.lock:
            self.state.received.clear()
            self.state.counters.clear()
            self.state.next_origin = None

    def __enter__(self) -> ErpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def running(rows: int = 25) -> Iterator[ErpServer]:
    with ErpServer(rows) as server:
        yield server
