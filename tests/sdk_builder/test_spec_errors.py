"""Specs and options that cannot build: each gives one exact, actionable message."""

from __future__ import annotations

import pytest
from sdkb_harness import SPECS

from erp_platform._errors import InvalidInputError
from sdk_builder import SpecError, load_spec

NOT_A_SPEC = (
    "not an API specification: expected an OpenAPI 3.x or Swagger 2.0 document (a top-level 'openapi' or "
    "'swagger' key) or an OData EDMX $metadata document (XML). Pass the spec file itself, not documentation "
    "or a "
    "sample payload."
)
ONE_GET = b'"paths":{"/a":{"get":{"responses":{"200":{"description":"ok"}}}}}'
EDMX_NO_SETS = (
    b'<?xml version="1.0"?><edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">'
    b'<edmx:DataServices><Schema Namespace="X" xmlns="http://docs.oasis-open.org/odata/ns/edm">'
    b'<EntityType Name="T"/><EntityContainer Name="C"/></Schema></edmx:DataServices></edmx:Edmx>'
)

MALFORMED = [
    ("bad.yaml", b"openapi: 3.0.0\ninfo:\n  title: x\n paths: {}\n",
     "bad.yaml, line 4, column 2: invalid YAML: did not find expected key. Fix the YAML at that position (a "
     "YAML "
     "linter shows the exact spot) or export the spec as JSON.", (4, 2)),
    ("bad.json", b'{"openapi": "3.0.0",\n "paths": {,}\n}',
     "bad.json, line 2, column 12: invalid JSON: Expecting property name enclosed in double quotes. Fix the "
     "JSON "
     "syntax at that position or export the spec again.", (2, 12)),
    ("notes.yaml", b"title: My API notes\nitems: [1, 2]\n", f"notes.yaml: {NOT_A_SPEC}", (None, None)),
    ("list.yaml", b"- a\n- b\n", f"list.yaml: {NOT_A_SPEC}", (None, None)),
    ("docs.html", b"<html><body>API docs<br></body></html>", f"docs.html: {NOT_A_SPEC}", (None, None)),
    ("empty.yaml", b"  \n", "empty.yaml: the file is empty. Pass the OpenAPI, Swagger or EDMX document.",
     (None, None)),
    ("latin1.yaml", b'openapi: 3.0.0\ninfo: {title: "Caf\xe9"}\n',
     "latin1.yaml: the file is not UTF-8 text (invalid byte at offset 33). Save the spec as "
     "UTF-8.", (None, None)),
    ("nopaths.yaml", b'swagger: "2.0"\ninfo: {title: x, version: "1"}\nhost: erp.example.com\n',
     "nopaths.yaml: Swagger 2.0 document has no 'paths': nothing to build. Pass the complete spec with its "
     "paths.",
     (None, None)),
    ("emptypaths.json", b'{"openapi": "3.1.0", "paths": {}}',
     "emptypaths.json: OpenAPI 3.1.0 document has no 'paths': nothing to build. Pass the complete spec with "
     "its "
     "paths.", (None, None)),
    ("old.yaml", b'swagger: "1.2"\npaths: {}\n',
     "old.yaml: unsupported Swagger version '1.2': supported are OpenAPI 3.0, 3.1 and Swagger 2.0. Convert "
     "the "
     "spec to OpenAPI 3 first.", (None, None)),
    ("future.yaml", b"openapi: 4.0.0\npaths: {}\n",
     "future.yaml: unsupported OpenAPI version '4.0.0': supported are OpenAPI 3.0, 3.1 and Swagger 2.0. "
     "Convert the "
     "spec to OpenAPI 3 first.", (None, None)),
    ("nosets.edmx", EDMX_NO_SETS,
     "nosets.edmx: EDMX document has no EntitySet, FunctionImport or ActionImport in any EntityContainer: "
     "nothing "
     "to build. Pass the service's complete $metadata document.", (None, None)),
    ("v3.edmx", b'<edmx:Edmx Version="3.5" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"/>',
     "v3.edmx: unsupported EDMX version '3.5': supported are 1.0 (OData V2) and 4.0/4.01 (OData V4).",
     (None, None)),
    ("broken.edmx", b'<edmx:Edmx Version="4.0" xmlns:edmx="x">\n<Schema>\n</edmx:Edmx>',
     "broken.edmx, line 3, column 3: invalid XML: mismatched tag. Fix the XML at that position or download "
     "the "
     "$metadata document again.", (3, 3)),
    ("bomb.edmx", b'<?xml version="1.0"?>\n<!DOCTYPE l [<!ENTITY l "l">]>\n<edmx:Edmx Version="4.0" '
                  b'xmlns:edmx="x"/>',
     "bomb.edmx: XML with a DOCTYPE or ENTITY declaration is refused (entity expansion attacks); $metadata "
     "documents never need one. Remove the declaration.", (None, None)),
    ("nobase.json", b'{"openapi":"3.0.0",' + ONE_GET + b"}",
     "nobase.json: the spec names no server and no --base-url was given. Pass "
     "--base-url https://<erp-host>/....",
     (None, None)),
    ("relative.json", b'{"openapi":"3.0.0","servers":[{"url":"/api/v1"}],' + ONE_GET + b"}",
     "relative.json: the spec's server URL '/api/v1' is relative and no --base-url was given. Pass "
     "--base-url https://<erp-host>/api/v1.", (None, None)),
    ("unsupported.json",
     b'{"openapi":"3.0.0","servers":[{"url":"https://erp.acme-gmbh.de"}],"paths":{"/a":{"options":{"responses":{}},'
     b'"get":{"parameters":[{"name":"c","in":"cookie","required":true}]}}}}',
     "unsupported.json: none of the 2 operations is supported (get_a: required parameter 'c': parameters in "
     "'cookie' are not supported; options_a: HTTP method OPTIONS is not supported). See the skipped reasons "
     "and "
     "fix the spec.", (None, None)),
]


@pytest.mark.parametrize(("filename", "raw", "message", "position"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_specs(
    filename: str, raw: bytes, message: str, position: tuple[int | None, int | None]
) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(raw, filename=filename)
    assert str(caught.value) == message
    assert (caught.value.line, caught.value.column) == position
    assert caught.value.filename == filename


def test_edmx_needs_a_base_url_and_hints_the_service_root() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(SPECS / "odata" / "sap_cloud_sdk_API_TEST_SRV.v2.edmx")
    assert str(caught.value) == (
        "sap_cloud_sdk_API_TEST_SRV.v2.edmx: an EDMX document has no base URL: pass "
        "--base-url https://<erp-host>/<service-root>/ (the service root, e.g. "
        "https://<erp-host>/sap/opu/odata/sap/API_TEST_SRV/)."
    )


SANDBOX_HOSTS = [
    ("https://erp.example.com/v1", "a placeholder host", "/v1"),
    ("https://api-sandbox.erp-vendor.com/v2", "a sandbox, demo or staging host", "/v2"),
    ("https://sandbox-quickbooks.api.intuit.com", "a sandbox, demo or staging host", "/"),
    ("http://demo.akeneo.com", "a sandbox, demo or staging host", "/"),
    ("https://api.vendor.com/v2.0/sandbox/api", "a sandbox, demo or staging environment", "/v2.0/sandbox/api"),
    ("http://localhost:8080/api", "localhost", "/api"),
    ("https://erp.acme.test", "a reserved test domain", "/"),
]


@pytest.mark.parametrize(("server", "reason", "path"), SANDBOX_HOSTS)
def test_sandbox_or_placeholder_servers_need_a_base_url(server: str, reason: str, path: str) -> None:
    doc = b'{"openapi":"3.0.0","servers":[{"url":"' + server.encode() + b'"}],' + ONE_GET + b"}"
    with pytest.raises(SpecError) as caught:
        load_spec(doc, filename="vendor.json")
    assert str(caught.value) == (
        f"vendor.json: the spec's servers ({server}) name only {reason}, not your ERP. Pass the ERP's real "
        f"address with --base-url https://<erp-host>{path}"
    )
    built = load_spec(doc, filename="vendor.json", base_url="https://erp.acme-gmbh.de/api")
    assert built.spec.base_url == "https://erp.acme-gmbh.de/api/" and built.spec.base_url_evidence == "--base-url"


def test_a_sandbox_server_listed_first_is_skipped_for_the_production_one() -> None:
    doc = (b'{"openapi":"3.0.0","servers":[{"url":"https://api.vendor.com/v2.0/sandbox/api"},'
           b'{"url":"https://api.vendor.com/v2.0/production/api"}],' + ONE_GET + b"}")
    spec = load_spec(doc, filename="vendor.json").spec
    assert spec.base_url == "https://api.vendor.com/v2.0/production/api/"
    assert spec.base_url_evidence == (
        "servers[1].url of the spec; skipped https://api.vendor.com/v2.0/sandbox/api (a sandbox, demo or "
        "staging environment)"
    )


def test_missing_file() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec("/nonexistent/spec.yaml")
    assert str(caught.value) == (
        "/nonexistent/spec.yaml: cannot read the spec file (No such file or directory). Check the path."
    )


QB = "quickbooks_online_v3.openapi.yaml"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "Bad Name"},
         "SDK name 'Bad Name' is invalid: use 1-63 characters a-z, 0-9 and '_', starting with a letter "
         "(e.g. 'business_central')."),
        ({"headers": {"X Bad": "1"}}, "header name 'X Bad' is invalid: use letters, digits and '-' (e.g. "
                                      "'X-ERP-Tenant')."),
        ({"headers": {"X-T": "a\r\nb"}}, "value of header 'X-T' contains a line break or NUL: remove it."),
        ({"base_url": "ftp://x"}, f"{QB}: --base-url 'ftp://x' is not an absolute http(s) URL. Pass "
                                  "--base-url https://<erp-host>/<service-root>."),
        ({"base_url": "https://user:s3cret@x.example/a"},
         f"{QB}: --base-url https://x.example/... must not contain credentials, a query or a fragment. Pass "
         "only "
         "scheme, host, port and path; credentials go to the tenant's credential store."),
        ({"auth_scheme": "nope"}, f"{QB}: --auth 'nope' is not a security scheme of the spec "
                                  "(available: "
                                  "OAuth2, bearerAuth)."),
    ],
)
def test_invalid_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        load_spec(SPECS / QB, **options)  # type: ignore[arg-type]
    assert str(caught.value) == message
    assert "s3cret" not in str(caught.value)
