"""The column-wise fast path of ``frame_from_records`` gives exactly what the value-by-value path gives,
for raw pages of every API style of the mock ERP, and falls back when a column does not fit."""

from __future__ import annotations

import httpx
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from erp_platform.mock_erp import MockErpConfig, MockErpServer
from erp_platform.sandbox import FieldKind, NormalisationError, normalise_records
from erp_platform.transforms import ConversionError, frame_from_records
from erp_platform.transforms._records import _checked_frame
from sdk_builder import load_spec

AUTH = {"Authorization": "Bearer tok-acme", "X-ERP-Tenant": "acme"}
PAGES = [
    ("odata_v4_list_customers", "/odata/v4/companies(acme)/customers?$top=200", ("value",)),
    ("odata_v2_list_sales_orders", "/odata/v2/SalesOrders?$top=200", ("d", "results")),
    ("odata_v2_list_invoices", "/odata/v2/Invoices?$top=200", ("d", "results")),
    ("list_sales_order_lines", "/api/v1/sales-order-lines?pageSize=200", ("items",)),
    ("list_items", "/api/v1/items?pageSize=200", ("items",)),
]


@pytest.fixture(scope="module")
def erp() -> tuple[MockErpServer, object]:
    with MockErpServer(MockErpConfig(rows=400, seed=5)) as server:
        spec = load_spec(httpx.get(f"{server.base_url}/openapi.json").content, filename="mock.json").spec
        yield server, spec


@pytest.mark.parametrize(("operation", "path", "record_path"), PAGES, ids=[p[0] for p in PAGES])
def test_fast_path_equals_checked_path(
    erp: tuple[MockErpServer, object], operation: str, path: str, record_path: tuple[str, ...]
) -> None:
    server, spec = erp
    body = httpx.get(server.base_url + path, headers=AUTH).json()
    for key in record_path:
        body = body[key]
    raw = list(body)
    fields = spec.entity(spec.operation(operation).entity).field_kinds()  # type: ignore[attr-defined]
    fast = frame_from_records(raw, fields, raw=True)
    checked = _checked_frame(normalise_records([dict(r) for r in raw], fields), fields, where="test")
    assert_frame_equal(fast, checked)
    assert fast.height == len(raw) > 0


def test_offsets_and_z_are_normalised_to_utc() -> None:
    fields = {"at": FieldKind.DATETIME}
    fast = frame_from_records(
        [{"at": "2024-03-01T10:00:00+02:00"}, {"at": "2024-03-01T08:30:00+00:00"}], fields, raw=True
    )
    assert fast.get_column("at").dt.hour().to_list() == [8, 8]
    assert str(fast.schema["at"]) == "Datetime(time_unit='us', time_zone='UTC')"


def test_mixed_forms_fall_back_to_the_checked_path() -> None:
    fields = {"at": FieldKind.DATETIME, "n": FieldKind.INTEGER}
    rows = [{"at": "/Date(1552326816230)/", "n": 1}, {"at": "2019-03-11T17:53:36.230000+00:00", "n": 2}]
    frame = frame_from_records(rows, fields, raw=True)
    assert frame.get_column("at").dt.epoch("ms").to_list() == [1552326816230, 1552326816230]


def test_a_bad_value_still_gets_the_precise_error() -> None:
    with pytest.raises(NormalisationError, match="record 1, field 'n': value 'seven' is not a valid integer"):
        frame_from_records([{"n": 1}, {"n": "seven"}], {"n": FieldKind.INTEGER}, raw=True)
    with pytest.raises(ConversionError, match="field 'n'"):
        frame_from_records([{"n": 1}, {"n": "seven"}], {"n": FieldKind.INTEGER})


def test_booleans_are_not_numbers() -> None:
    with pytest.raises(ConversionError):
        frame_from_records([{"n": True}], {"n": FieldKind.INTEGER})


def test_empty_page_has_the_declared_schema() -> None:
    frame = frame_from_records([], {"id": FieldKind.INTEGER, "at": FieldKind.DATETIME}, raw=True)
    assert frame.schema == pl.Schema({"id": pl.Int64(), "at": pl.Datetime("us", "UTC")})


@pytest.mark.parametrize("bad", [1.5, {"a": 1}, [1]])
def test_values_of_another_type_are_never_coerced(bad: object) -> None:
    with pytest.raises((ConversionError, NormalisationError)):
        frame_from_records([{"n": 1}, {"n": bad}], {"n": FieldKind.INTEGER}, raw=True)


def test_a_column_that_changes_form_after_its_first_value_is_still_read_exactly() -> None:
    """The first value picks the parse format; a later value in another form is not lost: value by value."""
    fields = {"at": FieldKind.DATETIME, "on": FieldKind.DATE}
    rows = [
        {"at": "2024-03-01T10:00:00Z", "on": "2024-03-01"},
        {"at": "2024-03-01T10:00:00.250+01:00", "on": "2024-03-02T00:00:00Z"},
        {"at": None, "on": None},
    ]
    frame = frame_from_records(rows, fields, raw=True)
    assert frame.get_column("at").dt.epoch("ms").to_list() == [1709287200000, 1709283600250, None]
    assert [str(d) if d else None for d in frame.get_column("on").to_list()] == ["2024-03-01", "2024-03-02", None]
    assert str(frame.schema["at"]) == "Datetime(time_unit='us', time_zone='UTC')"
