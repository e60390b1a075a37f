"""Every page of one operation, in paging order, fetched up to N pages at a time where paging allows it.

With positional paging (page numbers, ``$skip``, offsets) the request of the page after a full page is known
before that page is parsed, so the reader fetches the next pages ahead, each in a session of its own (its own
guest instance, HTTP client and call budget: every request still passes the session's egress checks,
credentials, rate limit and request trail). Pages come out strictly in order, and each prefetched page is
used only if the page before it returned exactly the token it was fetched with; otherwise it is dropped
(with any error it raised) and paging goes on from the token the ERP really returned. The stream is what
sequential paging would return, paging guards included. Cursors and next links are read one page at a time.

Pages come from a :class:`PageSource`: an :class:`~erp_platform.sandbox.SdkSession` (raw pages), or anything
that fetches a page through one and hands back a page the guard can compare (a typed frame built beside
the fetch, in this process or in a page worker process).
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from erp_platform._errors import InvalidInputError
from erp_platform.sandbox._errors import CallContext
from erp_platform.sandbox._paging import PageShape, PagingGuard, following_token
from erp_platform.sandbox._protocol import PARAM_NEXT

if TYPE_CHECKING:
    from erp_platform.sandbox._manifest import SdkManifest

#: Most pages one reader fetches at once.
MAX_PARALLEL_PAGES = 16

P = TypeVar("P", bound="FetchedPage")
P_co = TypeVar("P_co", bound="FetchedPage", covariant=True)


class FetchedPage(Protocol):
    """A page as the reader hands it out: its continuation token and what the paging guard compares."""

    @property
    def next(self) -> str | None: ...

    def paging_shape(self) -> PageShape | None: ...

    def ended(self, note: str) -> FetchedPage:
        """The page as paging ends at it (it repeated the page before): no records, no next token."""
        ...


class PageSource(Protocol[P_co]):
    """Fetches single pages of an SDK's operations (one fetch at a time); an SdkSession is one."""

    @property
    def manifest(self) -> SdkManifest: ...

    def fetch_page(self, operation: str, params: dict[str, Any], number: int) -> P_co:
        """One page, fetched with ``params`` (``_next`` included); ``number`` is its place in the stream
        (1-based, for messages), without paging guard: the reader guards the ordered stream."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class _Fetch(Generic[P]):
    token: str | None
    future: Future[P]


class PageReader(Generic[P]):
    """Reads one operation page after page (``parallel`` pages at once where paging allows), in order.

    ``open_source`` (usually opening an SdkSession) is called on the reader's thread (up to ``parallel``
    times, only as sources are needed); the sources are closed with the reader. ``start`` continues a paging
    run from a continuation token (a resumed extract); ``None`` starts at the first page. Use it as a context
    manager::

        with PageReader(open_session, "list_customers", {"_page_size": 1000}, page_size=1000, parallel=4) as r:
            for page in r:
                ...

    Raises (while iterating): what :meth:`SdkSession.call_raw` raises for a page that is used, and
    ``PagingLoopError`` when paging would never end.
    """

    def __init__(
        self,
        open_source: Callable[[], PageSource[P]],
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
        self._open_source = open_source
        self._operation = operation
        self._params = {k: v for k, v in params.items() if k != PARAM_NEXT}
        self._page_size = page_size
        self._parallel = parallel
        self._start = start
        self._max_pages = max_pages
        self._sources: list[PageSource[P]] = []
        self._free: queue.SimpleQueue[PageSource[P]] = queue.SimpleQueue()
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="erp-page-reader")
        self._guard: PagingGuard | None = None
        self._closed = False
        self._lock = threading.Lock()
        self.pages_fetched = 0  # requests made for pages, used or dropped

    def __enter__(self) -> PageReader[P]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Wait for fetches in flight, then close every source (flushing its request trail); idempotent."""
        if self._closed:
            return
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        with ExitStack() as closing:  # every source is closed even if one fails
            for source in self._sources:
                closing.callback(source.close)

    def __iter__(self) -> Iterator[P]:
        if self._closed:
            raise InvalidInputError("the page reader is closed; open a new one")
        manifest = self._source_for_submit().manifest
        self._guard = PagingGuard(
            lambda operation: CallContext(
                tenant=manifest.tenant, sdk_name=manifest.sdk_name, sdk_version=manifest.sdk_version,
                operation=operation,
            )
        )
        pending: deque[_Fetch[P]] = deque()
        used = 0
        pending.append(self._submit(self._start, 1))
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
                    pending.append(self._submit(following, used + 1))
                self._top_up(pending, used)
        finally:
            for stale in pending:
                stale.future.cancel()

    # -- internals ------------------------------------------------------------------------------------

    def _guarded(self, token: str | None, page: P) -> P:
        assert self._guard is not None
        params = {**self._params, PARAM_NEXT: token} if token is not None else self._params
        note = self._guard.check_shape(self._operation, params, page.paging_shape(), page.next)
        return page if note is None else page.ended(note)  # type: ignore[return-value]

    def _top_up(self, pending: deque[_Fetch[P]], used: int) -> None:
        """Fetch predicted pages after the last one in flight, up to ``parallel`` (and ``max_pages``)."""
        while len(pending) < self._parallel:
            if self._max_pages is not None and used + len(pending) >= self._max_pages:
                return
            predicted = following_token(pending[-1].token, self._page_size) if pending else None
            if predicted is None:
                return
            pending.append(self._submit(predicted, used + len(pending) + 1))

    def _submit(self, token: str | None, number: int) -> _Fetch[P]:
        self._source_for_submit()
        params = {**self._params, PARAM_NEXT: token} if token is not None else dict(self._params)
        with self._lock:
            self.pages_fetched += 1
        return _Fetch(token, self._pool.submit(self._fetch, params, number))

    def _source_for_submit(self) -> PageSource[P]:
        """Open another source (on this thread) while fewer are open than fetches may run at once."""
        if len(self._sources) < self._parallel and self._free.empty():
            source = self._open_source()
            self._sources.append(source)
            self._free.put(source)
            return source
        return self._sources[0]

    def _fetch(self, params: dict[str, Any], number: int) -> P:
        source = self._free.get()
        try:
            return source.fetch_page(self._operation, params, number)
        finally:
            self._free.put(source)
