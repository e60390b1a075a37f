"""Spec text is untrusted: names and descriptions crafted to break out of strings stay inert data."""

from __future__ import annotations

import ast
import json
from typing import Any

import pytest
from sdkb_harness import Recorded, import_facade

from sdk_builder import ScanProfile, generate, load_spec, scan

# NUL is refused by the spec reader (test_spec_limits.py); every other character stays data.
PAYLOAD = "\"\"\" + __import__('os').system('touch /tmp/pwned') + \"\"\"\n''' \\ \\\" \r\n# \x01 \u2028 end\\"
EVIL = {
    "openapi": "3.0.0",
    "info": {"title": PAYLOAD, "version": "1\"); __import__('os')", "description": PAYLOAD},
    "servers": [{"url": "https://erp.acme-gmbh.de/api"}],
    "paths": {
        "/items/{id}/x\"+__import__('os').getcwd()+\"": {
            "get": {
                "operationId": "list\"); __import__('os').system('x'); (\"",
                "summary": PAYLOAD,
                "description": PAYLOAD,
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
                     "description": PAYLOAD},
                    {"name": "q\"); import os; (\"", "in": "query", "schema": {"type": "string"},
                     "description": PAYLOAD},
                    {"name": "self", "in": "query", "schema": {"type": "string"}},
                    {"name": "X-Evil\"\"\"", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": PAYLOAD, "content": {"application/json": {"schema": {
                    "type": "array", "items": {"$ref": "#/components/schemas/Evil\"Name"}}}}}},
            }
        }
    },
    "components": {"schemas": {"Evil\"Name": {"type": "object", "description": PAYLOAD, "properties": {
        "__class__": {"type": "string", "description": PAYLOAD},
        "x\"; import os; \"": {"type": "integer"},
        "model_config": {"type": "string"},
        "str": {"type": "string"},
        "datetime": {"type": "string", "format": "date-time"},
        "Field": {"type": "boolean"},
        "def": {"type": "number"},
        "ok": {"type": "string", "format": "date"},
    }}}},
}
EVIL_EDMX = (
    b'<?xml version="1.0"?><edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">'
    b'<edmx:DataServices><Schema Namespace="N" xmlns="http://docs.oasis-open.org/odata/ns/edm">'
    b"<EntityType Name=\"T&quot;)__import__('os')\"><Key><PropertyRef Name=\"K'\"/></Key>"
    b"<Property Name=\"K'\" Type=\"Edm.String\" Nullable=\"false\"/></EntityType>"
    b"<EntityContainer Name=\"C\"><EntitySet Name=\"S&quot;+__import__('os')+&quot;\" "
    b"EntityType=\"N.T&quot;)__import__('os')\"/></EntityContainer></Schema></edmx:DataServices></edmx:Edmx>"
)


def _no_executable_dunders(source: str) -> None:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            assert node.id != "__import__"
        if isinstance(node, ast.Attribute):
            assert node.attr not in ("system", "getcwd", "__class__")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            assert "os" not in names


@pytest.mark.parametrize(
    ("raw", "filename", "options"),
    [(json.dumps(EVIL).encode(), "evil.json", {}),
     (EVIL_EDMX, "evil.edmx", {"base_url": "https://erp.example.com/odata"})],
    ids=["openapi", "edmx"],
)
def test_malicious_spec_text_stays_data(raw: bytes, filename: str, options: dict[str, str], guest_loader: Any,
                                        tmp_path: Any) -> None:
    parsed = load_spec(raw, filename=filename, **options)
    sdk = generate(parsed.spec)
    for name, source in {**sdk.files, "facade.py": sdk.facade}.items():
        compile(source, name, "exec")
        _no_executable_dunders(source)
    assert scan(sdk.files).passed and scan({"facade.py": sdk.facade}, profile=ScanProfile.FACADE).passed
    op = parsed.spec.operations[0]
    assert op.id.isidentifier()

    def answer(_request: Recorded) -> tuple[int, Any]:
        return 200, [{"K'": "k", "__class__": "c"}] if filename == "evil.json" else {"value": []}

    params = {p.name: "v'\"" for p in op.parameters if p.required}
    with guest_loader(sdk, answer) as guest:
        page = guest.call(op.id, params)
        describe = guest.describe()
    assert page.status == 200
    assert (tmp_path.parent / "pwned").exists() is False
    if filename == "evil.json":
        assert describe["title"] == PAYLOAD
        assert guest.host.requests[0].url == "items/v%27%22/x%22+__import__('os').getcwd()+%22"
        with import_facade(sdk.facade, tmp_path / "facade") as facade:
            model = facade.EvilName
            record = model.model_validate({
                "__class__": "c", "model_config": "m", "str": "s", "datetime": "2024-01-01T00:00:00Z",
                "Field": True, "def": 1.5, "ok": "2024-01-02",
            })
        dumped = record.model_dump(by_alias=True)
        assert dumped["__class__"] == "c" and dumped["model_config"] == "m" and dumped["str"] == "s"
        assert dumped["Field"] is True and dumped["def"] == 1.5
        assert model.__doc__.strip().startswith('""" + __import__')
    else:
        assert guest.host.requests[0].url == "S%22+__import__('os')+%22"
