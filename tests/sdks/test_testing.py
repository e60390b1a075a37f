"""The sandbox tests of a build: which operations run, and the sample responses of every paging style."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from erp_platform.sandbox import SandboxRuntime
from erp_platform.sdks import SdkService, SdkVersionInfo, is_mock_spec, run_sandbox_tests, select_operations
from sdk_builder import build_sdk, load_spec
from tests.sdks.conftest import SPECS

PAGING_SPEC = Path(__file__).parent / "specs" / "paging_styles.openapi.yaml"


@pytest.fixture(scope="module")
def paging(service: SdkService, new_tenant: Callable[..., str]) -> SdkVersionInfo:
    """A spec with every pagination style and field kind, built (and compiled) once."""
    return service.build(new_tenant("paging"), PAGING_SPEC)


def test_every_paging_style_is_exercised_through_the_component(paging: SdkVersionInfo) -> None:
    report = paging.test_results
    assert report is not None and report.target == "sample_responses"
    assert paging.status == "TESTING", report.summary()
    assert [(r.operation, r.kind, r.pages, r.records) for r in report.results] == [
        ("list_orders", "collection", 2, 3),  # page + pageCount
        ("list_archive", "collection", 2, 3),  # zero-based page, no counts: a short page ends it
        ("list_lines", "collection", 2, 3),  # offset + total
        ("list_events", "collection", 2, 3),  # cursor in the body, sent back as a parameter
        ("list_links", "collection", 2, 3),  # a next link in the body
        ("list_tags", "collection", 1, 2),  # a bare array: one page
        ("get_order", "single", 1, 1),
    ]
    tags = next(r for r in report.results if r.operation == "list_tags")
    assert tags.checks[-1] == "single page: no continuation token"


def test_selection_keeps_one_operation_of_each_shape_first() -> None:
    spec = load_spec(SPECS / "dynamics365_business_central_v1.openapi.yaml").spec
    tested, untested = select_operations(spec, 40)
    order = [op.id for op in sorted((op for op in spec.operations if op.method == "GET"),
                                    key=lambda op: not op.collection)]  # collections first, then spec order
    assert len(tested) == 40 and len(untested) == len(order) - 40 == 112
    assert [op.id for op in tested] == [i for i in order if i in {op.id for op in tested}]
    assert [op.id for op in untested] == [i for i in order if i in {op.id for op in untested}]
    # one of each single-record shape (key segments, parameter kinds) is kept although the 76 collections
    # alone would fill the bound
    singles = [op.id for op in tested if not op.collection]
    assert len(singles) == 10 and singles[:3] == ["get_company", "get_item", "get_picture_for_item"]
    three, _ = select_operations(load_spec(PAGING_SPEC).spec, 3)
    assert [op.id for op in three] == ["list_orders", "list_archive", "list_lines"]


def test_describe_must_match_the_spec(
    mock_spec: bytes, wasm_cache: Path, runtime: SandboxRuntime
) -> None:
    """The mock ERP's component run against another spec: describe() and every operation disagree."""
    mock = build_sdk(mock_spec, cache_dir=wasm_cache, filename="openapi.json")
    other = load_spec(PAGING_SPEC).spec
    assert is_mock_spec(mock.spec) and not is_mock_spec(other)
    report = run_sandbox_tests(
        other, other.to_manifest("acme", other.name, 1), runtime.load_component(mock.wasm_path),
        max_operations=2,
    )
    assert not report.passed and not report.describe_ok
    assert report.problems == (
        "describe() names SDK 'mock_erp' with 21 operations; the spec has 'paging_styles' with 7",
    )
    assert [r.error for r in report.results] == [
        "SdkCallError: tenant 'acme', SDK 'paging_styles' v1, operation 'list_orders': the SDK reported "
        "unknown_operation: unknown operation 'list_orders'; describe() lists the 21 operations of this SDK",
        "SdkCallError: tenant 'acme', SDK 'paging_styles' v1, operation 'list_archive': the SDK reported "
        "unknown_operation: unknown operation 'list_archive'; describe() lists the 21 operations of this SDK",
    ]
