"""Spec bombs and malformed specs: each is refused quickly with the limit and the setting that raises it.

Through ``load_spec`` (in process) and ``build_sdk`` (the spec parsed in a memory- and time-limited child
process, as ``erp sdk build`` does).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from erp_platform._errors import InvalidInputError
from erp_platform.sandbox._manifest import AuthConfig, AuthScheme
from sdk_builder import SdkOverrides, SpecError, SpecLimitExceeded, SpecLimits, build_sdk, load_spec
from sdk_builder._isolated import load_spec_isolated
from tests.support.spec_bombs import alias_bomb, deep_json, ref_fanout, small_spec
from tests.support.specs import SHARED_SPECS

TAIL = "The published ERP specs tested stay below it; if this one is genuine, raise {s} and build again."


def _limit(message: str, setting: str) -> str:
    return f"{message} ({setting}). {TAIL.format(s=setting)}"


def test_yaml_alias_bomb_is_refused_before_it_expands() -> None:
    started = time.perf_counter()
    with pytest.raises(SpecLimitExceeded) as caught:
        load_spec(alias_bomb(), filename="laughs.yaml")
    assert str(caught.value) == "laughs.yaml: " + _limit(
        "the document expands to at least 11,111,111 values (YAML aliases count once per use): over the "
        "limit of 5,000,000 values", "ERP_SPEC_MAX_NODES",
    )
    assert caught.value.limit_name == "max_nodes"
    assert time.perf_counter() - started < 5


def test_a_few_aliases_within_the_limit_still_read() -> None:
    raw = alias_bomb(levels=3, fan_out=3)  # 27 strings: a spec that merely reuses values
    parsed = load_spec(raw, filename="reuse.yaml")
    assert [op.id for op in parsed.spec.operations] == ["list_things"]


def test_a_cyclic_alias_is_refused() -> None:
    doc = "x-loop: &loop [1, *loop]\n" + yaml.safe_dump(small_spec())
    with pytest.raises(SpecError) as caught:
        load_spec(doc.encode(), filename="loop.yaml")
    assert str(caught.value) == (
        "loop.yaml: a YAML alias refers to a value that contains it (a cyclic document); write the value out "
        "in full instead of using the alias."
    )


def test_ref_fanout_is_refused_before_anything_is_copied() -> None:
    started = time.perf_counter()
    with pytest.raises(SpecLimitExceeded) as caught:
        load_spec(ref_fanout(), filename="fanout.json")
    assert str(caught.value) == "fanout.json: " + _limit(
        "one schema expands to 14,444,444 values once its $ref pointers are inlined (schemas that reference "
        "each other many times over): over the limit of 1,500,000 values", "ERP_SPEC_MAX_REF_EXPANSIONS",
    )
    assert time.perf_counter() - started < 5


def test_a_long_ref_chain_is_refused() -> None:
    schemas = {f"S{i}": {"$ref": f"#/components/schemas/S{i + 1}"} for i in range(80)}
    schemas["S80"] = {"type": "object", "properties": {"id": {"type": "integer"}}}
    doc = small_spec(components={"schemas": schemas})
    doc["paths"]["/things"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {
        "type": "array", "items": {"$ref": "#/components/schemas/S0"}}
    with pytest.raises(SpecLimitExceeded) as caught:
        load_spec(json.dumps(doc).encode(), filename="chain.json")
    assert str(caught.value) == "chain.json: " + _limit(
        "$ref '#/components/schemas/S64' is reached through more than 64 $ref pointers in a row: over the "
        "limit of 64 pointers", "ERP_SPEC_MAX_REF_CHAIN",
    )


def test_deeply_nested_json_is_refused_without_a_recursion_error() -> None:
    with pytest.raises(SpecLimitExceeded) as caught:
        load_spec(deep_json(), filename="deep.json")
    assert str(caught.value) == "deep.json: " + _limit(
        "values are nested too deeply to read: over the limit of 200 levels", "ERP_SPEC_MAX_DEPTH"
    )


def test_nesting_past_the_depth_limit_is_refused() -> None:
    with pytest.raises(SpecLimitExceeded) as caught:
        load_spec(deep_json(300), filename="deep.json")
    assert str(caught.value) == "deep.json: " + _limit(
        "values are nested more than 200 levels deep: over the limit of 200 levels", "ERP_SPEC_MAX_DEPTH"
    )


def test_a_file_over_the_size_limit_is_refused() -> None:
    raw = json.dumps(small_spec()).encode()
    with pytest.raises(SpecLimitExceeded) as caught:
        load_spec(raw, filename="big.json", limits=SpecLimits(max_bytes=100))
    assert str(caught.value) == "big.json: " + _limit(
        f"the file has {len(raw)} bytes: over the limit of 100 bytes", "ERP_SPEC_MAX_BYTES"
    )


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (json.dumps(small_spec(info={"title": "t", "version": "1", "description": "a\0b"})).encode(), ""),
        (b'openapi: 3.0.0\ninfo: {title: t, version: "1", description: "a\0b"}\npaths: {}\n',
         ", line 2, column 47"),
    ],
    ids=["json-escape", "raw-byte"],
)
def test_a_nul_character_is_refused_early(raw: bytes, where: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(raw, filename="nul.yaml")
    assert str(caught.value) == (
        f"nul.yaml{where}: the spec contains a NUL character (U+0000, or the escape \\u0000), which no API "
        "description needs and the registry cannot store. Remove it (it is often a copy-and-paste accident) "
        "and build again."
    )


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("/x/{a{b}", "path template '/x/{a{b}' nests '{' inside a parameter at character 6"),
        ("/x/{a", "path template '/x/{a' does not close the '{' at character 4"),
        ("/x/a}", "path template '/x/a}' has a '}' without its '{' at character 5"),
        ("/x/{}", "path template '/x/{}' has an empty parameter '{}' at character 4"),
    ],
)
def test_a_malformed_path_template_is_a_skip_reason_and_alone_refuses_the_spec(template: str, reason: str) -> None:
    doc = small_spec()
    get = doc["paths"]["/things"]["get"]
    get["parameters"] = [{"name": "a{b", "in": "path", "required": True, "schema": {"type": "string"}}]
    doc["paths"] = {template: {"get": get}}
    with pytest.raises(SpecError) as caught:
        load_spec(json.dumps(doc).encode(), filename="t.json")
    assert str(caught.value) == (
        f"t.json: none of the 1 operations is supported (list_things: {reason}: write each parameter as "
        "{name}). See the skipped reasons and fix the spec."
    )


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("#/paths/~1loop", "reference '#/paths/~1loop' refers to itself"),
        ("other.yaml#/paths/~1x", "reference 'other.yaml#/paths/~1x' is not local to the document (only "
                                  "'#/...' is supported)"),
        ("#/paths/~1nowhere", "reference '#/paths/~1nowhere' points to nothing in the document"),
    ],
    ids=["self", "external", "dangling"],
)
def test_a_path_item_ref_that_cannot_resolve_is_ignored_with_a_warning(ref: str, reason: str) -> None:
    doc = small_spec()
    doc["paths"]["/loop"] = {"$ref": ref}
    parsed = load_spec(json.dumps(doc).encode(), filename="t.json")
    assert [op.path for op in parsed.spec.operations] == ["things"]
    assert parsed.warnings == (f"t.json: path '/loop' is ignored: its {reason}",)
    doc["paths"] = {"/loop": {"$ref": ref}}
    with pytest.raises(SpecError):
        load_spec(json.dumps(doc).encode(), filename="t.json")


@pytest.mark.parametrize(
    "servers",
    [
        [{"url": "https://*.acme-corp.com/api/"}],
        [{"url": "https://{tenant}.acme-corp.com/api/", "variables": {"tenant": {"default": "*"}}}],
    ],
    ids=["literal", "variable-default"],
)
def test_a_wildcard_server_host_is_refused(servers: list[dict[str, object]]) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(json.dumps(small_spec(servers=servers)).encode(), filename="w.json")
    assert str(caught.value) == (
        "w.json: servers[0].url 'https://*.acme-corp.com/api/' is refused: its host '*.acme-corp.com' "
        "contains '*': a wildcard would let the SDK reach every matching host. Name the ERP's own host, e.g. "
        "--base-url https://erp.example.com/api/."
    )


def test_a_wildcard_in_a_further_server_is_refused_too() -> None:
    servers = [{"url": "https://erp.acme-corp.com/api/"}, {"url": "https://*.acme-corp.com/api/"}]
    with pytest.raises(SpecError) as caught:
        load_spec(json.dumps(small_spec(servers=servers)).encode(), filename="w.json")
    assert str(caught.value) == (
        "w.json: servers[1].url 'https://*.acme-corp.com/api/' is refused: its host '*.acme-corp.com' "
        "contains '*': a wildcard would let the SDK reach every matching host. Name the ERP's own host (or "
        "remove that server from the spec)."
    )


def test_a_wildcard_base_url_option_is_refused() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(json.dumps(small_spec()).encode(), filename="w.json", base_url="https://*.acme-corp.com/")
    assert "--base-url 'https://*.acme-corp.com/' is refused: its host '*.acme-corp.com' contains '*'" in str(
        caught.value)


HOST_OWNED = [
    ("Host", "the sandbox host sets it from the SDK's base URL"),
    ("authorization", "the host attaches credentials by the SDK's auth scheme (`erp credentials set`)"),
    ("Proxy-Authorization", "the host attaches credentials by the SDK's auth scheme (`erp credentials set`)"),
    ("Content-Length", "the host frames the request body itself"),
    ("Transfer-Encoding", "the host frames the request body itself"),
    ("Connection", "a hop-by-hop header: the host manages the connection itself"),
    ("Keep-Alive", "a hop-by-hop header: the host manages the connection itself"),
    ("Upgrade", "a hop-by-hop header: the host manages the connection itself"),
    ("TE", "a hop-by-hop header: the host manages the connection itself"),
    ("Trailer", "a hop-by-hop header: the host manages the connection itself"),
    ("Proxy-Connection", "proxy headers belong to the connection, which the host manages"),
    ("X-Forwarded-For", "the host does not forward requests on anyone's behalf"),
    ("Forwarded", "the host does not forward requests on anyone's behalf"),
]


@pytest.mark.parametrize(("name", "why"), HOST_OWNED, ids=[h[0] for h in HOST_OWNED])
def test_a_host_owned_header_option_is_refused(name: str, why: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        load_spec(json.dumps(small_spec()).encode(), filename="h.json", headers={name: "admin.internal"})
    assert str(caught.value) == (
        f"--header {name!r} is refused: {why}. Set only headers the ERP itself requires, e.g. "
        "--header X-ERP-Tenant=acme."
    )


def test_a_cookie_header_needs_a_spec_that_declares_one() -> None:
    raw = json.dumps(small_spec()).encode()
    with pytest.raises(SpecError) as caught:
        load_spec(raw, filename="c.json", headers={"Cookie": "session=1"})
    assert str(caught.value) == (
        "c.json: --header 'Cookie' is refused: cookies carry sessions and credentials; only a spec that "
        "declares a Cookie can have one, and this spec declares none (no cookie parameter or cookie security "
        "scheme). Store session credentials with `erp credentials set`."
    )
    doc = small_spec()
    doc["paths"]["/things"]["get"]["parameters"] = [{"name": "session", "in": "cookie", "required": False}]
    parsed = load_spec(json.dumps(doc).encode(), filename="c.json", headers={"Cookie": "session=1"})
    assert [(h.name, h.value) for h in parsed.spec.required_headers] == [("Cookie", "session=1")]


def test_the_child_process_parse_matches_the_in_process_one_with_overrides() -> None:
    raw = json.dumps(small_spec()).encode()
    overrides = SdkOverrides.model_validate({"operations": {"list_things": {"primary_key": "id",
                                                                           "incremental": None}}})
    inline = load_spec(raw, filename="s.json", overrides=overrides)
    isolated = load_spec_isolated(raw, filename="s.json", overrides=overrides)
    assert isolated == inline
    assert isolated.spec.operations[0].primary_key == ("id",)


def test_the_child_process_refuses_a_bomb_with_the_same_message() -> None:
    with pytest.raises(SpecLimitExceeded) as caught:
        load_spec_isolated(ref_fanout(), filename="fanout.json")
    assert caught.value.limit_name == "max_ref_expansions"
    assert str(caught.value).startswith("fanout.json: one schema expands to 14,444,444 values")


def test_the_child_process_memory_limit_stops_what_the_budgets_let_through() -> None:
    limits = SpecLimits(max_nodes=10**12, memory_mb=400)
    with pytest.raises(SpecLimitExceeded) as caught:
        load_spec_isolated(alias_bomb(), filename="laughs.yaml", limits=limits)
    assert str(caught.value) == "laughs.yaml: " + _limit(
        "reading the spec needs more than 400 MB of memory: over the limit of 400 MB",
        "ERP_SPEC_PARSE_MEMORY_MB",
    )


def test_the_child_process_time_limit() -> None:
    # Starting the child and reading Business Central's 324 operations takes well over half a second.
    raw = (SHARED_SPECS / "dynamics365_business_central_v1.openapi.yaml").read_bytes()
    started = time.perf_counter()
    with pytest.raises(SpecLimitExceeded) as caught:
        load_spec_isolated(raw, filename="bc.yaml", limits=SpecLimits(timeout_seconds=0.5))
    assert str(caught.value) == "bc.yaml: " + _limit(
        "reading the spec took longer than 0.5 seconds: over the limit of 0.5 s", "ERP_SPEC_PARSE_TIMEOUT_SECONDS"
    )
    assert time.perf_counter() - started < 10


def test_build_sdk_refuses_the_bombs_and_compiles_nothing(tmp_path: Path) -> None:
    for name, raw in (("laughs.yaml", alias_bomb()), ("fanout.json", ref_fanout())):
        with pytest.raises(SpecLimitExceeded):
            build_sdk(raw, cache_dir=tmp_path, filename=name)
    assert not (tmp_path / "components").exists() and not (tmp_path / "builds").exists()


@pytest.mark.parametrize(
    ("env", "field", "value"),
    [("ERP_SPEC_MAX_NODES", "max_nodes", 7), ("ERP_SPEC_PARSE_TIMEOUT_SECONDS", "timeout_seconds", 2.5)],
)
def test_limits_come_from_the_settings(env: str, field: str, value: float) -> None:
    assert getattr(SpecLimits.from_env({env: str(value)}), field) == value
    with pytest.raises(ValueError, match=f"{env}='none' is not a positive"):
        SpecLimits.from_env({env: "none"})


def test_an_api_key_scheme_in_a_host_owned_header_is_never_used() -> None:
    schemes = {"key": {"type": "apiKey", "in": "header", "name": "Host"}}
    doc = small_spec(components={"securitySchemes": schemes}, security=[{"key": []}])
    parsed = load_spec(json.dumps(doc).encode(), filename="k.json")
    assert parsed.spec.auth == AuthConfig()
    assert parsed.warnings[0].startswith("k.json: none of the security schemes (key) is supported")
    with pytest.raises(ValueError, match="an API key cannot be sent in header 'Content-Length'"):
        AuthConfig(scheme=AuthScheme.API_KEY_HEADER, credential="api_key", header_name="Content-Length")
    assert AuthConfig(scheme=AuthScheme.API_KEY_HEADER, credential="k", header_name="Authorization").header_name
