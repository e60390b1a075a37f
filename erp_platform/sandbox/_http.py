"""The host's HTTP client for guests: checks, credentials, caps, rate limits, retries, redirects, audit."""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, urljoin

import httpx

from erp_platform.sandbox._auth import CredentialAttacher, Credentials
from erp_platform.sandbox._egress import CheckedUrl, EgressGuard, origin_text
from erp_platform.sandbox._errors import (
    CallContext,
    DeadlineExceeded,
    EgressDenied,
    RateLimited,
    ResponseTooLarge,
    SandboxError,
    SandboxViolation,
    TooManyRequests,
    UpstreamError,
)
from erp_platform.sandbox._manifest import SdkManifest
from erp_platform.sandbox._masking import SecretMask
from erp_platform.sandbox._network import CheckedBackend, CheckedTransport
from erp_platform.sandbox._recorder import RequestRecord
from erp_platform.sandbox._services import HostServices

MAX_REDIRECTS = 5
USER_AGENT = "erp-platform-sandbox/0.1"
_DEFAULT_HEADERS = (("Accept", "*/*"), ("Accept-Encoding", "gzip, deflate"), ("User-Agent", USER_AGENT))
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_BACKOFF_BASE = 0.25
_BACKOFF_CAP = 8.0
_HIDDEN_RESPONSE_HEADERS = frozenset({"set-cookie", "set-cookie2"})


@dataclass
class CallBudget:
    """Per-call counters and the call's deadline (``time.monotonic()`` based)."""

    context: CallContext
    deadline: float
    requests: int = 0
    attempts: int = 0
    bytes_received: int = 0
    http_seconds: float = 0.0

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


@dataclass(frozen=True)
class FetchedResponse:
    """A complete response (body read within the size cap)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    url: CheckedUrl
    charset: str | None = None

    def text(self) -> str:
        return self.body.decode(self.charset or "utf-8", errors="replace")


@dataclass
class _Attempt:
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    response: FetchedResponse | None = None
    extra: dict[str, str] = field(default_factory=dict)


class EgressClient:
    """Sends one guest request at a time for one session (not thread-safe; one per session)."""

    def __init__(self, manifest: SdkManifest, services: HostServices) -> None:
        self._manifest = manifest
        self._limits = manifest.limits
        self._services = services
        self._guard = EgressGuard(manifest, services.egress_policy, services.resolver)
        self._auth = CredentialAttacher(manifest, services.secrets)
        #: the values of every credential this session attached, hidden wherever host data leaves the host
        self.mask = SecretMask(self._auth.attached)
        self._backend = CheckedBackend(self._guard)
        # The transport is used directly (not through httpx.Client): no cookie jar carries state from one
        # guest request to the next, no proxy from the environment, no request line with query values
        # (API keys) in httpx's log.
        self._transport = services.transport or CheckedTransport(self._backend)
        self._random = random.Random()

    def close(self) -> None:
        """Close pooled connections and give back rate-limit tokens taken ahead and not used."""
        self._transport.close()
        if self._services.rate_limiter is not None:
            self._services.rate_limiter.release()

    def request(
        self,
        budget: CallBudget,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: str | None,
    ) -> FetchedResponse:
        """Check and send one guest request, following redirects (each hop checked again).

        Raises:
            SandboxViolation: egress denied, too many requests, rate limited, response too large, deadline.
            UpstreamError: the ERP failed after retries, or too many redirects.
            CredentialError: a credential the manifest names is missing.
        """
        context = budget.context
        budget.requests += 1
        if budget.requests > self._limits.max_requests_per_call:
            error = TooManyRequests(
                f"the SDK made more than {self._limits.max_requests_per_call} HTTP requests in one call "
                "(limits.max_requests_per_call); page through the data with _next instead",
                context=context,
            )
            self._record(budget, method[:10], url, _Attempt(error=_short(error)), seconds=0.0, number=1)
            raise error
        try:
            verb = self._guard.check_method(method, context)
            target = self._guard.resolve_url(url, context)
            self._check_bound_origin(target, context)
            guest_headers = self._guard.check_headers(headers, context, target.display)
        except EgressDenied as exc:
            self._record(budget, method[:10], url, _Attempt(error=_short(exc)), seconds=0.0, number=1)
            raise
        idempotency_key = any(name.lower() == "idempotency-key" for name, _ in guest_headers)
        payload = body.encode("utf-8") if body is not None else None
        for hop in range(MAX_REDIRECTS + 1):
            # credentials go to the exact origin they are bound to, never to a redirect's other origin
            credentialed = target.origin == self._guard.bound_origin
            response = self._send_with_retries(
                budget,
                verb,
                target,
                headers=guest_headers,
                payload=payload,
                credentialed=credentialed,
                idempotency_key=idempotency_key,
            )
            location = _header(response.headers, "location")
            if response.status not in REDIRECT_STATUSES or location is None:
                return response
            if hop == MAX_REDIRECTS:
                break
            try:
                target = self._guard.check_absolute(urljoin(target.url, location), context)
            except EgressDenied as exc:
                self._record(budget, verb, location, _Attempt(error=_short(exc)), seconds=0.0, number=1)
                raise
            if response.status == 303 or (response.status in (301, 302) and verb == "POST"):
                verb, payload = "GET", None
        raise UpstreamError(
            f"{method} {target.display}: more than {MAX_REDIRECTS} redirects; check the SDK's base URL",
            context=context,
            transient=False,
        )

    def _check_bound_origin(self, target: CheckedUrl, context: CallContext) -> None:
        """Refuse a request of a credentialed SDK to any origin but the one its credentials are bound to.

        The guest builds next-page requests from links the ERP returned (or a ``_next`` token a caller
        passed): one pointing at another port, scheme or host of the SDK's allowed domains would otherwise
        carry the tenant's credentials there.
        """
        bound = self._guard.bound_origin
        if target.origin == bound or not self._auth.needed:
            return
        raise EgressDenied(
            f"egress denied for {target.display}: origin {origin_text(target.origin)} is not "
            f"{origin_text(bound)}, the origin the SDK's credentials are bound to (its base URL). A next-page "
            "link or `_next` token pointing at another origin is refused, so that credentials never leave "
            "their origin; if the ERP moved, build the SDK again with --base-url",
            context=context,
        )

    def _send_with_retries(
        self,
        budget: CallBudget,
        method: str,
        target: CheckedUrl,
        *,
        headers: list[tuple[str, str]],
        payload: bytes | None,
        credentialed: bool,
        idempotency_key: bool,
    ) -> FetchedResponse:
        context = budget.context
        creds = self._auth.credentials() if credentialed else Credentials()
        self.mask.refresh()
        send_headers = [*headers, *self._auth.constant_headers(), *creds.headers]
        url = _with_query(target.url, creds.query)
        retryable = method in _IDEMPOTENT or idempotency_key
        attempts = 1 + (self._limits.max_retries if retryable else 0)
        last = _Attempt()
        for attempt in range(1, attempts + 1):
            remaining = budget.remaining()
            if remaining <= 0:
                raise DeadlineExceeded(
                    f"{method} {target.display}: the call's deadline of {self._limits.deadline_seconds:g}s "
                    "passed while the SDK was making HTTP requests",
                    context=context,
                )
            if self._services.rate_limiter is not None:
                try:
                    self._services.rate_limiter.acquire(self._manifest.tenant)
                except RateLimited as exc:
                    error = RateLimited(f"{method} {target.display}: {exc.detail}", context=context)
                    denied = _Attempt(error=_short(error))
                    self._record(budget, method, target, denied, seconds=0.0, number=attempt)
                    raise error from None
            started = time.monotonic()
            try:
                last = self._attempt(
                    budget, method, target, url=url, headers=send_headers, payload=payload
                )
            except SandboxViolation as exc:
                self._record(budget, method, target, _Attempt(error=_short(exc)), seconds=0.0, number=attempt)
                raise
            elapsed = time.monotonic() - started
            budget.attempts += 1
            budget.http_seconds += elapsed
            self._record(budget, method, target, last, seconds=elapsed, number=attempt)
            if last.response is not None and last.status not in RETRY_STATUSES:
                return last.response
            if attempt == attempts:
                break
            delay = self._delay(attempt, last.retry_after)
            if delay >= budget.remaining():
                raise DeadlineExceeded(
                    f"{method} {target.display}: gave up after {_attempts(attempt)} ({_outcome(last)}): "
                    f"the next retry in {delay:.2f}s would pass the call's deadline of "
                    f"{self._limits.deadline_seconds:g}s",
                    context=context,
                )
            self._services.sleep(delay)
        if last.response is not None and not retryable:
            return last.response
        raise UpstreamError(
            f"{method} {target.display} failed after {_attempts(attempts)}: {_outcome(last)}; the ERP is "
            "unavailable or overloaded, retry later",
            context=context,
            status=last.status,
            transient=True,
        )

    def _attempt(
        self,
        budget: CallBudget,
        method: str,
        target: CheckedUrl,
        *,
        url: str,
        headers: list[tuple[str, str]],
        payload: bytes | None,
    ) -> _Attempt:
        timeout = max(0.001, min(self._limits.request_timeout_seconds, budget.remaining()))
        cap = self._limits.max_response_bytes
        self._backend.bind(budget.context, f"{method} {target.display}")
        request = httpx.Request(
            method,
            url,
            headers=[*_defaults_for(headers), *headers],
            content=payload,
            extensions={"timeout": httpx.Timeout(timeout).as_dict()},
        )
        started = time.monotonic()
        try:
            response = self._transport.handle_request(request)
        except httpx.TimeoutException as exc:
            return _Attempt(error=f"{type(exc).__name__} after {timeout:g}s")
        except httpx.TransportError as exc:
            return _Attempt(error=f"{type(exc).__name__}: {self.mask.text(str(exc))}"[:300])
        try:
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > cap:
                raise self._too_large(budget, method, target, f"declares {int(declared)} bytes")
            chunks: list[bytes] = []
            total = 0
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > cap:
                    raise self._too_large(budget, method, target, f"exceeded {cap} bytes while downloading")
                chunks.append(chunk)
                if time.monotonic() - started > timeout:
                    raise httpx.ReadTimeout("body download too slow", request=request)
        except httpx.TimeoutException as exc:
            return _Attempt(status=None, error=f"{type(exc).__name__} after {timeout:g}s")
        except httpx.TransportError as exc:
            return _Attempt(error=f"{type(exc).__name__}: {self.mask.text(str(exc))}"[:300])
        except httpx.DecodingError as exc:
            return _Attempt(error=f"{type(exc).__name__}: {self.mask.text(str(exc))}"[:300])
        finally:
            response.close()
        budget.bytes_received += total
        fetched = FetchedResponse(
            status=response.status_code,
            headers=[
                (k, v) for k, v in response.headers.multi_items() if k.lower() not in _HIDDEN_RESPONSE_HEADERS
            ],
            body=b"".join(chunks),
            url=target,
            charset=response.charset_encoding,
        )
        return _Attempt(
            status=response.status_code,
            response=fetched,
            retry_after=_retry_after(response.headers.get("retry-after")),
        )

    def _too_large(self, budget: CallBudget, method: str, target: CheckedUrl, what: str) -> ResponseTooLarge:
        return ResponseTooLarge(
            f"{method} {target.display}: the response {what}, more than limits.max_response_bytes "
            f"({self._limits.max_response_bytes}); request smaller pages",
            context=budget.context,
        )

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self._limits.max_retry_after_seconds)
        ceiling: float = min(_BACKOFF_CAP, _BACKOFF_BASE * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + self._random.random() / 2)

    def _record(
        self,
        budget: CallBudget,
        method: str,
        target: CheckedUrl | str,
        attempt: _Attempt,
        *,
        seconds: float,
        number: int,
    ) -> None:
        recorder = self._services.recorder
        if recorder is None:
            return
        context = budget.context
        if isinstance(target, CheckedUrl):
            host, path, keys = target.netloc, target.path, target.query_keys
        else:
            host, path, keys = self._guard.rough_parts(target)
        mask = self.mask
        mask.refresh()
        recorder.record(
            RequestRecord(
                tenant=context.tenant,
                sdk_name=context.sdk_name,
                sdk_version=context.sdk_version,
                operation=context.operation,
                method=method,
                host=mask.text(host),
                path=mask.text(path),
                query_keys=tuple(mask.text(key) for key in keys),
                status=attempt.status,
                bytes=len(attempt.response.body) if attempt.response is not None else 0,
                ms=round(seconds * 1000, 3),
                attempt=number,
                error=mask.optional(attempt.error),
            )
        )


def _defaults_for(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    present = {name.lower() for name, _ in headers}
    return [(name, value) for name, value in _DEFAULT_HEADERS if name.lower() not in present]


def _attempts(count: int) -> str:
    return f"{count} attempt{'s' if count != 1 else ''}"


def _outcome(attempt: _Attempt) -> str:
    if attempt.status is not None:
        return f"HTTP {attempt.status}"
    return attempt.error or "no response"


def _short(error: SandboxError) -> str:
    return f"{type(error).__name__}: {error.detail}"[:500]


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name), None)


def _with_query(url: str, query: tuple[tuple[str, str], ...]) -> str:
    if not query:
        return url
    extra = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
    return f"{url}{'&' if '?' in url else '?'}{extra}"


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
