"""The web chat page: one tenant per page, conversation on the left, the draft on the right.

Served by ``erp dev`` beside the Dagster UI. Every URL names its tenant and needs that tenant's access
token (an HMAC of the slug under a key kept in ``ERP_HOME``, printed by ``erp assistant link TENANT``): a
token opens one tenant's page and API only, so tenant A's token can neither read nor name tenant B's
conversations, drafts or catalog. The Activate button calls the same registry activation as
``erp workflow activate``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from assistant._assistant import Assistant
from erp_platform._errors import ErpPlatformError, NotFoundError
from erp_platform._files import atomic_write_bytes
from erp_platform.db import validate_slug

_COOKIE = "erp_assistant_{tenant}"
Handler = Callable[[Request, str], Awaitable[Response]]
_KEY_FILE = "assistant-web.key"


def web_key(home: Path) -> bytes:
    """The page's signing key under ``home`` (created with mode 0600 on first use)."""
    path = home / _KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        key = secrets.token_bytes(32)
        atomic_write_bytes(path, key.hex().encode())
        os.chmod(path, 0o600)
        return key


def web_token(key: bytes, tenant: str) -> str:
    """The access token of one tenant's page."""
    return hmac.new(key, f"assistant:{validate_slug(tenant)}".encode(), hashlib.sha256).hexdigest()


def _page() -> str:
    return resources.files("assistant").joinpath("chat.html").read_text(encoding="utf-8")


def create_web_app(assistant: Assistant, key: bytes) -> Starlette:
    """The Starlette app of the chat page and its JSON API (all under ``/assistant/{tenant}``)."""

    def authorised(request: Request) -> str:
        tenant = request.path_params["tenant"]
        try:
            expected = web_token(key, tenant)
        except ErpPlatformError:
            raise PermissionError("unknown tenant") from None
        given = request.headers.get("x-erp-token") or request.cookies.get(_COOKIE.format(tenant=tenant), "")
        if not hmac.compare_digest(given, expected):
            raise PermissionError(f"no access to tenant {tenant!r}: open the link `erp assistant link {tenant}` prints")
        return str(tenant)

    def guard(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                tenant = authorised(request)
                return await handler(request, tenant)
            except PermissionError as exc:
                return JSONResponse({"error": str(exc)}, status_code=403)
            except NotFoundError as exc:
                return JSONResponse({"error": str(exc)}, status_code=404)
            except ErpPlatformError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400 if not exc.transient else 503)

        return endpoint

    async def page(request: Request) -> Response:
        tenant = request.path_params["tenant"]
        token = request.query_params.get("token")
        if token is not None:
            try:
                valid = hmac.compare_digest(token, web_token(key, tenant))
            except ErpPlatformError:
                valid = False
            if not valid:
                return HTMLResponse("<h1>403</h1><p>This link does not open this tenant's assistant.</p>", 403)
            response = RedirectResponse(f"/assistant/{tenant}", status_code=303)
            response.set_cookie(_COOKIE.format(tenant=tenant), token, httponly=True, samesite="strict",
                                path=f"/assistant/{tenant}")
            return response
        try:
            authorised(request)
        except PermissionError as exc:
            return HTMLResponse(f"<h1>403</h1><p>{exc}</p>", 403)
        return HTMLResponse(_page().replace("{{TENANT}}", tenant))

    async def conversations(request: Request, tenant: str) -> Response:
        if request.method == "POST":
            body = await _json(request)
            info = assistant.start(tenant, str(body.get("title") or "chat"))
            return JSONResponse(info.model_dump(mode="json"))
        return JSONResponse([c.model_dump(mode="json") for c in assistant.store.conversations(tenant)])

    async def conversation(request: Request, tenant: str) -> Response:
        conversation_id = request.path_params["conversation"]
        info = assistant.store.conversation(tenant, conversation_id)
        messages = assistant.store.messages(tenant, conversation_id)
        drafts = assistant.store.drafts(tenant, conversation_id)
        return JSONResponse({
            "conversation": info.model_dump(mode="json"),
            "messages": [_visible(m.role, [b.model_dump(mode="json") for b in m.content]) for m in messages],
            "draft": drafts[-1].model_dump(mode="json") if drafts else None,
        })

    async def send(request: Request, tenant: str) -> Response:
        conversation_id = request.path_params["conversation"]
        body = await _json(request)
        text = str(body.get("text") or "")
        offline = bool(body.get("offline", False))
        import anyio

        turn = await anyio.to_thread.run_sync(lambda: assistant.send(tenant, conversation_id, text, offline=offline))
        return JSONResponse(turn.model_dump(mode="json"))

    async def activate(request: Request, tenant: str) -> Response:
        draft_id = int(request.path_params["draft"])
        import anyio

        draft = await anyio.to_thread.run_sync(lambda: assistant.activate(tenant, draft_id))
        return JSONResponse({"activated": True, "workflow_id": draft.workflow_id, "version": draft.version})

    routes = [
        Route("/assistant/{tenant}", page, methods=["GET"]),
        Route("/assistant/{tenant}/api/conversations", guard(conversations), methods=["GET", "POST"]),
        Route("/assistant/{tenant}/api/conversations/{conversation}", guard(conversation), methods=["GET"]),
        Route("/assistant/{tenant}/api/conversations/{conversation}/messages", guard(send), methods=["POST"]),
        Route("/assistant/{tenant}/api/drafts/{draft:int}/activate", guard(activate), methods=["POST"]),
    ]
    return Starlette(routes=routes)


async def _json(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _visible(role: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """A stored message as the page shows it: text, and tool calls by name only."""
    texts = [b["text"] for b in blocks if b.get("type") == "text"]
    tools = [b["name"] for b in blocks if b.get("type") == "tool_use"]
    results = [b for b in blocks if b.get("type") == "tool_result"]
    return {"role": role, "text": "\n".join(texts), "tools": tools,
            "tool_results": len(results), "errors": sum(1 for r in results if r.get("is_error"))}


class WebServer:
    """Serves the chat page on ``host:port`` in a background thread (a context manager; ``stop`` idempotent)."""

    def __init__(self, app: Starlette, *, host: str = "127.0.0.1", port: int = 3100) -> None:
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                     lifespan="off"))
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        if self._socket is None:
            raise RuntimeError("the assistant page is not running: call start()")
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self, timeout: float = 10.0) -> WebServer:
        """Listen (OSError, e.g. when the port is taken, is raised here) and serve in a background thread."""
        config = self._server.config
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((config.host, config.port))
        except OSError as exc:
            sock.close()
            raise OSError(f"the assistant page cannot listen on {config.host}:{config.port} "
                          f"(ERP_ASSISTANT_WEB_PORT): {exc.strerror or exc}") from None
        self._socket = sock
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="erp-assistant-web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise OSError("the assistant page did not start within 10 s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
