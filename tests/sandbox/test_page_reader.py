"""PageReader: every page of an operation in paging order, several fetched at once where paging is positional.

A real SDK is generated and compiled (componentize-py, cached by hash) from a small OpenAPI spec and run by
wasmtime, one guest per session; the ERP is an httpx transport answering each request from its URL (called
from the reader's threads, so it counts how many requests run at once).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from erp_platform._errors import ErpPlatformError, InvalidInputError
from erp_platform.orchestration._page_workers import FrameSource
from erp_platform.sandbox import (
    EgressPolicy,
    HostServices,
    InMemoryRateLimiter,
    InMemoryRequestRecorder,
    LoadedComponent,
    PageReader,
    PagingLoopError,
    SandboxClosed,
    SandboxRuntime,
    SdkCallError,
    SdkSession,
)
from sdk_builder import build_sdk

THING = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
REF = {"$ref": "#/components/schemas/Thing"}
SPEC: dict[str, Any] = {
    "openapi": "3.0.0",
    "info": {"title": "Reader ERP", "version": "1"},
    "servers": [{"url": "https://erp.reader-ag.de/api"}],
    "components": {"schemas": {"Thing": THING}},
    "paths": {
        "/things": {"get": {"operationId": "listThings", "parameters": [
            {"name": "page", "in": "query", "schema": {"type": "integer"}},
            {"name": "pageSize", "in": "query", "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "page": {"type": "integer"}, "pageSize": {"type": "integer"}, "pageCount": {"type": "integer"},
                    "totalCount": {"type": "integer"}, "items": {"type": "array", "items": REF}}}}}}}}},
        "/rows": {"get": {"operationId": "listRows", "parameters": [
            {"name": "offset", "in": "query", "schema": {"type": "integer"}},
            {"name": "limit", "in": "query", "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"rows": {"type": "array", "items": REF}}}}}}}}},
        "/cursors": {"get": {"operationId": "listCursors", "parameters": [
            {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"cursors": {"type": "array", "items": REF},
                                                 "next_cursor": {"type": "string"}}}}}}}}},
    },
}
TOTAL = 95  # records the ERP holds
SIZE = 10  # records per page


def things(first: int, count: int) -> list[dict[str, Any]]:
    return [{"id": n, "name": f"thing {n}"} for n in range(first, first + count)]


class Erp:
    """Answers from the URL; counts requests and the most that ran at once; optional delay per page."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response],
                 delay: Callable[[httpx.Request], float] = lambda _r: 0.0) -> None:
        self._answer, self._delay = answer, delay
        self._lock = threading.Lock()
        self.running = self.most = 0
        self.urls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.urls.append(str(request.url))
        try:
            time.sleep(self._delay(request))
            return self._answer(request)
        finally:
            with self._lock:
                self.running -= 1


def numbered(request: httpx.Request) -> httpx.Response:
    """Page-number paging with pageCount; pages past the end are a 400 (as some ERPs answer)."""
    page, size = int(request.url.params["page"]), int(request.url.params["pageSize"])
    count = -(-TOTAL // size)
    if page > count:
        return httpx.Response(400, json={"error": f"page {page} is past the last page {count}"})
    first = (page - 1) * size + 1
    body = {"page": page, "pageSize": size, "pageCount": count, "totalCount": TOTAL,
            "items": things(first, min(size, TOTAL - first + 1))}
    return httpx.Response(200, json=body)


@pytest.fixture(scope="module")
def reader_sdk(wasm_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("reader") / "reader.json"
    path.write_text(json.dumps(SPEC))
    return build_sdk(path, cache_dir=wasm_cache)


@pytest.fixture(scope="module")
def component(reader_sdk: Any, runtime: SandboxRuntime) -> LoadedComponent:
    return runtime.load_component(reader_sdk.wasm_path)


class Opener:
    """``open_session`` for a reader: sessions of one tenant, all on the same ERP, limiter and recorder."""

    def __init__(self, sdk: Any, component: LoadedComponent, erp: Erp, tenant: str = "acme",
                 limiter: InMemoryRateLimiter | None = None) -> None:
        self.sdk, self.component, self.erp, self.tenant = sdk, component, erp, tenant
        self.limiter = limiter or InMemoryRateLimiter(rate=1000, burst=1000)
        self.recorder = InMemoryRequestRecorder()
        self.opened: list[SdkSession] = []

    def __call__(self) -> SdkSession:
        services = HostServices(secrets=lambda name: "x", egress_policy=EgressPolicy(),
                                transport=httpx.MockTransport(self.erp), sleep=lambda _s: None,
                                rate_limiter=self.limiter, recorder=self.recorder)
        session = SdkSession(self.sdk.spec.to_manifest(self.tenant, "reader", 1), self.component, services)
        self.opened.append(session)
        return session


@pytest.fixture
def opener(reader_sdk: Any, component: LoadedComponent) -> Iterator[Callable[..., Opener]]:
    made: list[Opener] = []

    def make(erp: Erp, **options: Any) -> Opener:
        made.append(Opener(reader_sdk, component, erp, **options))
        return made[-1]

    yield make
    for one in made:
        for session in one.opened:
            session.close()


def read(open_session: Opener, operation: str = "list_things", **options: Any) -> list[Any]:
    options.setdefault("page_size", SIZE)
    with PageReader(open_session, operation, {"_page_size": options["page_size"]}, **options) as reader:
        return list(reader)


def assert_closed(sessions: list[SdkSession]) -> None:
    for session in sessions:
        with pytest.raises(SandboxClosed):
            session.describe()


def ids(pages: list[Any]) -> list[int]:
    return [record["id"] for page in pages for record in page.records]


def test_decisions_of_the_small_spec(reader_sdk: Any) -> None:
    spec = reader_sdk.spec
    assert spec.operation("list_things").pagination.style == "page"
    assert spec.operation("list_rows").pagination.style == "offset_limit"
    assert spec.operation("list_cursors").pagination.style == "cursor"


def test_parallel_pages_come_out_in_order_with_every_record_once(opener: Callable[..., Opener]) -> None:
    # earlier pages answer slower, so later pages finish first
    erp = Erp(numbered, delay=lambda r: 0.02 * max(0, 6 - int(r.url.params["page"]) % 6))
    open_session = opener(erp)
    pages = read(open_session, parallel=4)
    assert ids(pages) == list(range(1, TOTAL + 1))
    assert [p.next for p in pages] == [f"P{n}" for n in range(2, 11)] + [None]
    assert erp.most > 1 and len(open_session.opened) <= 4
    # past the last page: at most parallel - 1 requests, whose 400 answers were dropped unused
    assert 10 <= len(erp.urls) <= 13
    assert_closed(open_session.opened)


def test_the_same_records_one_page_at_a_time(opener: Callable[..., Opener]) -> None:
    erp = Erp(numbered)
    open_session = opener(erp)
    pages = read(open_session, parallel=1)
    assert ids(pages) == list(range(1, TOTAL + 1))
    assert erp.most == 1 and len(erp.urls) == 10 and len(open_session.opened) == 1


def test_offsets_are_fetched_ahead_and_a_short_page_ends_paging(opener: Callable[..., Opener]) -> None:
    def rows(request: httpx.Request) -> httpx.Response:
        offset, limit = int(request.url.params.get("offset", "0")), int(request.url.params["limit"])
        return httpx.Response(200, json={"rows": things(offset + 1, max(0, min(limit, TOTAL - offset)))})

    erp = Erp(rows, delay=lambda _r: 0.01)
    pages = read(opener(erp), "list_rows", parallel=3)
    assert ids(pages) == list(range(1, TOTAL + 1))
    assert [p.next for p in pages][:3] == ["O10", "O20", "O30"] and pages[-1].next is None
    assert erp.most > 1


def test_a_resumed_read_starts_at_its_token_and_max_pages_bounds_it(opener: Callable[..., Opener]) -> None:
    erp = Erp(numbered)
    pages = read(opener(erp), parallel=4, start="P4", max_pages=3)
    assert ids(pages) == list(range(31, 61))
    assert pages[-1].next == "P7"
    assert sorted(int(u.split("page=")[1].split("&")[0]) for u in erp.urls) == [4, 5, 6]


def test_cursors_are_read_one_page_at_a_time(opener: Callable[..., Opener]) -> None:
    def cursors(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get("cursor", "1"))
        following = {"next_cursor": str(start + 2)} if start < 9 else {}
        return httpx.Response(200, json={"cursors": things(start, 2), **following})

    erp = Erp(cursors, delay=lambda _r: 0.01)
    open_session = opener(erp)
    pages = read(open_session, "list_cursors", parallel=8)
    assert ids(pages) == list(range(1, 11))
    assert erp.most == 1 and len(erp.urls) == 5 and len(open_session.opened) == 1


def test_an_error_on_a_page_that_is_used_fails_the_read(opener: Callable[..., Opener]) -> None:
    def failing(request: httpx.Request) -> httpx.Response:
        if request.url.params["page"] == "3":
            return httpx.Response(404, json={"error": "gone"})
        return numbered(request)

    open_session = opener(Erp(failing))
    seen: list[int] = []
    reader = PageReader(open_session, "list_things", {"_page_size": SIZE}, page_size=SIZE, parallel=4)
    with pytest.raises(SdkCallError) as caught, reader:
        seen.extend(record["id"] for page in reader for record in page.records)
    assert seen == list(range(1, 21))  # pages 1 and 2, then the error of page 3 (pages 4-6 were fetched ahead)
    assert str(caught.value) == (
        "tenant 'acme', SDK 'reader' v1, operation 'list_things': the SDK reported http_error (HTTP 404): operation "
        "'list_things': HttpError: 404 Not Found: {\"error\":\"gone\"}"
    )
    assert_closed(open_session.opened)


def test_a_repeated_page_ends_the_ordered_stream_with_a_note(opener: Callable[..., Opener]) -> None:
    """An ERP that ignores the page parameter: the guard sees the pages in order, across sessions."""

    def static(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"page": 1, "pageSize": SIZE, "pageCount": 10, "items": things(1, SIZE)})

    pages = read(opener(Erp(static)), parallel=4)
    assert ids(pages) == list(range(1, SIZE + 1))
    assert pages[-1].next is None and pages[-1].records == []
    assert pages[-1].paging_note == (
        "page 2 of operation 'list_things' repeated page 1 (10 records, the same first and last record): the ERP "
        "does not advance on the continuation (page 2); paging ended after page 1"
    )


def test_a_continuation_token_seen_before_fails_the_ordered_stream(opener: Callable[..., Opener]) -> None:
    def looping(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        start = {None: 1, "A": 3, "B": 5}[cursor]
        return httpx.Response(200, json={"cursors": things(start, 2), "next_cursor": "B" if cursor == "A" else "A"})

    with pytest.raises(PagingLoopError):
        read(opener(Erp(looping)), "list_cursors", parallel=4)


def test_every_parallel_request_counts_against_the_tenants_own_rate_limit(opener: Callable[..., Opener]) -> None:
    """Tenant acme reads with 4 pages at once; each request takes a token of acme's bucket, none of globex's."""
    taken: dict[str, int] = {}
    lock = threading.Lock()

    class CountingLimiter(InMemoryRateLimiter):
        def acquire(self, tenant: str, n: int = 1) -> None:
            with lock:
                taken[tenant] = taken.get(tenant, 0) + n
            super().acquire(tenant, n)

    limiter = CountingLimiter(rate=1000, burst=1000)
    erp = Erp(numbered)
    read(opener(erp, tenant="acme", limiter=limiter), parallel=4)
    assert taken == {"acme": len(erp.urls)}
    read(opener(Erp(numbered), tenant="globex", limiter=limiter), parallel=1)
    assert taken["globex"] == 10 and taken["acme"] == len(erp.urls)


def test_closing_the_reader_gives_back_rate_limit_tokens_taken_ahead(opener: Callable[..., Opener]) -> None:
    """Each session's HTTP client releases the limiter when it closes (a leasing limiter returns unused tokens)."""
    released: list[int] = []

    class ReleaseCounting(InMemoryRateLimiter):
        def release(self) -> None:
            released.append(1)
            super().release()

    open_session = opener(Erp(numbered), limiter=ReleaseCounting(rate=1000, burst=1000))
    read(open_session, parallel=4)
    assert open_session.opened and len(released) == len(open_session.opened)


def test_every_request_is_recorded_in_the_trail(opener: Callable[..., Opener]) -> None:
    erp = Erp(numbered)
    open_session = opener(erp)
    read(open_session, parallel=4)
    recorded = open_session.recorder.records
    assert len(recorded) == len(erp.urls)
    assert {record.tenant for record in recorded} == {"acme"}


@pytest.mark.parametrize("parallel", [0, 17, True])
def test_parallel_out_of_range_is_refused(opener: Callable[..., Opener], parallel: Any) -> None:
    with pytest.raises(InvalidInputError) as caught:
        PageReader(opener(Erp(numbered)), "list_things", {}, page_size=SIZE, parallel=parallel)
    assert str(caught.value) == (
        f"parallel must be an integer from 1 to 16 (pages fetched at once), got {parallel!r}"
    )


# -- typed frames per page (the extract's page source; page workers return the same pages) -----------------
FIELDS = {"id": "integer", "name": "string"}


def frame_sources(open_session: Opener) -> Callable[[], FrameSource]:
    return lambda: FrameSource(open_session(), FIELDS, first_page=0, workers=None)


def test_frame_pages_come_out_in_order_typed(opener: Callable[..., Opener]) -> None:
    with PageReader(frame_sources(opener(Erp(numbered))), "list_things", {"_page_size": SIZE}, page_size=SIZE,
                    parallel=4) as reader:
        pages = list(reader)
    frame = pl.concat([page.frame for page in pages])
    assert frame.schema == pl.Schema({"id": pl.Int64(), "name": pl.String()})
    assert frame.get_column("id").to_list() == list(range(1, TOTAL + 1))
    assert pages[-1].next is None and all(page.paging_note is None for page in pages)


def test_a_repeated_frame_page_ends_the_stream_with_a_note_and_no_rows(opener: Callable[..., Opener]) -> None:
    def static(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"page": 1, "pageSize": SIZE, "pageCount": 10, "items": things(1, SIZE)})

    with PageReader(frame_sources(opener(Erp(static))), "list_things", {"_page_size": SIZE}, page_size=SIZE,
                    parallel=4) as reader:
        pages = list(reader)
    assert [page.frame.height for page in pages] == [SIZE, 0]
    assert pages[-1].frame.schema == pages[0].frame.schema  # the emptied page keeps its columns
    assert pages[-1].next is None
    assert pages[-1].paging_note is not None and "repeated page 1" in pages[-1].paging_note


def test_a_value_that_does_not_fit_its_field_names_the_page(opener: Callable[..., Opener]) -> None:
    def bad_second_page(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        items = things((page - 1) * SIZE + 1, SIZE)
        if page == 2:
            items[3]["id"] = "not a number"
        return httpx.Response(200, json={"page": page, "pageSize": SIZE, "pageCount": 3, "items": items})

    with pytest.raises(ErpPlatformError, match="list_things page 2") as caught, PageReader(
        frame_sources(opener(Erp(bad_second_page))), "list_things", {"_page_size": SIZE}, page_size=SIZE, parallel=2
    ) as reader:
        list(reader)
    assert "'id'" in str(caught.value)
