"""Sessions end to end: paging, both parse modes, describe, guest errors, logs, lifetimes, differential."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from erp_platform._errors import ErpPlatformError, InvalidInputError
from erp_platform.sandbox import (
    LoadedComponent,
    NativeComponent,
    PageResult,
    SandboxClosed,
    SandboxRuntime,
    SdkCallError,
    SdkSession,
)
from tests.sandbox.conftest import Harness
from tests.sandbox.erp_server import customer

ROWS = 25


def expected_customer(index: int) -> dict[str, Any]:
    from erp_platform.sandbox import FieldKind, normalise_records

    kinds = {
        "id": FieldKind.INTEGER, "balance": FieldKind.DECIMAL, "credit_limit": FieldKind.NUMBER,
        "blocked": FieldKind.BOOLEAN, "created_on": FieldKind.DATE, "updated_at": FieldKind.DATETIME,
    }
    return normalise_records([customer(index)], kinds)[0]


def all_pages(session: SdkSession, operation: str, **params: Any) -> list[PageResult]:
    return list(session.iter_pages(operation, {"_page_size": 10, **params}))


def test_paging_follows_next_links_and_normalises(harness: Harness, connector: LoadedComponent) -> None:
    with harness.session(connector) as session:
        pages = all_pages(session, "list_customers")
    assert [len(p.records) for p in pages] == [10, 10, 5]
    assert [r for p in pages for r in p.records] == [expected_customer(i) for i in range(1, ROWS + 1)]
    assert pages[0].records[2]["updated_at"] == "2024-01-01T00:21:00.039000+00:00"  # was +02:00
    assert pages[0].records[0]["credit_limit"] == 1000.0
    assert pages[-1].next is None
    assert pages[0].next is not None and pages[0].next.endswith("$top=10&$skip=10")
    assert {p.entity for p in pages} == {"customer"}
    assert all(p.status == 200 for p in pages)


def test_guest_parse_mode_and_odata_v2_give_the_same_records(
    harness: Harness, connector: LoadedComponent
) -> None:
    with harness.session(connector) as session:
        host_parsed = [r for p in all_pages(session, "list_customers") for r in p.records]
        guest_parsed = [r for p in all_pages(session, "list_customers", _mode="guest") for r in p.records]
        v2 = [r for p in all_pages(session, "list_customers_v2") for r in p.records]
        v2_guest = [r for p in all_pages(session, "list_customers_v2", _mode="guest") for r in p.records]
    assert guest_parsed == host_parsed
    assert v2 == host_parsed
    assert v2_guest == host_parsed


def test_single_record_result_and_not_found(harness: Harness, connector: LoadedComponent) -> None:
    with harness.session(connector) as session:
        found = session.call("get_customer", {"id": 7})
        missing = session.call("get_customer", {"id": 999})
    assert found.result == expected_customer(7)
    assert found.records == []
    assert (missing.status, missing.result) == (404, None)


def test_a_guest_reported_error(harness: Harness, connector: LoadedComponent) -> None:
    with harness.session(connector) as session, pytest.raises(SdkCallError) as caught:
        session.call("get_customer", {})
    assert str(caught.value) == (
        "tenant 'acme', SDK 'test-erp' v3, operation 'get_customer': the SDK reported bad_params: missing "
        "required parameter 'id'"
    )
    assert caught.value.guest_error.kind == "bad_params"
    assert caught.value.transient is False


def test_describe(harness: Harness, connector: LoadedComponent) -> None:
    with harness.session(connector) as session:
        described = session.describe()
    assert described["name"] == "test-erp"
    assert sorted(described["operations"]) == [
        "echo", "fetch_path", "get_customer", "list_customers", "list_customers_v2", "send_path",
    ]


def test_guest_logs_are_kept_and_bounded(harness: Harness, connector: LoadedComponent) -> None:
    with harness.session(connector, harness.manifest(max_log_lines=2)) as session:
        page = session.call("echo", {"log": ["one", "two", "three", "four"]})
    assert [(line.level, line.message) for line in page.stats.logs] == [
        ("info", "one"), ("info", "two"), ("warning", "2 more log lines were dropped"),
    ]


def test_call_stats(harness: Harness, connector: LoadedComponent) -> None:
    with harness.session(connector) as session:
        page = session.call("list_customers", {"_page_size": 5})
    stats = page.stats
    assert stats.runner == "wasm"
    assert (stats.requests, stats.attempts) == (1, 1)
    assert stats.bytes_received > 0
    assert stats.fuel_used is not None and stats.fuel_used > 0
    assert 0 < stats.instantiate_ms <= stats.total_ms


def test_parameters_must_be_json(harness: Harness, connector: LoadedComponent) -> None:
    with harness.session(connector) as session, pytest.raises(InvalidInputError) as caught:
        session.call("echo", {"when": object()})
    assert str(caught.value).startswith(
        "tenant 'acme', SDK 'test-erp' v3, operation 'echo': parameters are not JSON-serialisable"
    )


@pytest.mark.parametrize("mode", ["host", "guest"])
@pytest.mark.parametrize("operation", ["list_customers", "list_customers_v2"])
def test_sandbox_and_native_runner_give_identical_pages(
    harness: Harness,
    connector: LoadedComponent,
    native_connector: NativeComponent,
    operation: str,
    mode: str,
) -> None:
    with harness.session(connector) as sandboxed, harness.session(native_connector) as native:
        in_wasm = all_pages(sandboxed, operation, _mode=mode)
        in_cpython = all_pages(native, operation, _mode=mode)
        assert sandboxed.call("get_customer", {"id": 3}) == native.call("get_customer", {"id": 3})
        assert sandboxed.describe() == native.describe()
        for session in (sandboxed, native):
            with pytest.raises(SdkCallError) as caught:
                session.call("get_customer", {})
            assert caught.value.guest_error.kind == "bad_params"
    assert in_wasm == in_cpython
    assert {p.stats.runner for p in in_wasm} == {"wasm"}
    assert {p.stats.runner for p in in_cpython} == {"native"}


def test_session_close_is_idempotent_and_final(harness: Harness, connector: LoadedComponent) -> None:
    session = harness.session(connector)
    assert session.call("echo", {}).result == {}
    session.close()
    session.close()
    with pytest.raises(SandboxClosed) as caught:
        session.call("echo", {})
    assert str(caught.value) == (
        "tenant 'acme', SDK 'test-erp' v3, operation 'echo': the session is closed; open a new one"
    )


def test_one_call_at_a_time_per_session(harness: Harness, connector: LoadedComponent) -> None:
    errors: list[Exception] = []
    with harness.session(connector, harness.manifest(request_timeout_seconds=5)) as session:
        slow = threading.Thread(target=lambda: session.call("fetch_path", {"path": "/slow?seconds=2"}))
        slow.start()
        while not harness.erp.received("/slow"):
            threading.Event().wait(0.01)
        try:
            session.call("echo", {})
        except ErpPlatformError as exc:
            errors.append(exc)
        slow.join()
    assert [str(e) for e in errors] == [
        "tenant 'acme', SDK 'test-erp' v3, operation 'echo': the session is already running a call; use one "
        "session per thread"
    ]


def test_sessions_of_different_tenants_do_not_share_state(
    harness: Harness, connector: LoadedComponent
) -> None:
    acme = harness.session(connector, harness.manifest(tenant="acme", max_requests_per_call=1))
    globex = harness.session(connector, harness.manifest(tenant="globex"))
    with acme, globex:
        assert len(acme.call("list_customers", {"_page_size": 5}).records) == 5
        assert len(globex.call("list_customers", {"_page_size": 7}).records) == 7
    assert {r.tenant for r in harness.recorder.records} == {"acme", "globex"}


def test_runtime_close_is_idempotent(wasm_cache: Path) -> None:
    runtime = SandboxRuntime(cache_dir=wasm_cache)
    assert not runtime.closed
    runtime.close()
    runtime.close()
    assert runtime.closed
    with pytest.raises(SandboxClosed) as caught:
        runtime.load_component(b"\0asm")
    assert str(caught.value) == "the sandbox runtime is closed; create a new SandboxRuntime"


def test_runtime_as_context_manager_and_precompiled_components(
    harness: Harness, connector: LoadedComponent, connector_wasm: Path
) -> None:
    precompiled = connector.runtime.precompile(connector_wasm)
    with SandboxRuntime() as runtime:
        loaded = runtime.load_precompiled(precompiled)
        assert runtime.load_precompiled(precompiled) is loaded
        with harness.session(loaded) as session:
            assert session.call("echo", {"x": 1}).result == {"x": 1}
    assert runtime.closed


def test_components_are_cached_by_hash(
    runtime: SandboxRuntime, connector: LoadedComponent, connector_wasm: Path
) -> None:
    assert runtime.load_component(connector_wasm) is connector
    assert runtime.load_component(connector_wasm.read_bytes()) is connector
