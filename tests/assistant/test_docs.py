"""SDKs from documentation: the model extracts through tool calls, every claim is checked against the docs
text, and the result goes through the normal build (scan, componentize-py, sandbox tests) as TESTING; the
built SDK then reads the real mock ERP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from assistant import (
    Assistant,
    AssistantDisabled,
    AssistantError,
    DocSet,
    ModelRequest,
    ModelResponse,
    ScriptedModel,
    ToolResult,
    read_docs,
    set_ai,
)
from erp_platform import InvalidInputError
from erp_platform.credentials import CredentialStore
from erp_platform.mock_erp import MockErpServer
from erp_platform.sdks import SdkService
from tests.assistant.conftest import Ready

DOCS = Path(__file__).parent / "fixtures" / "docs" / "orders_api.md"
Make = Callable[..., Assistant]
CUSTOMER_FIELDS = [("id", "integer"), ("number", "string"), ("name", "string"), ("email", "string"),
                   ("phone", "string"), ("city", "string"), ("country", "string"), ("currency", "string"),
                   ("credit_limit", "number"), ("balance", "number"), ("payment_terms_days", "integer"),
                   ("is_active", "boolean"), ("created_at", "datetime"), ("updated_at", "datetime")]
ITEM_FIELDS = [("id", "integer"), ("number", "string"), ("description", "string"), ("category", "string"),
               ("unit_of_measure", "string"), ("unit_price", "number"), ("unit_cost", "number"),
               ("stock_quantity", "integer"), ("weight_kg", "number"), ("is_blocked", "boolean"),
               ("created_at", "datetime"), ("updated_at", "datetime")]


@pytest.fixture
def docs_path(tmp_path: Path, mock_erp: MockErpServer) -> Path:
    path = tmp_path / "orders_api.md"
    path.write_text(DOCS.read_text().replace("{BASE_URL}", f"{mock_erp.base_url}/"))
    return path


def _passage(docs: DocSet, needle: str) -> str:
    return next(p.id for p in docs.passages if needle in p.text)


def _operation(op_id: str, path: str, entity: str, passage: str, quote: str) -> dict[str, object]:
    return {"id": op_id, "method": "GET", "path": path, "entity": entity, "collection": True,
            "record_path": ["items"],
            "envelope_fields": {"page": "integer", "pageSize": "integer", "pageCount": "integer",
                                "totalCount": "integer"},
            "parameters": [{"name": "X-ERP-Tenant", "in": "header", "required": True},
                           {"name": "page", "in": "query", "type": "integer"},
                           {"name": "pageSize", "in": "query", "type": "integer"},
                           {"name": "updated_since", "in": "query"}],
            "citation": {"passage": passage, "quote": quote}}


def _script(docs: DocSet, base_url: str) -> list[object]:
    def corrected(request: ModelRequest) -> ModelResponse:
        result = request.messages[-1].content[0]
        assert isinstance(result, ToolResult) and result.is_error
        assert result.content.startswith("refused: GET /api/v1/items: the quote 'GET /api/v1/items returns all "
                                         "items at once'")
        return ScriptedModel.call("add_operation", _operation(
            "list_items", "/api/v1/items", "Item", _passage(docs, "GET /api/v1/items"),
            "GET /api/v1/items returns one page of items"))

    return [
        ScriptedModel.call("declare_api", {"title": "Acme Orders API", "base_url": base_url, "auth": "bearer",
                                           "citation": {"passage": _passage(docs, "Base URL"), "quote": "Base URL"}}),
        ScriptedModel.call("add_entity", {"name": "Customer",
                                          "fields": [{"name": n, "type": t} for n, t in CUSTOMER_FIELDS],
                                          "citation": {"passage": _passage(docs, "A customer has"),
                                                       "quote": "A customer has: id (integer)"}}),
        ScriptedModel.call("add_entity", {"name": "Item", "fields": [{"name": n, "type": t} for n, t in ITEM_FIELDS],
                                          "citation": {"passage": _passage(docs, "An item has"),
                                                       "quote": "An item has: id (integer)"}}),
        ScriptedModel.call("add_operation", _operation(
            "list_customers", "/api/v1/customers", "Customer", _passage(docs, "GET /api/v1/customers"),
            "GET /api/v1/customers returns one page of customers")),
        ScriptedModel.call("add_operation", _operation(
            "list_items", "/api/v1/items", "Item", _passage(docs, "GET /api/v1/items"),
            "GET /api/v1/items returns all items at once")),
        corrected,
        ScriptedModel.call("finish", {}),
    ]


def test_read_docs_numbers_passages_and_finds_documented_endpoints(docs_path: Path, tmp_path: Path) -> None:
    docs = read_docs(docs_path)
    assert docs.passages[0].id == "orders_api.md#1" and docs.passages[0].heading == "Acme Orders API"
    assert docs.documented_endpoints() == [("GET", "/api/v1/customers"), ("GET", "/api/v1/items"),
                                           ("POST", "/api/v1/sales-orders")]
    html = tmp_path / "site"
    html.mkdir()
    (html / "api.html").write_text("<html><script>x=1</script><h2>Items</h2><p>GET /api/v1/items lists "
                                   "items.</p></html>")
    site = read_docs(html)
    assert [(p.id, p.heading, p.text) for p in site.passages] == [("api.html#1", "Items",
                                                                   "GET /api/v1/items lists items.")]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("missing.md",
         "--docs {path}: no such file or folder; pass a Markdown, HTML or text file, or a folder of them"),
        ("empty_dir", "--docs {path}: no documentation file in it (.md, .markdown, .txt, .text, .html, .htm)"),
    ],
)
def test_bad_docs_paths(tmp_path: Path, name: str, expected: str) -> None:
    path = tmp_path / name
    if name == "empty_dir":
        path.mkdir()
    with pytest.raises(InvalidInputError) as caught:
        read_docs(path)
    assert str(caught.value) == expected.format(path=path)


def test_sdk_from_docs_is_cited_built_tested_and_reads_the_erp(
    tenant_a: Ready, make_assistant: Make, docs_path: Path, mock_erp: MockErpServer, service: SdkService,
    credentials: CredentialStore,
) -> None:
    docs = read_docs(docs_path)
    model = ScriptedModel(_script(docs, f"{mock_erp.base_url}/"))
    info, report = make_assistant(model).build_sdk_from_docs(tenant_a.tenant, docs_path, name="orders_docs")
    assert info.status == "TESTING", info.test_summary()
    assert info.name == "orders_docs" and info.operation_count == 2
    assert report.found == ("GET /api/v1/customers", "GET /api/v1/items")
    assert report.documented == ("GET /api/v1/customers", "GET /api/v1/items", "POST /api/v1/sales-orders")
    assert report.missing == ("POST /api/v1/sales-orders",)
    assert len(report.refused) == 1 and "returns all items at once" in report.refused[0]
    assert report.rounds == 7 and report.usage.total > 0
    spec_text = model.requests[0].messages[0].content[0]
    assert "GET /api/v1/customers returns one page" in spec_text.model_dump_json()
    for needed in info.credentials:  # the same ERP account: an explicit, audited share with the mock_erp SDK
        credentials.grant(tenant_a.tenant, needed.name, sdk=info.name, from_sdk="mock_erp")
    service.activate(tenant_a.tenant, info.name, info.version)
    pages = service.call(tenant_a.tenant, "orders_docs", "list_customers", {"_page_size": 5}, pages=2)
    expected = service.call(tenant_a.tenant, "mock_erp", "list_customers", {"_page_size": 5}, pages=2)
    assert [r["id"] for p in pages for r in p.records] == [r["id"] for p in expected for r in p.records]
    assert pages[0].next is not None


def test_docs_need_the_ai_provider(tenant_a: Ready, make_assistant: Make, docs_path: Path, engine: object) -> None:
    with pytest.raises(AssistantError) as caught:
        make_assistant().build_sdk_from_docs(tenant_a.tenant, docs_path)
    assert str(caught.value) == (
        "building an SDK from documentation needs the AI provider: no AI provider key (ERP_TEST_NO_SUCH_KEY is not "
        f"set); or build it from an OpenAPI, Swagger or EDMX file with `erp sdk build {tenant_a.tenant} --spec FILE`"
    )
    set_ai(engine, tenant_a.tenant, on=False, reason="audit")  # type: ignore[arg-type]
    try:
        model = ScriptedModel([])
        with pytest.raises(AssistantDisabled):
            make_assistant(model).build_sdk_from_docs(tenant_a.tenant, docs_path)
        assert model.requests == []
    finally:
        set_ai(engine, tenant_a.tenant, on=True)  # type: ignore[arg-type]


def test_nothing_cited_nothing_built(tenant_a: Ready, make_assistant: Make, docs_path: Path) -> None:
    model = ScriptedModel([
        ScriptedModel.call("add_operation", _operation("list_payroll", "/api/v1/payroll", "Customer",
                                                       "orders_api.md#3", "GET /api/v1/payroll")),
        ScriptedModel.call("finish", {}),
    ])
    with pytest.raises(AssistantError) as caught:
        make_assistant(model).build_sdk_from_docs(tenant_a.tenant, docs_path)
    assert str(caught.value).startswith("nothing to build from the docs 'orders_api.md': no cited API declaration "
                                        "(title, base URL); refused claims: add_operation")
