"""Paging as the generated SDK runs it in the sandbox: page-only paging, cursors from the last record with
``has_more``, ``Link`` headers, ``If-Modified-Since``; and the host's guards: a repeated page ends paging with a
note, a continuation token seen before fails, and a response that held records the selector missed fails.

A real SDK is generated and compiled (componentize-py, cached by hash) from a small OpenAPI spec and run by
wasmtime; the ERP is an httpx transport answering each request from its URL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from erp_platform.sandbox import (
    EgressPolicy,
    EmptySelectionError,
    HostServices,
    LoadedComponent,
    PagingLoopError,
    SandboxRuntime,
    SdkSession,
)
from sdk_builder import build_sdk, parse_overrides

THING = {"type": "object", "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "updated_at": {"type": "string", "format": "date-time"}}}
REF = {"$ref": "#/components/schemas/Thing"}
SPEC: dict[str, Any] = {
    "openapi": "3.0.0",
    "info": {"title": "Paging ERP", "version": "1"},
    "servers": [{"url": "https://erp.paging-ag.de/api"}],
    "components": {"schemas": {"Thing": THING}},
    "paths": {
        "/things": {"get": {"operationId": "listThings", "parameters": [
            {"name": "starting_after", "in": "query", "schema": {"type": "string"}},
            {"name": "limit", "in": "query", "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"data": {"type": "array", "items": REF},
                                                 "has_more": {"type": "boolean"}}}}}}}}},
        "/pages": {"get": {"operationId": "listPages", "description": "Up to 100 things are returned per page.",
                           "parameters": [{"name": "page", "in": "query", "schema": {"type": "integer"}},
                                          {"name": "If-Modified-Since", "in": "header", "schema": {"type": "string"}}],
                           "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                               "type": "object", "properties": {
                                   "Status": {"type": "string"},
                                   "Warnings": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}},
                                   "Pages": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}}}}}}}}}},
        "/linked": {"get": {"operationId": "listLinked", "parameters": [
            {"name": "per_page", "in": "query", "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok", "headers": {"Link": {"schema": {"type": "string"}}},
                                  "content": {"application/json": {"schema": {
                                      "type": "array", "items": {"$ref": "#/components/schemas/Thing"}}}}}}}},
        "/cursors": {"get": {"operationId": "listCursors", "parameters": [
            {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"cursors": {"type": "array", "items": REF},
                                                 "next_cursor": {"type": "string"}}}}}}}}},
    },
}


def things(first: int, count: int) -> list[dict[str, Any]]:
    return [{"id": f"t{n}", "name": f"thing {n}", "updated_at": "2024-05-01T10:00:00Z"}
            for n in range(first, first + count)]


@pytest.fixture(scope="module")
def paging_sdk(wasm_cache: Path, runtime: SandboxRuntime, tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("paging") / "paging.json"
    path.write_text(json.dumps(SPEC))
    return build_sdk(path, cache_dir=wasm_cache)


@pytest.fixture(scope="module")
def component(paging_sdk: Any, runtime: SandboxRuntime) -> LoadedComponent:
    return runtime.load_component(paging_sdk.wasm_path)


@pytest.fixture
def session_for(paging_sdk: Any, component: LoadedComponent) -> Iterator[Callable[..., SdkSession]]:
    opened: list[SdkSession] = []

    def make(handler: Callable[[httpx.Request], httpx.Response]) -> SdkSession:
        services = HostServices(secrets=lambda name: "x", egress_policy=EgressPolicy(),
                                transport=httpx.MockTransport(handler), sleep=lambda _s: None)
        session = SdkSession(paging_sdk.spec.to_manifest("acme", "paging", 1), component, services)
        opened.append(session)
        return session

    yield make
    for session in opened:
        session.close()


def test_decisions_of_the_small_spec(paging_sdk: Any) -> None:
    spec = paging_sdk.spec
    things_op, pages_op = spec.operation("list_things"), spec.operation("list_pages")
    assert (things_op.pagination.next_path, things_op.pagination.has_more_path) == ("data.-1.id", "has_more")
    assert (pages_op.record_path, pages_op.pagination.size_param, pages_op.pagination.fixed_page_size) == (
        ("Pages",), None, 100)
    assert spec.operation("list_linked").pagination.next_path == "header:link"
    assert spec.operation("list_cursors").pagination.next_path == "next_cursor"


def test_cursor_from_the_last_record_until_has_more_is_false(session_for: Callable[..., SdkSession]) -> None:
    seen: list[str] = []

    def erp(request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("starting_after")
        seen.append(after or "-")
        start = 1 if after is None else int(after[1:]) + 1
        return httpx.Response(200, json={"data": things(start, 2), "has_more": start < 5})

    pages = list(session_for(erp).iter_pages("list_things", {"_page_size": 2}))
    assert [r["id"] for p in pages for r in p.records] == ["t1", "t2", "t3", "t4", "t5", "t6"]
    assert seen == ["-", "t2", "t4"] and pages[-1].next is None


def test_page_only_paging_stops_on_a_short_page_and_sends_if_modified_since(
    session_for: Callable[..., SdkSession],
) -> None:
    requests: list[httpx.Request] = []

    def erp(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        page = int(request.url.params["page"])
        body = {"Status": "OK", "Warnings": [], "Pages": things(100 * page - 99, 100 if page < 3 else 1)}
        return httpx.Response(200, json=body)

    pages = list(session_for(erp).iter_pages("list_pages", {"_since": "2024-05-01T10:00:00Z"}))
    assert [len(p.records) for p in pages] == [100, 100, 1]
    assert [r.url.params["page"] for r in requests] == ["1", "2", "3"]
    assert "pageSize" not in requests[0].url.params
    since = parsedate_to_datetime(requests[0].headers["If-Modified-Since"])
    assert since.isoformat() == "2024-05-01T10:00:00+00:00"
    assert requests[0].headers["If-Modified-Since"] == "Wed, 01 May 2024 10:00:00 GMT"


def test_link_header_is_followed(session_for: Callable[..., SdkSession]) -> None:
    def erp(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        link = f'<https://erp.paging-ag.de/api/linked?page={page + 1}>; rel="next", <https://x>; rel="first"'
        return httpx.Response(200, json=things(page * 10, 2), headers={"Link": link} if page < 2 else {})

    pages = list(session_for(erp).iter_pages("list_linked", {"_page_size": 2}))
    assert [r["id"] for p in pages for r in p.records] == ["t10", "t11", "t20", "t21"]


def test_a_repeated_page_ends_paging_with_a_note(session_for: Callable[..., SdkSession]) -> None:
    """A server that ignores the page parameter (as a mock serving one static example does)."""

    def erp(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"Status": "OK", "Pages": things(1, 100)})

    session = session_for(erp)
    first = session.call("list_pages", {})
    second = session.call_raw("list_pages", {"_next": first.next})
    assert (len(first.records), second.records, second.next) == (100, [], None)
    assert second.paging_note == (
        "page 2 of operation 'list_pages' repeated page 1 (100 records, the same first and last record): the ERP "
        "does not advance on the continuation (page 2); paging ended after page 1"
    )


def test_a_continuation_token_seen_before_fails(session_for: Callable[..., SdkSession]) -> None:
    def erp(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        start = {None: 1, "A": 3, "B": 5}[cursor]
        return httpx.Response(200, json={"cursors": things(start, 2), "next_cursor": "B" if cursor == "A" else "A"})

    session = session_for(erp)
    with pytest.raises(PagingLoopError) as caught:
        list(session.iter_pages("list_cursors", {}))
    assert str(caught.value) == (
        "tenant 'acme', SDK 'paging' v1, operation 'list_cursors': page 3 returned the continuation cursor "
        "* (1 characters) that page 1 already returned: the ERP's paging does not advance and would never "
        "end. Check the operation's paging (`erp sdk show TENANT SDK --json`) and override it with "
        "--set list_cursors.paging.style=... if it is wrong"
    )


@pytest.mark.parametrize("mode", ["host", "guest"])
def test_records_the_selector_missed_are_a_loud_error(session_for: Callable[..., SdkSession], mode: str) -> None:
    def erp(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"Status": "OK", "Pages": [], "Items": things(1, 25),
                                         "Warnings": things(90, 1)})

    with pytest.raises(EmptySelectionError) as caught:
        session_for(erp).call("list_pages", {"_mode": mode})
    assert caught.value.held == (("Items", 25),) and caught.value.selector == ("Pages",)
    assert str(caught.value) == (
        "tenant 'acme', SDK 'paging' v1, operation 'list_pages': the response held 25 items under `Items` but the "
        "selector `Pages` found no records: the SDK reads records from the wrong place. Rebuild it with --set "
        "list_pages.record_path=Items (erp sdk build ... --set), or check the response with `erp sdk check acme "
        "paging list_pages`"
    )


def test_an_empty_page_with_only_messages_is_not_a_silent_zero(session_for: Callable[..., SdkSession]) -> None:
    def erp(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"Status": "OK", "Warnings": things(90, 2)})  # no Pages key at all

    page = session_for(erp).call("list_pages", {})
    assert (page.records, page.next) == ([], None)


def test_override_moves_the_selector(wasm_cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "paging.json"
    path.write_text(json.dumps(SPEC))
    built = build_sdk(path, cache_dir=wasm_cache, overrides=parse_overrides(None, ["list_pages.record_path=Items"]))
    assert built.spec.operation("list_pages").record_path == ("Items",)
    assert built.spec.overrides == ("list_pages.record_path=Items",)
