"""``erp sdk ...``: build SDKs from specs, list and show versions, activate, revoke, and call operations.

``build`` exits with status 1 when the SDK was registered as FAILED (its sandbox tests failed), so
scripts notice; a spec, option or scan problem exits with status 2 and registers nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from erp_platform._errors import InvalidInputError
from erp_platform.cli._app import app
from erp_platform.cli._output import echo, platform, print_json, print_table
from erp_platform.cli._sdk_render import build_summary, check_lines

if TYPE_CHECKING:
    from erp_platform.sandbox import PageResult
    from erp_platform.sdks import SdkService, SdkVersionInfo


def _service(plat: Any) -> SdkService:
    """The SDK service, imported on use (it pulls in wasmtime and polars: keep `erp --help` fast)."""
    from erp_platform.sdks import SdkService

    return SdkService.from_platform(plat)

sdk_app = typer.Typer(
    help="Build SDKs from API specs, test them in the sandbox, and manage their versions.",
    no_args_is_help=True,
)
app.add_typer(sdk_app, name="sdk")

JSON = typer.Option(False, "--json", help="print the result as JSON")
SpecOption = Annotated[
    Path | None, typer.Option("--spec", help="OpenAPI 3 / Swagger 2 (YAML or JSON) or OData EDMX file")
]
DocsOption = Annotated[
    Path | None,
    typer.Option("--docs", help="API documentation (Markdown, HTML or text; a file or a folder), read by the AI "
                 "assistant: every operation cites its passage"),
]
NameOption = Annotated[str | None, typer.Option("--name", help="SDK name (default: from the spec's title)")]
BaseUrlOption = Annotated[
    str | None, typer.Option("--base-url", help="the ERP's base URL (required for EDMX)")
]
HeaderOption = Annotated[
    list[str] | None, typer.Option("--header", help="NAME=VALUE sent on every request (repeatable)")
]
AuthOption = Annotated[
    str | None, typer.Option("--auth", help="auth scheme: a securitySchemes name, or bearer|basic")
]
OverrideOption = Annotated[
    Path | None,
    typer.Option("--override", help="YAML/JSON file: {operations: {OP: {record_path, primary_key, paging, "
                                     "incremental}}} replacing the builder's decisions"),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="OPERATION.FIELD=VALUE, e.g. list_contacts.primary_key=ContactID or "
                               "list_contacts.paging.style=page (repeatable; wins over --override)"),
]
ParamsOption = Annotated[str, typer.Option("--params", help='JSON object of parameters, e.g. \'{"id": 7}\'')]
CallVersionOption = Annotated[
    int | None, typer.Option("--version", help="default: the newest ACTIVE, else the newest TESTING")
]
PagesOption = Annotated[int, typer.Option("--pages", help="follow the continuation token for up to N pages")]


def _headers(values: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInputError(f"--header {item!r} is not NAME=VALUE, e.g. --header X-ERP-Tenant=acme")
        headers[name.strip()] = value
    return headers


def _params(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInputError(
            f"--params is not valid JSON ({exc}); pass an object, e.g. --params '{{\"_page_size\": 100}}'"
        ) from None
    if not isinstance(value, dict):
        raise InvalidInputError(
            f"--params must be a JSON object, got {type(value).__name__}; e.g. --params '{{\"id\": 7}}'"
        )
    return value


def _when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"


def _print_version(info: SdkVersionInfo) -> None:
    """Plain ``key  value`` lines (hashes and references are never cut to fit the terminal)."""
    fields: dict[str, object] = {
        "name": info.name,
        "version": info.version,
        "status": info.status,
        "title": info.title or "-",
        "format": info.source_format or "-",
        "base url": info.base_url or "-",
        "allowed domains": ", ".join(info.allowed_domains) or "-",
        "operations": info.operation_count,
        "skipped operations": len(info.skipped_operations),
        "capabilities": len(info.capabilities),
        "tests": info.test_summary(),
        "spec hash": info.spec_hash,
        "code hash": info.code_hash,
        "wasm hash": info.wasm_hash or "-",
        "builder version": info.builder_version,
        "artifacts": info.artifacts.wasm.rsplit("/", 1)[0] + "/" if info.artifacts.wasm else "-",
        "created": f"{_when(info.created_at)} by {info.created_by}",
        "activated": _when(info.activated_at),
        "revoked": _when(info.revoked_at),
    }
    if info.timings:
        t = info.timings
        fields["build time"] = (
            f"{t.get('total', 0):.1f} s (parse {t.get('parse', 0):.1f}, generate {t.get('generate', 0):.1f}, "
            f"compile {t.get('compile', 0):.1f}, precompile {t.get('precompile', 0):.1f}, "
            f"sandbox tests {t.get('sandbox_tests', 0):.1f}, register {t.get('register', 0):.1f})"
        )
    width = max(len(key) for key in fields)
    echo(f"SDK {info.name} v{info.version} of tenant {info.tenant}")
    for key, value in fields.items():
        echo(f"  {key.ljust(width)}  {value}")
    for skipped in info.skipped_operations:
        echo(f"  skipped {skipped.method} {skipped.path} ({skipped.operation_id}): {skipped.reason}")
    if info.test_results is not None:
        for result in info.test_results.failed:
            echo(f"  test failed: {result.operation}: {result.error}")
        for problem in info.test_results.problems:
            echo(f"  test problem: {problem}")
    for warning in info.warnings:
        echo(f"  warning: {warning}")


@sdk_app.command("build")
def build(
    tenant: str,
    *,
    spec: SpecOption = None,
    docs: DocsOption = None,
    name: NameOption = None,
    base_url: BaseUrlOption = None,
    header: HeaderOption = None,
    auth: AuthOption = None,
    override: OverrideOption = None,
    set_: SetOption = None,
    as_json: bool = JSON,
) -> None:
    """Build an SDK from a spec (or, with the AI assistant, from plain documentation), test it in the sandbox
    and register it as the next version (TESTING, or FAILED with the test results).

    Prints each list operation's record selector, paging, primary key and incremental cursor with the
    evidence that decided it; override any of them with --override FILE or --set. Building the same spec
    with the same options again registers nothing ("unchanged: version N").
    """
    from sdk_builder import parse_overrides

    if (spec is None) == (docs is None):
        raise InvalidInputError(
            "give exactly one of --spec FILE (OpenAPI, Swagger or EDMX) or --docs FILE_OR_FOLDER (documentation "
            f"read by the AI assistant), e.g. `erp sdk build {tenant} --spec erp.openapi.yaml`"
        )
    if docs is not None:
        from erp_platform.cli._assistant import build_from_docs

        info = build_from_docs(tenant, docs, name=name, base_url=base_url, as_json=as_json)
        if info.status == "FAILED":
            raise typer.Exit(1)
        return
    assert spec is not None
    headers = _headers(header or [])
    overrides = None
    if override is not None or set_:
        text = None
        if override is not None:
            try:
                text = override.read_text(encoding="utf-8")
            except OSError as exc:
                raise InvalidInputError(
                    f"--override {override}: cannot read it ({exc.strerror}); check the path"
                ) from None
        overrides = parse_overrides(text, set_ or [], source=f"--override {override}" if override else "--set")
    with platform() as plat:
        info = _service(plat).build(
            tenant, spec, name=name, base_url=base_url, headers=headers or None, auth_scheme=auth,
            overrides=overrides,
        )
    if as_json:
        print_json(info)
    else:
        _print_version(info)
        for line in build_summary(info, tenant):
            echo(line)
        if info.status == "TESTING":
            echo(f"activate it with: erp sdk activate {tenant} {info.name} {info.version}")
    if info.status == "FAILED":
        raise typer.Exit(1)


@sdk_app.command("list")
def list_(tenant: str, as_json: bool = JSON) -> None:
    """List every version of every SDK of TENANT."""
    with platform() as plat:
        infos = _service(plat).list(tenant)
    if as_json:
        print_json(infos)
        return
    print_table(
        f"SDKs of {tenant}",
        ["name", "version", "status", "operations", "skipped", "tests", "created"],
        [[i.name, i.version, i.status, i.operation_count, len(i.skipped_operations),
          "passed" if i.test_results and i.test_results.passed else "failed", _when(i.created_at)]
         for i in infos],
    )


@sdk_app.command("show")
def show(
    tenant: str,
    name: str,
    version: int | None = typer.Option(None, "--version", help="default: the newest ACTIVE, else the newest"),
    as_json: bool = JSON,
) -> None:
    """Show one SDK version: hashes, artifacts, skipped operations and sandbox test results."""
    with platform() as plat:
        info = _service(plat).get(tenant, name, version)
    if as_json:
        print_json(info)
    else:
        _print_version(info)
        for line in build_summary(info, tenant):
            echo(line)


@sdk_app.command("activate")
def activate(tenant: str, name: str, version: int, as_json: bool = JSON) -> None:
    """Activate a TESTING version (several ACTIVE versions may coexist)."""
    with platform() as plat:
        info = _service(plat).activate(tenant, name, version)
    if as_json:
        print_json(info)
    else:
        echo(f"SDK {info.name} v{info.version} of tenant {tenant} is {info.status}")


@sdk_app.command("revoke")
def revoke(tenant: str, name: str, version: int, as_json: bool = JSON) -> None:
    """Revoke a version for good: it never opens again."""
    with platform() as plat:
        info = _service(plat).revoke(tenant, name, version)
    if as_json:
        print_json(info)
    else:
        echo(f"SDK {info.name} v{info.version} of tenant {tenant} is {info.status}")


@sdk_app.command("prune")
def prune(
    tenant: str,
    name: str,
    *,
    keep: int = typer.Option(..., "--keep", help="keep the newest N versions whatever their status"),
    as_json: bool = JSON,
) -> None:
    """Delete the stored artifacts of old REVOKED and FAILED versions to free storage (audited).

    ACTIVE and TESTING versions, the newest --keep versions and versions a workflow pins
    (required_sdk_version) are kept; the registry keeps every version's row.
    """
    with platform() as plat:
        report = _service(plat).prune(tenant, name, keep=keep)
    if as_json:
        print_json(report)
        return
    for pruned in report.pruned:
        print(f"pruned v{pruned.version} ({pruned.status}): {pruned.objects} objects deleted")
    for kept in report.kept:
        print(f"kept v{kept.version} ({kept.status}): {kept.reason}")
    from erp_platform.objectstore import StorageUsage, human_bytes

    usage = StorageUsage(tenant, report.used_bytes, report.limit_bytes)
    print(f"{len(report.pruned)} version(s) pruned, {human_bytes(report.freed_bytes)} freed; tenant {tenant} "
          f"stores {usage.summary}")


@sdk_app.command("check")
def check(
    tenant: str,
    name: str,
    operation: Annotated[str | None, typer.Argument(help="a GET list operation (default: the first one "
                                                         "that needs no parameters)")] = None,
    *,
    params: ParamsOption = "{}",
    version: CallVersionOption = None,
    as_json: bool = JSON,
) -> None:
    """One live, read-only call with TENANT's credentials: records received, selector, next page, problems.

    Exits with status 1 when a problem was found (a missing credential, an error, or records the
    selector did not find).
    """
    values = _params(params)
    with platform() as plat:
        report = _service(plat).check(tenant, name, operation, version=version, params=values)
    if as_json:
        print_json(report)
    else:
        for line in check_lines(report):
            echo(line)
    if not report.ok:
        raise typer.Exit(1)


def _page_json(page: PageResult) -> dict[str, Any]:
    return {
        "status": page.status, "entity": page.entity, "next": page.next, "records": page.records,
        "result": page.result, "requests": page.stats.requests, "ms": page.stats.total_ms,
    }


@sdk_app.command("call")
def call(
    tenant: str,
    name: str,
    operation: str,
    *,
    params: ParamsOption = "{}",
    version: CallVersionOption = None,
    pages: PagesOption = 1,
    as_json: bool = JSON,
) -> None:
    """Run OPERATION (for debugging an SDK): prints the records, one JSON object per line."""
    values = _params(params)
    with platform() as plat:
        results = _service(plat).call(
            tenant, name, operation, values, version=version, pages=pages, run_id="cli"
        )
    if as_json:
        print_json({"pages": [_page_json(page) for page in results]})
        return
    count = 0
    for page in results:
        for record in page.records:
            print(json.dumps(record, ensure_ascii=False, sort_keys=True))
            count += 1
        if not page.records and page.result is not None:
            print(json.dumps(page.result, ensure_ascii=False, sort_keys=True))
    last = results[-1].next if results else None
    typer.echo(f"{count} records in {len(results)} page(s); next: {last or 'none (last page)'}", err=True)
