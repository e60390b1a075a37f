"""Sandbox tests of a freshly built SDK: its GET operations run through the real WebAssembly component.

Against the in-process mock ERP when the spec is the mock's (records compared with the mock's own
expected records), otherwise against pages synthesised from the spec. Each collection operation reads a
first page (host-parsed) and follows its continuation token to a second page (guest-parsed); each
single-record operation reads one record. Checked: HTTP status, envelope (record path), normalisation of
every field kind, and the continuation token. At most ``max_operations`` operations run per build.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from erp_platform._errors import ErpPlatformError
from erp_platform.sandbox import (
    EgressPolicy,
    FieldKind,
    GuestSource,
    HostServices,
    PageResult,
    SdkManifest,
    SdkSession,
    normalise_records,
)
from erp_platform.sdks._mock_target import (
    MOCK_PAGE_SIZE,
    MockErpTarget,
    is_mock_spec,
    mock_entity,
    mock_erp_target,
)
from erp_platform.sdks._models import OperationTestResult, SdkTestReport, TestTarget
from erp_platform.sdks._samples import (
    SAMPLE_PAGE_SIZE,
    SampleServer,
    expects_more,
    page_size,
    required_params,
    sample_records,
)
from sdk_builder import Operation, SdkSpec

#: At most this many operations are exercised per build (the rest are listed as not tested).
MAX_TESTED_OPERATIONS = 40
_ERROR_CHARS = 600
_FRACTION = re.compile(r"\.\d+(?=[+-]\d\d:\d\d$|Z$)")


class CheckFailed(Exception):
    """One check of an operation test did not hold."""


@dataclass
class _Checks:
    passed: list[str] = field(default_factory=list)

    def that(self, condition: bool, description: str, failure: str) -> None:
        if not condition:
            raise CheckFailed(f"{description}: {failure}")
        self.passed.append(description)


def select_operations(spec: SdkSpec, limit: int) -> tuple[list[Operation], list[Operation]]:
    """(tested, not tested) GET operations: one of each distinct shape first, then in spec order.

    A shape is (collection, pagination style, record path, date format, kinds of required parameters),
    so the bound keeps the variety of the spec. Collection operations come before single-record ones.
    """
    candidates = [op for op in spec.operations if op.method == "GET"]
    candidates.sort(key=lambda op: not op.collection)
    chosen: list[Operation] = []
    shapes: set[tuple[Any, ...]] = set()
    for op in candidates:
        shape = (
            op.collection, op.pagination.style, op.record_path, op.date_format,
            tuple(sorted((p.location.value, p.encoding.value, p.odata_literal or p.type.value)
                         for p in op.parameters if p.required)),
        )
        if shape not in shapes and len(chosen) < limit:
            shapes.add(shape)
            chosen.append(op)
    picked = {op.id for op in chosen}
    for op in candidates:
        if len(picked) >= limit:
            break
        picked.add(op.id)
    return [op for op in candidates if op.id in picked], [op for op in candidates if op.id not in picked]


def run_sandbox_tests(
    spec: SdkSpec,
    manifest: SdkManifest,
    component: GuestSource,
    *,
    max_operations: int = MAX_TESTED_OPERATIONS,
) -> SdkTestReport:
    """Exercise the SDK's GET operations through ``component`` and report every result.

    Nothing here touches the tenant's credentials, egress policy or rate limits: the session is the
    test's own (mock ERP credentials or placeholders, the mock's loopback address allowed for it only).
    """
    started = time.perf_counter()
    tested, untested = select_operations(spec, max_operations)
    kind: TestTarget
    if is_mock_spec(spec):
        with mock_erp_target(manifest) as target:
            services = HostServices(secrets=target.secret, egress_policy=target.egress_policy)
            with SdkSession(target.manifest, component, services) as session:
                describe_ok, problems = _check_describe(session, spec)
                results = [_mock_case(session, spec, target, op) for op in tested]
        kind = "mock_erp"
    else:
        server = SampleServer(spec)
        services = HostServices(
            secrets=_placeholder_secret,
            egress_policy=EgressPolicy(private_allowlist=_base_host_port(manifest)),
            transport=server.transport(),
            sleep=lambda _seconds: None,
        )
        with SdkSession(manifest, component, services) as session:
            describe_ok, problems = _check_describe(session, spec)
            results = []
            for op in tested:
                server.current = op
                results.append(_sample_case(session, spec, op))
        kind = "sample_responses"
    return SdkTestReport(
        target=kind,
        passed=describe_ok and not problems and all(r.passed for r in results),
        describe_ok=describe_ok,
        get_operations=len(tested) + len(untested),
        max_operations=max_operations,
        tested=tuple(op.id for op in tested),
        not_tested=tuple(op.id for op in untested),
        results=tuple(results),
        problems=tuple(problems),
        seconds=round(time.perf_counter() - started, 3),
    )


def _placeholder_secret(name: str) -> str:
    return f"sample-{name}"


def _base_host_port(manifest: SdkManifest) -> tuple[str, ...]:
    """The base URL's host:port, so sample tests also run for SDKs of a private (local) ERP."""
    try:
        parts = urlsplit(manifest.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if not parts.hostname:
            return ()
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        EgressPolicy(private_allowlist=(f"{host}:{port}",))
    except ValueError:  # an unusable base URL: the requests themselves will say what is wrong
        return ()
    return (f"{host}:{port}",)


def _check_describe(session: SdkSession, spec: SdkSpec) -> tuple[bool, list[str]]:
    try:
        document = session.describe()
    except ErpPlatformError as exc:
        return False, [f"describe() failed: {_short(exc)}"]
    listed = [op.get("name") for op in document.get("operations", []) if isinstance(op, dict)]
    expected = [op.id for op in spec.operations]
    if document.get("name") != spec.name or listed != expected:
        return False, [
            f"describe() names SDK {document.get('name')!r} with {len(listed)} operations; the spec has "
            f"{spec.name!r} with {len(expected)}"
        ]
    return True, []


def _run_case(
    op: Operation, body: Callable[[_Checks], tuple[int, int]]
) -> OperationTestResult:
    checks = _Checks()
    kind = "collection" if op.collection else "single"
    try:
        pages, records = body(checks)
    except CheckFailed as exc:
        error = str(exc)
    except ErpPlatformError as exc:
        error = f"{type(exc).__name__}: {exc}"
    else:
        return OperationTestResult(
            operation=op.id, kind=kind, passed=True, pages=pages, records=records,
            checks=tuple(checks.passed),
        )
    return OperationTestResult(
        operation=op.id, kind=kind, passed=False, checks=tuple(checks.passed),
        error=_short(error),
    )


def _check_page(checks: _Checks, op: Operation, page: PageResult, label: str) -> None:
    checks.that(page.status == 200, f"{label}: HTTP status 200", f"got {page.status}")
    checks.that(page.entity == op.entity, f"{label}: entity {op.entity!r}", f"got {page.entity!r}")


def _compare(checks: _Checks, label: str, got: Sequence[Any], expected: Sequence[Any]) -> None:
    checks.that(len(got) == len(expected), f"{label}: {_records(len(expected))}", f"got {_records(len(got))}")
    for index, (actual, wanted) in enumerate(zip(got, expected, strict=True)):
        if actual != wanted:
            differing = sorted(
                k for k in set(actual) | set(wanted) if actual.get(k, "<absent>") != wanted.get(k, "<absent>")
            ) if isinstance(actual, dict) and isinstance(wanted, dict) else []
            detail = ", ".join(
                f"{k}: got {_value(actual.get(k, '<absent>'))}, expected {_value(wanted.get(k, '<absent>'))}"
                for k in differing[:3]
            ) if differing else f"got {_value(actual)}, expected {_value(wanted)}"
            raise CheckFailed(f"{label}: record {index} is not normalised as expected ({detail})")
    checks.passed.append(f"{label}: records normalised as expected")


# -- sample responses ---------------------------------------------------------------------------------


def _sample_case(session: SdkSession, spec: SdkSpec, op: Operation) -> OperationTestResult:
    params = required_params(op)

    full = page_size(op)

    def collection(checks: _Checks) -> tuple[int, int]:
        first = session.call(op.id, {**params, "_page_size": SAMPLE_PAGE_SIZE})
        _check_page(checks, op, first, "page 1 (host-parsed)")
        _, expected = sample_records(spec, op, range(1, full + 1))
        _compare(checks, "page 1", first.records, expected)
        if not expects_more(op):
            checks.that(first.next is None, "single page: no continuation token", f"got {first.next!r}")
            return 1, len(first.records)
        checks.that(first.next is not None, "page 1: continuation token", "the SDK returned none")
        second = session.call(
            op.id, {**params, "_page_size": SAMPLE_PAGE_SIZE, "_next": first.next, "_mode": "guest"}
        )
        _check_page(checks, op, second, "page 2 (guest-parsed)")
        _, expected = sample_records(spec, op, range(full + 1, full + 2))
        _compare(checks, "page 2", second.records, expected)
        checks.that(second.next is None, "page 2: last page", f"got continuation token {second.next!r}")
        return 2, len(first.records) + len(second.records)

    def single(checks: _Checks) -> tuple[int, int]:
        page = session.call(op.id, params)
        _check_page(checks, op, page, "record")
        _, expected = sample_records(spec, op, range(1, 2))
        _compare(checks, "record", [page.result], expected)
        checks.that(page.next is None, "record: no continuation token", f"got {page.next!r}")
        return 1, 1

    return _run_case(op, collection if op.collection else single)


# -- the mock ERP -------------------------------------------------------------------------------------


def _mock_case(
    session: SdkSession, spec: SdkSpec, target: MockErpTarget, op: Operation
) -> OperationTestResult:
    entity = mock_entity(op)
    params = required_params(op, {"tenant": target.erp_tenant})

    kinds = spec.entity(op.entity).field_kinds() if op.entity and _has_entity(spec, op.entity) else {}

    def expected(count: int) -> list[dict[str, Any]]:
        assert entity is not None
        return _to_seconds(normalise_records(target.expected(entity, count), kinds), kinds)

    def records(page: PageResult) -> list[dict[str, Any]]:
        return _to_seconds(page.records, kinds)

    def collection(checks: _Checks) -> tuple[int, int]:
        wanted = expected(2 * MOCK_PAGE_SIZE)
        first = session.call(op.id, {**params, "_page_size": MOCK_PAGE_SIZE})
        _check_page(checks, op, first, "page 1 (host-parsed)")
        _compare(checks, "page 1", records(first), wanted[:MOCK_PAGE_SIZE])
        checks.that(first.next is not None, "page 1: continuation token", "the SDK returned none")
        second = session.call(
            op.id, {**params, "_page_size": MOCK_PAGE_SIZE, "_next": first.next, "_mode": "guest"}
        )
        _check_page(checks, op, second, "page 2 (guest-parsed)")
        _compare(checks, "page 2", records(second), wanted[MOCK_PAGE_SIZE:])
        return 2, len(first.records) + len(second.records)

    def single(checks: _Checks) -> tuple[int, int]:
        wanted = expected(1)
        page = session.call(op.id, {**params, "id": wanted[0]["id"]})
        _check_page(checks, op, page, "record")
        result = _to_seconds([page.result], kinds) if isinstance(page.result, dict) else [page.result]
        _compare(checks, "record", result, wanted)
        return 1, 1

    def unknown(_checks: _Checks) -> tuple[int, int]:
        raise CheckFailed(f"operation path {op.path!r} is not one the mock ERP serves")

    if entity is None:
        return _run_case(op, unknown)
    return _run_case(op, collection if op.collection else single)


def _records(count: int) -> str:
    return f"{count} record{'s' if count != 1 else ''}"


def _has_entity(spec: SdkSpec, name: str) -> bool:
    return any(e.name == name for e in spec.entities)


def _to_seconds(records: list[Any], kinds: dict[str, FieldKind]) -> list[Any]:
    """Normalised DATETIME values cut to the second, in place.

    The mock ERP writes timestamps to the second in its REST and OData V4 forms (and in
    ``expected_records``) but with milliseconds in OData V2 (``/Date(ms)/``), so its records can only be
    compared to the second. Sub-second normalisation is covered by the sample-response tests.
    """
    names = [name for name, kind in kinds.items() if kind is FieldKind.DATETIME]
    for record in records:
        if not isinstance(record, dict):
            continue
        for name in names:
            value = record.get(name)
            if isinstance(value, str):
                record[name] = _FRACTION.sub("", value)
    return records


def _value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _short(error: object) -> str:
    text = str(error)
    return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 3] + "..."
