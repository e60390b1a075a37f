"""``erp workflow ...`` and ``erp mapping ...``: scaffold, apply, activate, deprecate, retire and read
artifacts.

An invalid file prints every problem (JSON path, message, received value), exits with status 2 and stores
nothing. ``apply`` and ``show`` print what each load writes: its table, business key and columns (derived
from the SDK's fields when the load has no mapping).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml

from erp_platform._errors import InvalidInputError
from erp_platform.cli._app import app
from erp_platform.cli._output import echo, platform, print_json, print_table

if TYPE_CHECKING:
    from erp_platform._errors import Problem
    from erp_platform.workflows import LoadPlan, MappingRecord, WorkflowRecord


def _wf() -> ModuleType:
    """The workflows package, imported on use (it pulls in polars: keep `erp --help` fast)."""
    import erp_platform.workflows

    return erp_platform.workflows


workflow_app = typer.Typer(
    help="Apply, activate, deprecate and retire workflow definitions.", no_args_is_help=True
)
mapping_app = typer.Typer(
    help="Apply and activate mapping configs (referenced by loads).", no_args_is_help=True
)
app.add_typer(workflow_app, name="workflow")
app.add_typer(mapping_app, name="mapping")

JSON = typer.Option(False, "--json", help="print the result as JSON")
PARAM = typer.Option(
    [], "--param", help="NAME=VALUE for a parameter the definition declares and uses as {NAME} (repeatable)"
)
_VERSION_HELP = "default: the ACTIVE version, else the newest"
_DATE_HELP = "ISO 8601 date or date-time, e.g. 2026-12-31 or 2026-12-31T18:00:00+01:00 (default zone: UTC)"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(f"file not found: {path}; check the path") from None
    except IsADirectoryError:
        raise InvalidInputError(f"{path} is a folder; pass a .yaml or .json file") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None


def _parse_date(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError(f"{option}: {value!r} is not an {_DATE_HELP}") from None


def _registry(engine: Any) -> Any:
    return _wf().WorkflowRegistry(engine, _wf().registry_catalog_factory(engine))


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else "-"


def _print_record(title: str, fields: dict[str, object]) -> None:
    """Plain ``key  value`` lines: hashes and dates are never cut to fit the terminal."""
    width = max(len(k) for k in fields)
    echo(title)
    for key, value in fields.items():
        echo(f"  {key.ljust(width)}  {'-' if value is None else value}")


def _human_extra(extra: dict[str, Any] | None) -> dict[str, object]:
    if not extra or "created" not in extra:
        return {}
    return {"new version": "yes" if extra["created"] else "no: the newest version has the same content"}


def _show_workflow(record: WorkflowRecord, as_json: bool, extra: dict[str, Any] | None = None) -> None:
    if as_json:
        print_json({**record.model_dump(mode="json"), **(extra or {})})
        return
    fields: dict[str, object] = {
        "tenant": record.tenant,
        "workflow": record.workflow_id,
        "version": record.version,
        "status": record.status,
        "content hash": record.content_hash,
        "deprecated after": _when(record.deprecated_after),
        "force cancel after": _when(record.force_cancel_after),
        "required SDK version": record.required_sdk_version or "-",
        "required capabilities": ", ".join(record.required_capabilities) or "-",
        "created": f"{_when(record.created_at)} by {record.created_by}",
        "activated": _when(record.activated_at),
        "retired": _when(record.retired_at),
        **_human_extra(extra),
    }
    _print_record(f"workflow {record.ref}", fields)


# -- erp workflow ------------------------------------------------------------------------------------------
@workflow_app.command("validate")
def validate(tenant: str, file: Path, param: list[str] = PARAM, as_json: bool = JSON) -> None:
    """Check a definition against the tenant's SDKs and mappings without storing anything."""
    data = _read(file)
    params = _wf().parse_param_options(param)
    with platform() as plat:
        definition = _registry(plat.engine).validate(tenant, data, str(file), params)
    if as_json:
        print_json({"valid": True, "workflow_id": definition.id})
    else:
        echo(f"{file}: workflow {definition.id!r} is valid for tenant {tenant!r}")


@workflow_app.command("apply")
def apply(tenant: str, file: Path, param: list[str] = PARAM, as_json: bool = JSON) -> None:
    """Validate a definition file and store it as a new DRAFT version (idempotent for unchanged files);
    prints what each load writes (table, business key, columns).

    A definition that declares parameters gets their values here: --param erp_tenant=acme.
    """
    data = _read(file)
    params = _wf().parse_param_options(param)
    with platform() as plat:
        registry = _registry(plat.engine)
        record, created = registry.apply(tenant, data, str(file), params)
        _, definition = registry.get(tenant, record.workflow_id, record.version)
        plans, problems = registry.plan(tenant, definition)
    if as_json:
        print_json({**record.model_dump(mode="json"), "created": created, "loads": _plans_json(plans)})
        return
    _show_workflow(record, False, {"created": created})
    _print_plans(tenant, plans, problems)


@workflow_app.command("activate")
def activate(tenant: str, workflow: str, version: int, as_json: bool = JSON) -> None:
    """Make a version ACTIVE after a compatibility check; the previous ACTIVE one becomes DEPRECATED."""
    with platform() as plat:
        record = _registry(plat.engine).activate(tenant, workflow, version)
    _show_workflow(record, as_json)


@workflow_app.command("deprecate")
def deprecate(
    tenant: str,
    workflow: str,
    version: int,
    *,
    after: str = typer.Option(..., "--after", help=f"runs warn after this date: {_DATE_HELP}"),
    force_cancel_after: str | None = typer.Option(
        None, "--force-cancel-after", help="running executions are cancelled after this date"
    ),
    as_json: bool = JSON,
) -> None:
    """Set when a version is deprecated (and, optionally, when its runs are cancelled)."""
    after_at = _parse_date(after, "--after")
    assert after_at is not None
    cancel_at = _parse_date(force_cancel_after, "--force-cancel-after")
    with platform() as plat:
        record = _registry(plat.engine).deprecate(tenant, workflow, version, after_at, cancel_at)
    _show_workflow(record, as_json)


@workflow_app.command("retire")
def retire(tenant: str, workflow: str, version: int, as_json: bool = JSON) -> None:
    """Retire a version for good: it never runs again."""
    with platform() as plat:
        record = _registry(plat.engine).retire(tenant, workflow, version)
    _show_workflow(record, as_json)


@workflow_app.command("list")
def list_(tenant: str, as_json: bool = JSON) -> None:
    """List every version of the tenant's workflows."""
    with platform() as plat:
        records = _registry(plat.engine).list(tenant)
    if as_json:
        print_json(records)
        return
    print_table(
        f"workflows of {tenant}",
        ["workflow", "version", "status", "hash", "deprecated after", "cancel after"],
        [
            [
                r.workflow_id,
                r.version,
                r.status,
                r.content_hash[:12],
                _day(r.deprecated_after),
                _day(r.force_cancel_after),
            ]
            for r in records
        ],
    )


@workflow_app.command("show")
def show(
    tenant: str,
    workflow: str,
    version: int | None = typer.Option(None, "--version", help=_VERSION_HELP),
    as_json: bool = JSON,
) -> None:
    """Show one version with its (hash-verified) definition."""
    with platform() as plat:
        registry = _registry(plat.engine)
        record, definition = registry.get(tenant, workflow, version)
        plans, problems = registry.plan(tenant, definition)
    payload = _wf().definition_payload(definition)
    if as_json:
        print_json({**record.model_dump(mode="json"), "definition": payload, "loads": _plans_json(plans)})
        return
    _show_workflow(record, False)
    print(yaml.safe_dump(payload, sort_keys=False, allow_unicode=True), end="")
    _print_plans(tenant, plans, problems)


@workflow_app.command("scaffold")
def scaffold(
    tenant: str,
    sdk: str,
    operations: Annotated[list[str], typer.Argument(help="SDK operations to extract (collection reads)")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write to this file (default: print)")] = None,
    workflow_id: Annotated[str | None, typer.Option("--id", help="workflow id (default: SDK_sync)")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="NAME=VALUE for a required parameter of the operations (repeatable)"),
    ] = None,
    key: Annotated[
        list[str] | None,
        typer.Option("--key", help="OPERATION=FIELD[,FIELD] business key where the SDK declares none (repeatable)"),
    ] = None,
    sdk_version: Annotated[
        int | None, typer.Option("--version", help="SDK version (default: the newest ACTIVE, else TESTING)")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite the output file")] = False,
) -> None:
    """Write a complete workflow for OPERATIONS of an SDK: an extract per operation and a load with its
    business key and a mapping of every field (snake_case columns); edit it, then `erp workflow apply`."""
    scaffolding = _wf()
    request = scaffolding.ScaffoldRequest(
        operations=tuple(operations), workflow_id=workflow_id,
        params=_params(param or []), keys=_keys(key or []),
    )
    if output is not None and output.exists() and not force:
        raise InvalidInputError(f"{output} exists; pass --force to overwrite it, or choose another -o file")
    with platform() as plat:
        info = _sdk_info(plat.engine, tenant, sdk, sdk_version)
    text = scaffolding.scaffold_workflow(info, request)
    if output is None:
        print(text, end="")
        return
    output.write_text(text, encoding="utf-8")
    echo(f"wrote {output}: {len(operations)} extract(s) and load(s) from SDK {info.label}; apply it with "
          f"`erp workflow apply {tenant} {output}`")


def _params(values: list[str]) -> dict[str, str]:
    from erp_platform.workflows._scaffold import parse_assignments

    return parse_assignments(values, "--param")


def _keys(values: list[str]) -> dict[str, tuple[str, ...]]:
    from erp_platform.workflows._scaffold import parse_assignments

    return {op: tuple(f.strip() for f in fields.split(",") if f.strip())
            for op, fields in parse_assignments(values, "--key").items()}


def _sdk_info(engine: Any, tenant: str, sdk: str, version: int | None) -> Any:
    from erp_platform._errors import NotFoundError

    catalog = _wf().RegistrySdkCatalog(engine, tenant)
    versions = list(catalog.versions(sdk))
    if not versions:
        known = ", ".join(catalog.sdk_names()) or "none"
        raise NotFoundError(f"tenant {tenant!r} has no SDK {sdk!r} (its SDKs: {known}); build one with "
                            f"`erp sdk build {tenant} --spec FILE --name {sdk}`")
    info = _wf().resolve_sdk_version(catalog, sdk, version)
    if info is None:
        listing = ", ".join(f"v{v.version} {v.status}" for v in versions)
        which = f"version {version}" if version else "usable version"
        raise NotFoundError(f"SDK {sdk!r} of tenant {tenant!r} has no {which} (versions: {listing}); pass "
                            "--version with one of them")
    return info


def _plans_json(plans: dict[str, LoadPlan]) -> dict[str, Any]:
    return {activity: plan.model_dump(mode="json", exclude_none=True) for activity, plan in plans.items()}


def _print_plans(tenant: str, plans: dict[str, LoadPlan], problems: list[Problem]) -> None:
    """Each load's table, key and columns; problems that keep a load from being resolved now."""
    for plan in plans.values():
        origin = {"inline": "inline mapping", "stored": "stored mapping",
                  "derived": "every field of the input (no mapping given)"}[plan.mapping_origin]
        key = ", ".join(plan.business_key)
        if plan.key_origin == "sdk":
            key += f" (the SDK's primary key: {', '.join(plan.key_source)})"
        print_table(
            f"load {plan.activity} -> tenant_{tenant}.{plan.table}: key {key}; columns from {origin}",
            ["source", "target", "type", "nullable"],
            [[c.source, c.target, c.type, c.nullable] for c in plan.mapping.columns],
        )
    for problem in problems:
        echo(f"cannot resolve now: {problem.render()}")


# -- erp mapping -------------------------------------------------------------------------------------------
def _show_mapping(record: MappingRecord, as_json: bool, extra: dict[str, Any] | None = None) -> None:
    if as_json:
        print_json({**record.model_dump(mode="json"), **(extra or {})})
        return
    fields: dict[str, object] = {
        "tenant": record.tenant,
        "mapping": record.name,
        "version": record.version,
        "status": record.status,
        "content hash": record.content_hash,
        "created": _when(record.created_at),
        **_human_extra(extra),
    }
    _print_record(f"mapping {record.ref}", fields)


@mapping_app.command("apply")
def mapping_apply(tenant: str, file: Path, as_json: bool = JSON) -> None:
    """Validate a mapping file and store it as a new DRAFT version (idempotent for unchanged files)."""
    data = _read(file)
    with platform() as plat:
        record, created = _wf().MappingRegistry(plat.engine).apply(tenant, data, str(file))
    _show_mapping(record, as_json, {"created": created})


@mapping_app.command("activate")
def mapping_activate(tenant: str, name: str, version: int, as_json: bool = JSON) -> None:
    """Make a mapping version ACTIVE; the previous ACTIVE one becomes DEPRECATED."""
    with platform() as plat:
        record = _wf().MappingRegistry(plat.engine).activate(tenant, name, version)
    _show_mapping(record, as_json)


@mapping_app.command("list")
def mapping_list(tenant: str, as_json: bool = JSON) -> None:
    """List every version of the tenant's mappings."""
    with platform() as plat:
        records = _wf().MappingRegistry(plat.engine).list(tenant)
    if as_json:
        print_json(records)
        return
    print_table(
        f"mappings of {tenant}",
        ["mapping", "version", "status", "hash", "created"],
        [[r.name, r.version, r.status, r.content_hash[:12], _day(r.created_at)] for r in records],
    )


@mapping_app.command("show")
def mapping_show(
    tenant: str,
    name: str,
    version: int | None = typer.Option(None, "--version", help=_VERSION_HELP),
    as_json: bool = JSON,
) -> None:
    """Show one mapping version with its columns."""
    with platform() as plat:
        record, spec = _wf().MappingRegistry(plat.engine).get(tenant, name, version)
    payload = _wf().model_payload(spec)
    if as_json:
        print_json({**record.model_dump(mode="json"), "mapping": payload})
        return
    _show_mapping(record, False)
    print_table(
        "columns",
        ["source", "target", "type", "nullable"],
        [[c["source"], c["target"], c["type"], c["nullable"]] for c in payload["columns"]],
    )
