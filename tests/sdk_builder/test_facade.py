"""The generated host facade: typed models and methods, run through a caller backed by the native guest."""

from __future__ import annotations

import datetime
import decimal
import inspect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from sdkb_harness import FIXTURES, LoadedGuest, Recorded, import_facade

from sdk_builder import generate, load_spec


@dataclass(frozen=True)
class PageResult:
    """Shaped like the sandbox's PageResult (records, next, status, entity) plus the single result."""

    records: list[dict[str, Any]]
    next: str | None
    status: int
    entity: str | None
    result: Any = None


class NativeCaller:
    """A Caller over a natively loaded guest, standing in for the sandbox's SdkSession."""

    def __init__(self, guest: LoadedGuest) -> None:
        self.guest = guest
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, operation: str, params: Mapping[str, Any]) -> PageResult:
        self.calls.append((operation, dict(params)))
        page = self.guest.call(operation, params)
        records = self.guest.records(page) if page.records is not None or page.host_page is not None else []
        return PageResult(records, page.next, page.status, page.entity, page.result)

    def iter_pages(self, operation: str, params: Mapping[str, Any]) -> Iterator[PageResult]:
        token = None
        while True:
            page = self.call(operation, {**params, "_next": token})
            yield page
            token = page.next
            if token is None:
                return


def answer(request: Recorded) -> tuple[int, Any]:
    customer = {"id": "C1", "name": "Acme", "credit_limit": "1500.10", "is_active": True,
                "updated_at": "2024-03-01T10:00:00Z", "created_on": "2023-12-31", "extra": 1}
    if request.path.startswith("api/v1/customers/"):
        return 200, customer
    if request.path == "api/v1/customers":
        page = int(dict(request.query)["page"])
        return 200, {"page": page, "pageCount": 2, "items": [{**customer, "id": f"C{page}"}]}
    if request.method == "POST":
        return 201, {"id": "SO1", "customer_id": "C1", "amount": 12.5}
    return 200, {"value": [customer]}


@pytest.fixture(scope="module")
def mock_sdk() -> Any:
    return generate(load_spec(FIXTURES / "mock_erp_styles.openapi.json", name="mock_erp").spec)


def test_typed_methods_through_a_caller(mock_sdk: Any, guest_loader: Any, tmp_path: Any) -> None:
    with guest_loader(mock_sdk, answer) as guest, import_facade(mock_sdk.facade, tmp_path / "f") as facade:
        caller = NativeCaller(guest)
        client = facade.MockErpClient(caller)
        page = client.odata_v4_list_customers(tenant="acme", _page_size=10,
                                              _since=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC))
        customers = list(client.iter_rest_list_customers(_page_size=1))
        one = client.rest_get_customer(id="C1")
        order = client.rest_create_sales_order(body=facade.SalesOrderCreate(customer_id="C1", amount=12.5),
                                               idempotency_key="k-1")
    record = page.records[0]
    assert isinstance(record, facade.Customer) and page.next is None and page.status == 200
    assert record.credit_limit == decimal.Decimal("1500.10") and record.is_active is True
    assert record.updated_at == datetime.datetime(2024, 3, 1, 10, tzinfo=datetime.UTC)
    assert record.created_on == datetime.date(2023, 12, 31) and record.model_extra == {"extra": 1}
    assert [c.id for c in customers] == ["C1", "C2"]
    assert isinstance(one.result, facade.Customer) and one.result.name == "Acme"
    assert order.status == 201 and order.result.id == "SO1"
    assert caller.calls[0] == ("odata_v4_list_customers",
                               {"tenant": "acme", "_page_size": 10, "_since": "2024-01-01T00:00:00+00:00"})
    assert caller.calls[-1] == ("rest_create_sales_order",
                                {"body": {"customer_id": "C1", "amount": 12.5}, "idempotency_key": "k-1"})


def test_signatures_and_docstrings(mock_sdk: Any, tmp_path: Any) -> None:
    with import_facade(mock_sdk.facade, tmp_path / "f") as facade:
        method = facade.MockErpClient.odata_v4_list_customers
        params = inspect.signature(method).parameters
        assert [n for n, p in params.items() if p.kind == p.KEYWORD_ONLY] == [
            "tenant", "filter", "_next", "_page_size", "_since", "_mode"
        ]
        assert params["tenant"].default is inspect.Parameter.empty
        assert method.__doc__.splitlines()[0] == "Customers (OData V4)"
        assert "filter: e.g. updated_at gt 2024-01-01T00:00:00Z" in method.__doc__
        assert "_since" not in inspect.signature(facade.MockErpClient.odata_v4_list_items).parameters
        assert set(facade.Customer.model_fields) >= {"id", "credit_limit", "updated_at"}


def test_every_real_facade_imports(real_sdks: Any, real_specs: Any, tmp_path: Any) -> None:
    for key, sdk in real_sdks.items():
        spec = real_specs[key].spec
        with import_facade(sdk.facade, tmp_path / key, name=f"facade_{key}") as facade:
            client = next(v for n, v in vars(facade).items() if n.endswith("Client") and n != "Caller")
            methods = [n for n in vars(client) if not n.startswith("_")]
            collections = sum(op.collection for op in spec.operations)
            assert len(methods) == len(spec.operations) + collections
            models = [
                v for v in vars(facade).values() if isinstance(v, type) and issubclass(v, facade.Record)
            ]
            assert len(models) == len(spec.entities) + 1
