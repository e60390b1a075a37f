"""``erp tenant ...``: onboard tenants and manage their tier, quotas, status and egress exceptions."""

from __future__ import annotations

import typer

from erp_platform._errors import InvalidInputError
from erp_platform.cli._app import app
from erp_platform.cli._output import platform, print_fields, print_json, print_table
from erp_platform.objectstore import StorageUsage
from erp_platform.tenancy import TenantInfo

tenant_app = typer.Typer(help="Onboard and manage tenants.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")

JSON = typer.Option(False, "--json", help="print the result as JSON")


def _show(info: TenantInfo, as_json: bool, usage: StorageUsage | None = None) -> None:
    if as_json:
        data = info.model_dump(mode="json")
        if usage is not None:
            data["storage"] = {"used_bytes": usage.used_bytes, "limit_bytes": usage.limit_bytes}
        print_json(data)
        return
    fields: dict[str, object] = {
        "slug": info.slug,
        "name": info.name,
        "tier": info.tier,
        "status": info.status,
        "schema": info.schema_name,
        "role": info.role_name,
        **{k: f"{v}{' (override)' if k in info.quota_overrides else ''}" for k, v in info.quotas.items()},
        **({"storage used": usage.summary} if usage is not None else {}),
        "private egress allowed": ", ".join(info.egress_private_allowlist) or "-",
        "created": info.created_at.isoformat(timespec="seconds"),
    }
    print_fields(f"tenant {info.slug}", fields)


@tenant_app.command("create")
def create(
    slug: str = typer.Argument(
        ..., help="tenant slug: 3 to 40 characters, a lowercase letter first, then lowercase letters, digits or "
        "underscores (e.g. acme)"
    ),
    tier: str = typer.Option(..., "--tier", help="free, standard or enterprise"),
    name: str | None = typer.Option(None, "--name", help="display name (default: the slug)"),
    as_json: bool = JSON,
) -> None:
    """Onboard a tenant: schema tenant_<slug> and a role that owns only that schema."""
    with platform() as plat:
        _show(plat.tenants.create(slug, tier, name=name), as_json)


@tenant_app.command("list")
def list_(as_json: bool = JSON) -> None:
    """List tenants with their tier and status."""
    with platform() as plat:
        tenants = plat.tenants.list()
    if as_json:
        print_json(tenants)
        return
    print_table(
        "tenants",
        ["slug", "name", "tier", "status", "schema", "jobs/hour", "concurrent jobs"],
        [
            [
                t.slug,
                t.name,
                t.tier,
                t.status,
                t.schema_name,
                t.quotas["max_jobs_per_hour"],
                t.quotas["max_concurrent_jobs"],
            ]
            for t in tenants
        ],
    )


@tenant_app.command("show")
def show(slug: str, as_json: bool = JSON) -> None:
    """Show one tenant with its effective quotas and the storage its objects take."""
    with platform() as plat:
        info = plat.tenants.get(slug)
        _show(info, as_json, plat.objects.usage(slug))


@tenant_app.command("set-tier")
def set_tier(slug: str, tier: str, as_json: bool = JSON) -> None:
    """Move a tenant to another tier (quotas follow unless overridden)."""
    with platform() as plat:
        _show(plat.tenants.set_tier(slug, tier), as_json)


@tenant_app.command("set-quota")
def set_quota(
    slug: str,
    max_concurrent_workflows: int | None = typer.Option(None),
    max_jobs_per_hour: int | None = typer.Option(None),
    max_concurrent_jobs: int | None = typer.Option(None),
    max_storage_gb: int | None = typer.Option(None),
    max_api_calls_per_minute: int | None = typer.Option(None),
    max_memory_mb: int | None = typer.Option(None),
    reset: list[str] = typer.Option([], "--reset", help="quota name to reset to the tier default"),
    as_json: bool = JSON,
) -> None:
    """Override quotas for one tenant (or --reset them to the tier's defaults)."""
    given = {
        "max_concurrent_workflows": max_concurrent_workflows,
        "max_jobs_per_hour": max_jobs_per_hour,
        "max_concurrent_jobs": max_concurrent_jobs,
        "max_storage_gb": max_storage_gb,
        "max_api_calls_per_minute": max_api_calls_per_minute,
        "max_memory_mb": max_memory_mb,
    }
    overrides: dict[str, int | None] = {k: v for k, v in given.items() if v is not None}
    overrides.update({name: None for name in reset})
    if not overrides:
        raise InvalidInputError("nothing to change: pass at least one --max-... option or --reset NAME")
    with platform() as plat:
        _show(plat.tenants.set_quotas(slug, overrides), as_json)


@tenant_app.command("suspend")
def suspend(slug: str, as_json: bool = JSON) -> None:
    """Suspend a tenant: its runs are refused until it is reactivated."""
    with platform() as plat:
        _show(plat.tenants.set_status(slug, "suspended"), as_json)


@tenant_app.command("reactivate")
def reactivate(slug: str, as_json: bool = JSON) -> None:
    """Reactivate a suspended tenant."""
    with platform() as plat:
        _show(plat.tenants.set_status(slug, "active"), as_json)


@tenant_app.command("allow-egress")
def allow_egress(
    slug: str,
    host_port: str = typer.Argument(..., help="private or loopback HOST:PORT, e.g. 127.0.0.1:8900"),
    revoke: bool = typer.Option(False, "--revoke", help="remove the exception instead"),
    as_json: bool = JSON,
) -> None:
    """Let this tenant's SDKs reach one private/loopback HOST:PORT (explicit, audited; for on-premise or
    local ERPs). Public addresses are refused: SDKs reach those through their spec's domains."""
    with platform() as plat:
        _show(plat.tenants.allow_private_egress(slug, host_port, allow=not revoke), as_json)


@tenant_app.command("delete")
def delete(
    slug: str,
    purge: bool = typer.Option(False, "--purge", help="drop the schema, role, credentials and objects"),
    yes: bool = typer.Option(False, "--yes", help="confirm --purge"),
) -> None:
    """Delete a tenant (soft); with --purge --yes, drop all its data for good."""
    if purge and not yes:
        raise InvalidInputError(
            f"--purge drops schema tenant_{slug} and every credential and object of tenant {slug!r} for "
            "good: add --yes to confirm"
        )
    with platform() as plat:
        plat.tenants.delete(slug, purge=purge)
    print(f"tenant {slug} {'purged' if purge else 'deleted'}")
