"""The host functions of one session (``send``, ``fetch-json-records``, ``log``), runner-independent.

The WebAssembly runner and the native runner both call a :class:`HostBridge`; it owns the session's HTTP
client and the state of the current call: request budget, pages the host parsed and keeps, guest log
lines, and the first violation or failure (raised after the call even if the guest swallowed it).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import orjson

from erp_platform._errors import CredentialError, ErpPlatformError
from erp_platform.sandbox._errors import (
    CallContext,
    DeadlineExceeded,
    GuestTrap,
    SandboxError,
    SandboxViolation,
    UpstreamError,
)
from erp_platform.sandbox._http import CallBudget, EgressClient, FetchedResponse
from erp_platform.sandbox._manifest import SdkManifest
from erp_platform.sandbox._results import LogLine
from erp_platform.sandbox._selection import describe_held, held_arrays
from erp_platform.sandbox._services import HostServices

logger = logging.getLogger("erp_platform.sandbox.guest")

MAX_LOG_LINE = 2000
_ERROR_SNIPPET = 300
#: A meta path naming a response header instead of a body value (``header:link``).
HEADER_META = "header:"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "warning": logging.WARNING}


@dataclass(frozen=True)
class GuestRequest:
    """The guest's ``http-request`` record as plain Python values."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: str | None


@dataclass(frozen=True)
class SendOk:
    """An ``http-response`` for the guest."""

    status: int
    headers: list[tuple[str, str]]
    body: str


@dataclass(frozen=True)
class PageOk:
    """A ``page-info`` for the guest: the records stay here, under ``page_id``."""

    page_id: int
    status: int
    record_count: int
    meta_json: str


@dataclass
class CallState:
    """What one call left behind on the host side."""

    budget: CallBudget
    pages: dict[int, list[Any]] = field(default_factory=dict)
    next_page_id: int = 1
    failure: ErpPlatformError | None = None
    internal: BaseException | None = None
    logs: list[LogLine] = field(default_factory=list)
    dropped_logs: int = 0
    # non-empty arrays beside an empty selection, per page id (silent-zero evidence)
    held: dict[int, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    last_body: bytes | None = None  # the last 2xx body sent to the guest (guest-parsed pages)
    echoed_secret: bool = False  # a response held a credential value: the call's records are masked


class HostBridge:
    """Host functions bound to one session (never shared between sessions or tenants)."""

    def __init__(self, manifest: SdkManifest, services: HostServices) -> None:
        self.manifest = manifest
        self.services = services
        self.client = EgressClient(manifest, services)
        self._state: CallState | None = None

    # -- call lifecycle -------------------------------------------------------------------------------

    def begin(self, context: CallContext) -> CallState:
        """Start a call: fresh budget, page store, log and failure slot."""
        deadline = time.monotonic() + self.manifest.limits.deadline_seconds
        self._state = CallState(budget=CallBudget(context=context, deadline=deadline))
        return self._state

    def end(self) -> CallState:
        """Finish the call and return its state (pages not claimed by the guest are dropped with it)."""
        state = self._require()
        self._state = None
        return state

    def close(self) -> None:
        self.client.close()

    @property
    def violation_pending(self) -> bool:
        """A violation or internal error was remembered during the current call."""
        state = self._state
        return state is not None and (state.failure is not None or state.internal is not None)

    def _require(self) -> CallState:
        if self._state is None:
            raise RuntimeError("host function called outside of a call")
        return self._state

    def remember(self, error: ErpPlatformError) -> None:
        """Keep the first violation or failure of the call; it is raised after the call returns."""
        state = self._require()
        if state.failure is None:
            state.failure = error

    # -- host functions ---------------------------------------------------------------------------------

    def send(self, request: GuestRequest) -> SendOk | str:
        """``host.send``: the response (any status) or an error string ``"<Kind>: <reason>"``."""
        fetched = self._fetch(request)
        if isinstance(fetched, str):
            return fetched
        if 200 <= fetched.status < 300:
            self._require().last_body = fetched.body
        return SendOk(status=fetched.status, headers=fetched.headers, body=fetched.text())

    def fetch_json_records(
        self, request: GuestRequest, record_path: list[str], meta_paths: list[str]
    ) -> PageOk | str:
        """``host.fetch-json-records``: parse the JSON body here and keep its records under a page id.

        A non-2xx answer is the error string ``"HttpError: <status> <reason>: <start of body>"``.
        """
        fetched = self._fetch(request)
        if isinstance(fetched, str):
            return fetched
        state = self._require()
        display = f"{request.method.upper()} {fetched.url.display}"
        if not 200 <= fetched.status < 300:
            return _http_error(fetched)
        try:
            document = orjson.loads(fetched.body)
        except orjson.JSONDecodeError as exc:
            error = UpstreamError(
                f"{display}: the ERP answered HTTP {fetched.status} with a body that is not valid JSON "
                f"({exc}); the response was truncated or malformed, retry later or check the ERP",
                context=state.budget.context,
                status=fetched.status,
            )
            self.remember(error)
            return f"UpstreamError: {error.detail}"
        node: Any = document
        for depth, key in enumerate(record_path):
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            elif isinstance(node, dict) and (depth == len(record_path) - 1 or held_arrays(document, record_path)):
                # the last key is missing (some ERPs omit an empty array), or records are elsewhere: an empty
                # page, whose evidence (arrays held elsewhere) makes the session refuse a silent zero
                node = []
                break
            else:
                where = ".".join(record_path[: depth + 1])
                held = _held_note(document, record_path)
                return f"RecordPathNotFound: {display}: the JSON body has no {where!r}{held}"
        if not isinstance(node, list):
            return (
                f"RecordPathNotFound: {display}: {'.'.join(record_path) or 'the body'} is "
                f"{type(node).__name__}, not an array of records{_held_note(document, record_path)}"
            )
        meta = {
            path: _header(fetched.headers, path[len(HEADER_META):]) if path.startswith(HEADER_META)
            else _lookup(document, path)
            for path in meta_paths
        }
        page_id = state.next_page_id
        state.next_page_id += 1
        state.pages[page_id] = node
        if not node:
            beside = held_arrays(document, record_path)
            if beside:
                state.held[page_id] = beside
        return PageOk(
            page_id=page_id,
            status=fetched.status,
            record_count=len(node),
            meta_json=orjson.dumps(meta).decode("utf-8"),
        )

    def log(self, level: str, message: str) -> None:
        """``host.log``: keep a bounded number of bounded lines and forward them to logging."""
        state = self._require()
        if len(state.logs) >= self.manifest.limits.max_log_lines:
            state.dropped_logs += 1
            return
        mask = self.client.mask
        mask.refresh()
        line = LogLine(level=level[:16], message=mask.text(message[:MAX_LOG_LINE]))
        state.logs.append(line)
        context = state.budget.context
        logger.log(
            _LEVELS.get(line.level.lower(), logging.INFO),
            "[%s/%s v%s %s] %s",
            context.tenant,
            context.sdk_name,
            context.sdk_version,
            context.operation,
            line.message,
        )

    def guest_wait(self, seconds: float) -> str:
        """The guest asked to sleep / wait: refuse it (blocking the host is not allowed); returns why."""
        state = self._require()
        remaining = state.budget.remaining()
        if seconds >= remaining:
            error: SandboxViolation = DeadlineExceeded(
                f"the guest asked to wait {seconds:.3f}s (time.sleep / select) with {max(remaining, 0):.3f}s "
                f"left before the call's deadline of {self.manifest.limits.deadline_seconds:g}s",
                context=state.budget.context,
            )
        else:
            error = GuestTrap(
                f"the guest asked to wait {seconds:.3f}s (time.sleep / select): waiting is not available in "
                "the sandbox; the host paces and retries requests itself",
                context=state.budget.context,
            )
        self.remember(error)
        return f"{error.kind}: {error.detail}"

    def _fetch(self, request: GuestRequest) -> FetchedResponse | str:
        state = self._require()
        try:
            fetched = self.client.request(
                state.budget, request.method, request.url, request.headers, request.body
            )
            if self.client.mask.active and self.client.mask.found_in(fetched.body):
                state.echoed_secret = True
            return fetched
        except SandboxViolation as exc:
            self.remember(exc)
            return f"{exc.kind}: {exc.detail}"
        except UpstreamError as exc:
            self.remember(exc)
            return f"UpstreamError: {exc.detail}"
        except CredentialError as exc:
            self.remember(exc)
            return f"CredentialError: {exc.message}"
        except SandboxError as exc:
            self.remember(exc)
            return f"{type(exc).__name__}: {exc.detail}"
        except Exception as exc:  # a bug on the host side: never let it reach the guest as a trap
            if state.internal is None:
                state.internal = exc
            return "HostError: internal error of the host; the call will fail"


def _http_error(fetched: FetchedResponse) -> str:
    try:
        reason = HTTPStatus(fetched.status).phrase
    except ValueError:
        reason = "Unknown"
    snippet = fetched.text()[:_ERROR_SNIPPET].replace("\r", " ").replace("\n", " ")
    return f"HttpError: {fetched.status} {reason}: {snippet}"


def _held_note(document: Any, record_path: list[str]) -> str:
    held = held_arrays(document, record_path)
    return f"; the response held {describe_held(held)}" if held else ""


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    """A response header's value (first match, case-insensitive)."""
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)


def _lookup(document: Any, path: str) -> Any:
    """Value at a dotted ``path``; keys may contain dots themselves (``@odata.nextLink``); integer parts
    index arrays, negative ones from the end (``data.-1.id`` is the id of the last record)."""
    node = document
    rest = path
    while rest:
        if isinstance(node, list):
            part, _, after = rest.partition(".")
            try:
                node, rest = node[int(part)], after
            except (ValueError, IndexError):
                return None
            continue
        if not isinstance(node, dict):
            return None
        if rest in node:
            return node[rest]
        for index in range(len(rest)):
            if rest[index] == "." and rest[:index] in node:
                node, rest = node[rest[:index]], rest[index + 1 :]
                break
        else:
            return None
    return node
