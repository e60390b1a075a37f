"""``/metrics`` (Prometheus text format) and ``/health`` (JSON) over HTTP, in a background thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from erp_platform._platform import Platform
from erp_platform.observability._health import ObservabilitySettings, check_health
from erp_platform.observability._metrics import metrics_registry

if TYPE_CHECKING:
    from dagster import DagsterInstance


class MetricsServer:
    """Serves ``/metrics`` and ``/health`` for ``platform``; a context manager, ``stop()`` idempotent.

    Args:
        platform: the platform whose database is read at scrape time.
        host, port: where to listen (port 0 picks a free port; see :attr:`url`).
        instance: the Dagster instance whose daemon heartbeats ``/health`` reports.
        min_interval: seconds a scrape's results are reused.
    """

    def __init__(self, platform: Platform, *, host: str | None = None, port: int | None = None,
                 instance: DagsterInstance | None = None, min_interval: float = 5.0,
                 settings: ObservabilitySettings | None = None) -> None:
        self._settings = settings or ObservabilitySettings()
        self._platform = platform
        self._host = host if host is not None else self._settings.metrics_host
        self._port = port if port is not None else self._settings.metrics_port
        self._instance = instance
        self.registry, self.collector = metrics_registry(platform.engine, min_interval=min_interval)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the metrics server is not running: call start()")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> MetricsServer:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer((self._host, self._port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="erp-metrics", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def metrics(self) -> bytes:
        return generate_latest(self.registry)

    def health(self) -> tuple[int, bytes]:
        report = check_health(self._platform, instance=self._instance, settings=self._settings)
        return (200 if report.ok else 503), report.model_dump_json(indent=2).encode()


class _Handler(BaseHTTPRequestHandler):
    owner: MetricsServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        try:
            if path == "/metrics":
                self._reply(200, CONTENT_TYPE_LATEST, self.owner.metrics())
            elif path in ("/health", "/healthz"):
                status, body = self.owner.health()
                self._reply(status, "application/json", body)
            else:
                self._reply(404, "text/plain; charset=utf-8", b"not found: use /metrics or /health\n")
        except Exception as exc:  # a failed scrape answers 500 instead of killing the thread
            self._reply(500, "text/plain; charset=utf-8", f"{type(exc).__name__}: {exc}\n".encode())

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return
