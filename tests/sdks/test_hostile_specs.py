"""Hostile specs and options through ``erp sdk build`` (the real console script): each exits 2 with one clear
line, quickly, and leaves nothing behind (no version, no object); ``erp tenant allow-egress`` refuses public
addresses."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import ErpCli
from tests.support.spec_bombs import alias_bomb, deep_json, ref_fanout, small_spec

TAIL = "The published ERP specs tested stay below it; if this one is genuine, raise {s} and build again."


def _spec(**changes: object) -> bytes:
    return json.dumps(small_spec(**changes)).encode()


def _nul() -> bytes:
    return _spec(info={"title": "t", "version": "1", "description": "a\0b"})


def _template() -> bytes:
    doc = small_spec()
    get = doc["paths"]["/things"]["get"]
    get["parameters"] = [{"name": "a{b", "in": "path", "required": True, "schema": {"type": "string"}}]
    doc["paths"] = {"/x/{a{b}": {"get": get}}
    return json.dumps(doc).encode()


CASES = [
    ("alias-bomb", "laughs.yaml", alias_bomb, (),
     "laughs.yaml: the document expands to at least 11,111,111 values (YAML aliases count once per use): over "
     "the limit of 5,000,000 values (ERP_SPEC_MAX_NODES). " + TAIL.format(s="ERP_SPEC_MAX_NODES")),
    ("ref-fanout", "fanout.json", ref_fanout, (),
     "fanout.json: one schema expands to 14,444,444 values once its $ref pointers are inlined (schemas that "
     "reference each other many times over): over the limit of 1,500,000 values (ERP_SPEC_MAX_REF_EXPANSIONS). "
     + TAIL.format(s="ERP_SPEC_MAX_REF_EXPANSIONS")),
    ("deep-json", "deep.json", deep_json, (),
     "deep.json: values are nested too deeply to read: over the limit of 200 levels (ERP_SPEC_MAX_DEPTH). "
     + TAIL.format(s="ERP_SPEC_MAX_DEPTH")),
    ("nul", "nul.json", _nul, (),
     "nul.json: the spec contains a NUL character (U+0000, or the escape \\u0000), which no API description "
     "needs and the registry cannot store. Remove it (it is often a copy-and-paste accident) and build again."),
    ("path-template", "t.json", _template, (),
     "t.json: none of the 1 operations is supported (list_things: path template '/x/{a{b}' nests '{' inside a "
     "parameter at character 6: write each parameter as {name}). See the skipped reasons and fix the spec."),
    ("self-ref-path", "loop.json", lambda: _spec(paths={"/loop": {"$ref": "#/paths/~1loop"}}), (),
     "loop.json: the spec's paths define no operation (path '/loop' is ignored: its reference '#/paths/~1loop' "
     "refers to itself). Pass a spec whose paths have operations (get, post, ...)."),
    ("external-ref-path", "ext.json", lambda: _spec(paths={"/x": {"$ref": "other.yaml#/paths/~1x"}}), (),
     "ext.json: the spec's paths define no operation (path '/x' is ignored: its reference "
     "'other.yaml#/paths/~1x' is not local to the document (only '#/...' is supported)). Pass a spec whose "
     "paths have operations (get, post, ...)."),
    ("wildcard-server", "w.json", lambda: _spec(servers=[{"url": "https://*.acme-corp.com/api/"}]), (),
     "w.json: servers[0].url 'https://*.acme-corp.com/api/' is refused: its host '*.acme-corp.com' contains "
     "'*': a wildcard would let the SDK reach every matching host. Name the ERP's own host, e.g. --base-url "
     "https://erp.example.com/api/."),
    ("header-host", "h.json", _spec, ("--header", "Host=admin.internal"),
     "--header 'Host' is refused: the sandbox host sets it from the SDK's base URL. Set only headers the ERP "
     "itself requires, e.g. --header X-ERP-Tenant=acme."),
    ("header-authorization", "h.json", _spec, ("--header", "Authorization=Bearer forged"),
     "--header 'Authorization' is refused: the host attaches credentials by the SDK's auth scheme (`erp "
     "credentials set`). Set only headers the ERP itself requires, e.g. --header X-ERP-Tenant=acme."),
    ("header-content-length", "h.json", _spec, ("--header", "Content-Length=5"),
     "--header 'Content-Length' is refused: the host frames the request body itself. Set only headers the ERP "
     "itself requires, e.g. --header X-ERP-Tenant=acme."),
    ("header-cookie", "h.json", _spec, ("--header", "Cookie=session=stolen"),
     "h.json: --header 'Cookie' is refused: cookies carry sessions and credentials; only a spec that declares "
     "a Cookie can have one, and this spec declares none (no cookie parameter or cookie security scheme). "
     "Store session credentials with `erp credentials set`."),
]


@pytest.fixture(scope="module")
def hostile_tenant(cli: ErpCli, new_tenant: Callable[..., str]) -> str:
    return new_tenant("hostile")


@pytest.mark.parametrize(("label", "filename", "make", "options", "message"), CASES, ids=[c[0] for c in CASES])
def test_a_hostile_spec_exits_2_with_one_line_and_leaves_nothing(
    cli: ErpCli, hostile_tenant: str, tmp_path: Path, label: str, filename: str, make: Callable[[], bytes],
    options: tuple[str, ...], message: str,
) -> None:
    spec = tmp_path / filename
    spec.write_bytes(make())
    started = time.perf_counter()
    result = cli("sdk", "build", hostile_tenant, "--spec", str(spec), *options, timeout=300)
    assert (result.code, result.stderr.strip()) == (2, f"error: {message}"), label
    assert time.perf_counter() - started < 60
    listed = cli("sdk", "list", hostile_tenant, "--json")
    assert listed.code == 0 and listed.json() == []
    assert not (cli.home / "objects" / "tenants" / hostile_tenant).exists()


def test_the_limits_are_settings(cli: ErpCli, hostile_tenant: str, tmp_path: Path) -> None:
    spec = tmp_path / "small.json"
    spec.write_bytes(_spec())
    strict = dataclasses.replace(cli, extra_env=(("ERP_SPEC_MAX_NODES", "10"),))
    result = strict("sdk", "build", hostile_tenant, "--spec", str(spec), timeout=300)
    assert result.code == 2
    assert result.stderr.strip().startswith(
        "error: small.json: the document expands to at least 11 values (YAML aliases count once per use): over "
        "the limit of 10 values (ERP_SPEC_MAX_NODES)."
    )
    bad = dataclasses.replace(cli, extra_env=(("ERP_SPEC_PARSE_MEMORY_MB", "lots"),))
    result = bad("sdk", "list", hostile_tenant)
    assert result.code == 2
    assert "ERP_SPEC_PARSE_MEMORY_MB: Input should be a valid integer" in result.stderr


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("8.8.8.8:443", "8.8.8.8:443 was refused: 8.8.8.8 is a public address. allow-egress lets a tenant's SDKs "
         "reach an ERP on a private or loopback address (on-premise or local development), which the sandbox "
         "refuses by default; public ERPs need no exception: their SDK reaches the hosts named by its spec or "
         "--base-url."),
        ("[2606:4700:4700::1111]:443", "2606:4700:4700::1111:443 was refused: 2606:4700:4700::1111 is a public "
         "address. allow-egress lets a tenant's SDKs reach an ERP on a private or loopback address (on-premise or "
         "local development), which the sandbox refuses by default; public ERPs need no exception: their SDK "
         "reaches the hosts named by its spec or --base-url."),
        ("169.254.169.254:80", "169.254.169.254:80 was refused: 169.254.169.254 is a cloud metadata address, "
         "which an SDK may never reach. allow-egress lets a tenant's SDKs reach an ERP on a private or loopback "
         "address (on-premise or local development), which the sandbox refuses by default."),
    ],
    ids=["public-v4", "public-v6", "metadata"],
)
def test_allow_egress_refuses_public_and_metadata_addresses(
    cli: ErpCli, hostile_tenant: str, target: str, message: str
) -> None:
    result = cli("tenant", "allow-egress", hostile_tenant, target)
    assert (result.code, result.stderr.strip()) == (2, f"error: {message}")
    shown = cli("tenant", "show", hostile_tenant, "--json")
    assert shown.code == 0 and shown.json()["egress_private_allowlist"] == []
    allowed = cli("tenant", "allow-egress", hostile_tenant, "10.20.30.40:8443")
    assert allowed.code == 0, allowed.stderr
    revoked = cli("tenant", "allow-egress", hostile_tenant, "10.20.30.40:8443", "--revoke")
    assert revoked.code == 0, revoked.stderr
