"""An httpx transport that connects only to addresses the egress guard checked (no DNS rebinding).

httpcore asks the network backend to connect to the URL's host name; :class:`CheckedBackend` resolves that
name itself, checks every address, and connects to a checked IP. TLS still uses the original name for SNI
and certificate checks (httpcore passes the origin host to ``start_tls``), and the Host header is unchanged.
The transport never reads proxy settings from the environment (a proxy would bypass the address check).
"""

from __future__ import annotations

import contextlib
import functools
import ssl
import threading
from collections.abc import Iterable, Iterator

import httpcore
import httpx

from erp_platform.sandbox._egress import EgressGuard
from erp_platform.sandbox._errors import CallContext

_SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]

# httpcore exception -> httpx exception (most specific first)
_EXCEPTIONS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
)


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    """The process's TLS client context (system CA bundle via certifi), built once: it costs ~20 ms.

    It holds configuration only (trusted CAs, protocol settings), no per-tenant or per-connection state.
    """
    return httpx.create_ssl_context(trust_env=False)


class CheckedBackend(httpcore.NetworkBackend):
    """Resolves, checks and connects; the call context of the current request names errors."""

    def __init__(self, guard: EgressGuard) -> None:
        self._guard = guard
        self._inner = httpcore.SyncBackend()
        self._local = threading.local()

    def bind(self, context: CallContext, display: str) -> None:
        """Name the request being sent (for error messages raised while connecting)."""
        self._local.context = context
        self._local.display = display

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        context: CallContext = getattr(self._local, "context", CallContext("?", "?", 0, "?"))
        display: str = getattr(self._local, "display", f"{host}:{port}")
        try:
            addresses = self._guard.resolve_and_check(host, port, context, display)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from None
        last: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not available to SDKs")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for source, target in _EXCEPTIONS:
            if isinstance(exc, source):
                raise target(str(exc)) from exc
        raise


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class CheckedTransport(httpx.BaseTransport):
    """An HTTP/1.1 connection pool whose connections go through a :class:`CheckedBackend`."""

    def __init__(self, backend: CheckedBackend, *, max_connections: int = 10) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=shared_tls_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            network_backend=backend,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = self._pool.handle_request(core_request)
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()
