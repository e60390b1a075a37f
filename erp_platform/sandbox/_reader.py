"""Every page of one operation, in paging order, fetched up to N pages at a time where paging allows it.

With positional paging (page numbers, ``$skip``, offsets) the request of the page after a full page is known
before that page is parsed, so the reader fetches the next pages ahead, each in a session of its own (its own
guest instance, HTTP client and call budget: every request still passes the session's egress checks,
credentials, rate limit and request trail). Pages come out strictly in order, and each prefetched page is
used only if the page before it returned exactly the token it was fetched with; otherwise it is dropped
(with any error it raised) and paging goes on from the token the ERP really returned. The stream is what
sequential paging would return, paging guards included. Cursors and next links are read one page at a time.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from erp_platform._errors import InvalidInputError
from erp_platform.sandbox._errors import CallContext
from erp_platform.sandbox._paging import PagingGuard, following_token
from erp_platform.sandbox._protocol import PARAM_NEXT
from erp_platform.sandbox._results import RawPageResult

if TYPE_CHECKING:
    from erp_platform.sandbox._session import SdkSession

#: Most pages one reader fetches at once.
MAX_PARALLEL_PAGES = 16


@dataclass(frozen=True)
class _Fetch:
    token: str | None
    future: Future[RawPageResult]


class PageReader:
    """Reads one operation page after page (``parallel`` pages at once where paging allows), in order.

    ``open_session`` is called on the reader's thread (up to ``parallel`` times, only as sessions are needed);
    the sessions are closed with the reader. ``start`` continues a paging run from a continuation token (a
    resumed extract); ``None`` starts at the first page. Use it as a context manager::

        with PageReader(open_session, "list_customers", {"_page_size": 1000}, page_size=1000, parallel=4) as r:
            for page in r:
                ...

    Raises (while iterating): what :meth:`SdkSession.call_raw` raises for a page that is used, and
    ``PagingLoopError`` when paging would never end.
    """

    def __init__(
        self,
        open_session: Callable[[], SdkSession],
        operation: str,
        params: Mapping[str, Any],
        *,
        page_size: int,
        parallel: int = 1,
        start: str | None = None,
        max_pages: int | None = None,
    ) -> None:
        if isinstance(parallel, bool) or not 1 <= parallel <= MAX_PARALLEL_PAGES:
            raise InvalidInputError(
                f"parallel must be an integer from 1 to {MAX_PARALLEL_PAGES} (pages fetched at once), got {parallel!r}"
            )
        self._open_session = open_session
        self._operation = operation
        self._params = {k: v for k, v in params.items() if k != PARAM_NEXT}
        self._page_size = page_size
        self._parallel = parallel
        self._start = start
        self._max_pages = max_pages
        self._sessions: list[SdkSession] = []
        self._free: queue.SimpleQueue[SdkSession] = queue.SimpleQueue()
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="erp-page-reader")
        self._guard: PagingGuard | None = None
        self._closed = False
        self._lock = threading.Lock()
        self.pages_fetched = 0  # requests made for pages, used or dropped

    def __enter__(self) -> PageReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Wait for fetches in flight, then close every session (flushing its request trail); idempotent."""
        if self._closed:
            return
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        errors: list[BaseException] = []
        for session in self._sessions:
            try:
                session.close()
            except Exception as exc:  # close every session even if one fails
                errors.append(exc)
        if errors:
            raise errors[0]

    def __iter__(self) -> Iterator[RawPageResult]:
        if self._closed:
            raise InvalidInputError("the page reader is closed; open a new one")
        manifest = self._session_for_submit().manifest
        self._guard = PagingGuard(
            lambda operation: CallContext(
                tenant=manifest.tenant, sdk_name=manifest.sdk_name, sdk_version=manifest.sdk_version,
                operation=operation,
            )
        )
        pending: deque[_Fetch] = deque()
        used = 0
        pending.append(self._submit(self._start))
        self._top_up(pending, used)
        try:
            while pending:
                fetch = pending.popleft()
                page = fetch.future.result()
                page = self._guarded(fetch.token, page)
                used += 1
                yield page
                following = page.next
                if following is None or (self._max_pages is not None and used >= self._max_pages):
                    return
                if not pending or pending[0].token != following:
                    pending.clear()  # predictions that missed: dropped, with whatever they raise
                    pending.append(self._submit(following))
                self._top_up(pending, used)
        finally:
            for stale in pending:
                stale.future.cancel()

    # -- internals ------------------------------------------------------------------------------------

    def _guarded(self, token: str | None, page: RawPageResult) -> RawPageResult:
        assert self._guard is not None
        params = {**self._params, PARAM_NEXT: token} if token is not None else self._params
        checked = self._guard.check(self._operation, params, page.records, page.next)
        if checked.note is None:
            return page
        return replace(page, records=checked.records, next=None, paging_note=checked.note)

    def _top_up(self, pending: deque[_Fetch], used: int) -> None:
        """Fetch predicted pages after the last one in flight, up to ``parallel`` (and ``max_pages``)."""
        while len(pending) < self._parallel:
            if self._max_pages is not None and used + len(pending) >= self._max_pages:
                return
            predicted = following_token(pending[-1].token, self._page_size) if pending else None
            if predicted is None:
                return
            pending.append(self._submit(predicted))

    def _submit(self, token: str | None) -> _Fetch:
        self._session_for_submit()
        params = {**self._params, PARAM_NEXT: token} if token is not None else dict(self._params)
        with self._lock:
            self.pages_fetched += 1
        return _Fetch(token, self._pool.submit(self._fetch, params))

    def _session_for_submit(self) -> SdkSession:
        """Open another session (on this thread) while fewer are open than fetches may run at once."""
        if len(self._sessions) < self._parallel and self._free.empty():
            session = self._open_session()
            self._sessions.append(session)
            self._free.put(session)
            return session
        return self._sessions[0]

    def _fetch(self, params: dict[str, Any]) -> RawPageResult:
        session = self._free.get()
        try:
            return session.call_raw(self._operation, params, guard=False)
        finally:
            self._free.put(session)
