"""One SDK session: a guest bound to host services, called once per page."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Protocol

import orjson
from pydantic import ValidationError

from erp_platform._errors import ErpPlatformError, InvalidInputError
from erp_platform.sandbox._errors import (
    CallContext,
    EmptySelectionError,
    InvalidGuestOutput,
    OutputTooLarge,
    SandboxClosed,
    SdkCallError,
)
from erp_platform.sandbox._host import CallState, HostBridge
from erp_platform.sandbox._manifest import SandboxLimits, SdkManifest
from erp_platform.sandbox._normalise import normalise_records
from erp_platform.sandbox._paging import PagingGuard
from erp_platform.sandbox._protocol import PARAM_NEXT, GuestError, GuestPage
from erp_platform.sandbox._results import CallStats, LogLine, PageResult, RawPageResult
from erp_platform.sandbox._runtime import GuestOutcome
from erp_platform.sandbox._selection import describe_held, held_arrays
from erp_platform.sandbox._services import HostServices


class _Guest(Protocol):
    def call(self, export: str, args: tuple[str, ...], context: CallContext) -> GuestOutcome: ...

    def close(self) -> None: ...


class GuestSource(Protocol):
    """A compiled guest: a :class:`LoadedComponent` (WebAssembly) or a :class:`NativeComponent`."""

    runner: str

    def open_guest(self, bridge: HostBridge, limits: SandboxLimits) -> _Guest: ...


@dataclass(frozen=True)
class _RawPage:
    """A validated guest page whose records are not normalised yet."""

    context: CallContext
    page: GuestPage
    records: list[dict[str, Any]]
    held: bool  # host-held records (normalised by the host) or the guest's own
    outcome: GuestOutcome
    state: CallState
    started: float
    note: str | None = None  # why paging ended early (a repeated page)


class SdkSession:
    """Calls one SDK for one tenant (one activity); host functions are bound to this session only.

    Not thread-safe: use one session per thread. Every ``call`` runs in a fresh guest instance, so a
    violation never leaks into the next call; errors raised name tenant, SDK, version and operation.
    """

    def __init__(
        self,
        manifest: SdkManifest,
        component: GuestSource,
        services: HostServices | None = None,
    ) -> None:
        self.manifest = manifest
        self._runner = component.runner
        self._bridge = HostBridge(manifest, services or HostServices())
        self._mask = self._bridge.client.mask
        try:
            self._guest = component.open_guest(self._bridge, manifest.limits)
        except BaseException:
            self._bridge.close()
            raise
        self._busy = threading.Lock()
        self._closed = False
        self._paging = PagingGuard(self._context)

    def __enter__(self) -> SdkSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the guest's linker and the HTTP connections; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._guest.close()
        self._bridge.close()

    def _context(self, operation: str) -> CallContext:
        m = self.manifest
        return CallContext(
            tenant=m.tenant, sdk_name=m.sdk_name, sdk_version=m.sdk_version, operation=operation
        )

    def describe(self) -> dict[str, Any]:
        """The SDK's self-description (``describe`` export) as a dict."""
        context = self._context("describe")
        with self._masked():
            outcome, state = self._run("describe", (), context)
            self._raise_failures(outcome, state)
        text = self._check_size(outcome.text, context)
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InvalidGuestOutput(
                f"describe returned text that is not JSON ({exc})", context=context
            ) from None
        if not isinstance(value, dict):
            raise InvalidGuestOutput(
                f"describe returned a JSON {type(value).__name__}, not an object", context=context
            )
        return value

    def call(self, operation: str, params: Mapping[str, Any] | None = None) -> PageResult:
        """Run ``operation`` for one page and return its normalised records and continuation token.

        Raises:
            SandboxViolation: the guest broke a rule (egress, fuel, memory, deadline, output, ...).
            SdkCallError: the guest reported an error (``transient`` when it is retryable).
            UpstreamError: the ERP failed after retries or sent a malformed body.
            NormalisationError: a host-held record does not fit the declared field kinds.
        """
        with self._masked():
            result = self._finish(self._execute(operation, params))
        mask = self._mask
        return replace(result, next=mask.token(result.next), paging_note=mask.optional(result.paging_note))

    def call_raw(
        self, operation: str, params: Mapping[str, Any] | None = None, *, guard: bool = True
    ) -> RawPageResult:
        """Like :meth:`call`, but host-held records come back un-normalised with their field kinds.

        For bulk extraction: the caller normalises whole columns at once (e.g. into a polars frame),
        which is much faster than normalising record by record. ``guard=False`` leaves the paging guard to
        the caller, for pages of one paging run spread over several sessions (:class:`PageReader` guards the
        ordered stream itself).
        """
        with self._masked():
            raw = self._execute(operation, params, guard=guard)
        page = raw.page
        return RawPageResult(
            records=self._mask.value(raw.records) if raw.state.echoed_secret else raw.records,
            fields=dict(page.fields) if raw.held else {},
            normalised=not raw.held,
            next=self._mask.token(page.next),
            status=page.status,
            entity=page.entity,
            stats=self._stats(raw.outcome, raw.state, (time.perf_counter() - raw.started) * 1000),
            paging_note=self._mask.optional(raw.note),
        )

    def fetch_page(self, operation: str, params: dict[str, Any], number: int) -> RawPageResult:
        """One raw page without paging guard: the session as a :class:`PageSource` of a :class:`PageReader`."""
        return self.call_raw(operation, params, guard=False)

    def iter_pages(
        self, operation: str, params: Mapping[str, Any] | None = None, *, max_pages: int | None = None
    ) -> Iterator[PageResult]:
        """Call ``operation`` page after page, following ``next`` until the guest returns None."""
        current = dict(params or {})
        seen: set[str] = set()
        count = 0
        while True:
            page = self.call(operation, current)
            count += 1
            yield page
            if page.next is None or (max_pages is not None and count >= max_pages):
                return
            if page.next in seen:
                raise InvalidGuestOutput(
                    f"the guest returned continuation token {page.next[:80]!r} twice: paging would never end",
                    context=self._context(operation),
                )
            seen.add(page.next)
            current = {**current, PARAM_NEXT: page.next}

    @contextmanager
    def _masked(self) -> Iterator[None]:
        """Where host data leaves the host: errors lose every credential value the session attached."""
        try:
            yield
        except BaseException as exc:
            self._mask.refresh()
            self._mask.error(exc)
            raise

    def _execute(self, operation: str, params: Mapping[str, Any] | None, *, guard: bool = True) -> _RawPage:
        """Run the guest and validate its output; the records are not normalised yet."""
        context = self._context(operation)
        try:
            params_json = orjson.dumps(dict(params or {})).decode("utf-8")
        except TypeError as exc:
            raise InvalidInputError(f"{context}: parameters are not JSON-serialisable ({exc})") from None
        started = time.perf_counter()
        outcome, state = self._run("execute", (operation, params_json), context)
        self._raise_failures(outcome, state)
        text = self._check_size(outcome.text, context)
        if outcome.kind == "err":
            raise SdkCallError(self._guest_error(text, context), context=context)
        try:
            page = GuestPage.model_validate_json(text)
        except ValidationError as exc:
            raise InvalidGuestOutput(
                f"execute returned text that is not a valid GuestPage: {_problems(exc)}", context=context
            ) from None
        if page.host_page is None:
            if page.records == [] and page.result is None and state.last_body:
                _check_guest_selection(context, page.selector, state.last_body)
            raw = _RawPage(context, page, page.records or [], False, outcome, state, started)
            return self._guard(operation, params, raw) if guard else raw
        if page.records is not None:
            raise InvalidGuestOutput(
                "the page has both records and host_page; return one of them", context=context
            )
        held = state.pages.get(page.host_page)
        if held is None:
            fetched = ", ".join(str(p) for p in state.pages) or "none"
            raise InvalidGuestOutput(
                f"host_page {page.host_page} was not fetched in this call (pages fetched: {fetched})",
                context=context,
            )
        if not held and page.host_page in state.held:
            _raise_empty_selection(context, page.selector, state.held[page.host_page])
        raw = _RawPage(context, page, held, True, outcome, state, started)
        return self._guard(operation, params, raw) if guard else raw

    def _guard(self, operation: str, params: Mapping[str, Any] | None, raw: _RawPage) -> _RawPage:
        """Refuse to loop (see :class:`PagingGuard`); a repeated page ends paging with a note."""
        if raw.page.records is None and raw.page.host_page is None:
            return raw  # a single result, not a page of records
        guarded = self._paging.check(operation, params, raw.records, self._mask.token(raw.page.next))
        if guarded.note is None:
            return raw
        return replace(raw, page=raw.page.model_copy(update={"next": None}), records=[], note=guarded.note)

    def _finish(self, raw: _RawPage) -> PageResult:
        """Normalise host-held records and build the result."""
        page = raw.page
        records, result = raw.records, page.result
        if raw.state.echoed_secret:  # the ERP repeated a credential value in a response of this call
            records, result = self._mask.value(records), self._mask.value(result)
        if raw.held:
            records = normalise_records(records, page.fields, context=raw.context)
        return PageResult(
            records=records,
            next=page.next,
            status=page.status,
            entity=page.entity,
            stats=self._stats(raw.outcome, raw.state, (time.perf_counter() - raw.started) * 1000),
            result=result,
            paging_note=raw.note,
        )

    # -- internals ------------------------------------------------------------------------------------

    def _run(
        self, export: str, args: tuple[str, ...], context: CallContext
    ) -> tuple[GuestOutcome, CallState]:
        if self._closed:
            raise SandboxClosed(f"{context}: the session is closed; open a new one")
        if not self._busy.acquire(blocking=False):
            raise ErpPlatformError(
                f"{context}: the session is already running a call; use one session per thread"
            )
        try:
            self._bridge.begin(context)
            try:
                outcome = self._guest.call(export, args, context)
            finally:
                state = self._bridge.end()
            return outcome, state
        finally:
            self._busy.release()

    @staticmethod
    def _raise_failures(outcome: GuestOutcome, state: CallState) -> None:
        if state.internal is not None:
            raise state.internal
        if state.failure is not None:
            raise state.failure from outcome.trap
        if outcome.kind == "trap":
            assert outcome.trap is not None
            raise outcome.trap

    def _check_size(self, text: str, context: CallContext) -> str:
        limit = self.manifest.limits.max_output_bytes
        if len(text) > limit or (len(text) * 4 > limit and len(text.encode("utf-8")) > limit):
            raise OutputTooLarge(
                f"the guest returned {len(text.encode('utf-8')):,} bytes, more than limits.max_output_bytes "
                f"({limit:,}); return fewer records per page or use host-parsed pages",
                context=context,
            )
        return text

    @staticmethod
    def _guest_error(text: str, context: CallContext) -> GuestError:
        try:
            error = GuestError.model_validate_json(text)
        except ValidationError:
            raise InvalidGuestOutput(
                f"execute returned an error that is not GuestError JSON: {text[:200]!r}", context=context
            ) from None
        if len(error.message) > 1000:
            error = error.model_copy(update={"message": error.message[:1000] + "..."})
        return error

    def _stats(self, outcome: GuestOutcome, state: CallState, total_ms: float) -> CallStats:
        budget = state.budget
        logs = list(state.logs)
        if state.dropped_logs:
            logs.append(LogLine("warning", f"{state.dropped_logs} more log lines were dropped"))
        return CallStats(
            runner=self._runner,
            requests=budget.requests,
            attempts=budget.attempts,
            bytes_received=budget.bytes_received,
            http_ms=round(budget.http_seconds * 1000, 3),
            instantiate_ms=round(outcome.instantiate_ms, 3),
            guest_ms=round(outcome.guest_ms, 3),
            total_ms=round(total_ms, 3),
            fuel_used=outcome.fuel_used,
            logs=tuple(logs),
        )


def _raise_empty_selection(
    context: CallContext, selector: list[str] | None, held: tuple[tuple[str, int], ...]
) -> None:
    chosen = ".".join(selector or ()) or "the body"
    raise EmptySelectionError(
        f"the response held {describe_held(held)} but the selector `{chosen}` found no records: the SDK reads "
        f"records from the wrong place. Rebuild it with --set {context.operation}.record_path={held[0][0]} "
        f"(erp sdk build ... --set), or check the response with `erp sdk check {context.tenant} "
        f"{context.sdk_name} {context.operation}`",
        context=context,
        selector=tuple(selector or ()),
        held=held,
    )


def _check_guest_selection(context: CallContext, selector: list[str] | None, body: bytes) -> None:
    """A guest-parsed page with no records: refuse it when the body held records elsewhere."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return
    held = held_arrays(document, selector or [])
    if held:
        _raise_empty_selection(context, selector, held)


def _problems(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        path = ".".join(str(p) for p in error["loc"]) or "(root)"
        parts.append(f"{path}: {error['msg']}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")

