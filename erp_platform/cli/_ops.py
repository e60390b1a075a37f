"""``erp ops ...``: operate the run queue: status, kill-switch flags, run controls, tenant pauses, pools.

Every action is written to the audit log (flags by ``ControlFlags``, runs by ``RunControls``, pools by
``set_pool_limit``). Commands that act on runs or pools open the platform's Dagster instance; cancelling
a running run needs ``erp dev`` (its fork server signals the run worker).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

from erp_platform._errors import ConflictError, InvalidInputError
from erp_platform.cli._app import app
from erp_platform.cli._output import console, platform, print_fields, print_json, print_table

if TYPE_CHECKING:
    from dagster import DagsterInstance

    from erp_platform._platform import Platform
    from erp_platform.controls import ControlFlag
    from erp_platform.queue import RunAction

ops_app = typer.Typer(help="Operate the run queue: status, kill switches, run controls, pools.",
                      no_args_is_help=True)
flag_app = typer.Typer(help="Kill-switch flags: pause, block or rate-limit work.", no_args_is_help=True)
run_app = typer.Typer(help="Cancel, pause or resume one run.", no_args_is_help=True)
tenant_app = typer.Typer(help="Pause or resume all of a tenant's work.", no_args_is_help=True)
pool_app = typer.Typer(help="Concurrency pools: concurrent steps against one ERP system.",
                       no_args_is_help=True)
app.add_typer(ops_app, name="ops")
ops_app.add_typer(flag_app, name="flag")
ops_app.add_typer(run_app, name="run")
ops_app.add_typer(tenant_app, name="tenant")
ops_app.add_typer(pool_app, name="pool")

JSON = typer.Option(False, "--json", help="print the result as JSON")


@contextmanager
def _instance(plat: Platform) -> Iterator[DagsterInstance]:
    from erp_platform.queue import open_instance

    with open_instance(plat) as instance:
        yield instance


# -- status ------------------------------------------------------------------------------------------------
@ops_app.command("status")
def status(as_json: bool = JSON) -> None:
    """Queued and running runs, limits, utilisation and quota left, per tier and per tenant."""
    from erp_platform.queue import queue_status

    with platform() as plat:
        report = queue_status(plat.engine)
    if as_json:
        print_json(report)
        return
    print_table(
        f"run queue ({report.running} running of at most {report.max_concurrent_runs}, "
        f"{report.queued} queued)",
        ["tier", "running", "limit", "use %", "queued", "queue limit", "queue %"],
        [[t.tier, t.running, t.run_limit, t.utilisation_percent, t.queued, t.max_queue_depth,
          t.queue_utilisation_percent] for t in report.tiers],
        compact=True,
    )
    print_table(
        "tenants (running and queued runs; quotas left now)",
        ["tenant", "tier", "running", "queued", "workflows", "jobs/hour", "flags"],
        [[t.slug if t.status == "active" else f"{t.slug} ({t.status})", t.tier, f"{t.running}/{t.run_limit}",
          t.queued,
          f"{t.workflows_left}/{t.max_concurrent_workflows}", f"{t.jobs_left}/{t.max_jobs_per_hour}",
          "; ".join(t.flags) or "-"] for t in report.tenants],
        compact=True,
    )
    if report.global_flags:
        console.print("global flags: " + "; ".join(report.global_flags))
    if report.refusals_last_hour:
        console.print("refusals in the last hour: "
                      + ", ".join(f"{k} {v}" for k, v in report.refusals_last_hour.items()))


@ops_app.command("enforce")
def enforce(as_json: bool = JSON) -> None:
    """Cancel runs of workflow versions past force_cancel_after now (`erp dev` does this periodically)."""
    from erp_platform.queue import enforce_force_cancel

    with platform() as plat, _instance(plat) as instance:
        cancelled = enforce_force_cancel(instance, plat.engine)
    if as_json:
        print_json(cancelled)
        return
    console.print(f"cancelled {len(cancelled)} runs" + "".join(
        f"\n  {c.run_id} ({c.tenant}/{c.workflow} v{c.version})" for c in cancelled))


# -- flags -------------------------------------------------------------------------------------------------
def _show_flag(flag: ControlFlag, as_json: bool) -> None:
    if as_json:
        print_json(flag)
        return
    print_fields(f"flag #{flag.id}", {
        "scope": flag.scope, "id": flag.scope_id or "-", "type": flag.flag_type,
        "enabled": flag.enabled, "reason": flag.reason, "value": flag.value or "-",
        "set by": flag.set_by, "set at": flag.set_at.isoformat(timespec="seconds"),
        "cleared by": flag.cleared_by or "-",
    })


@flag_app.command("set")
def flag_set(
    *,
    scope: str = typer.Option(..., "--scope", help="global, tenant, workflow or sdk"),
    scope_id: str | None = typer.Option(None, "--id",
                                        help="TENANT, TENANT/WORKFLOW, TENANT/SDK or TENANT/SDK@VERSION"),
    flag_type: str = typer.Option(..., "--type", help="pause, block, rate_limit or ai_off"),
    reason: str = typer.Option(..., "--reason", help="why (shown in refusals and run logs)"),
    limit: int | None = typer.Option(None, "--limit", help="rate_limit only: max API calls per minute"),
    as_json: bool = JSON,
) -> None:
    """Set a flag: pause holds steps and refuses new runs, block fails them, rate_limit slows requests."""
    from erp_platform.controls import ControlFlags

    if limit is not None and flag_type != "rate_limit":
        raise InvalidInputError(
            "--limit applies to rate_limit flags only; remove it or use --type rate_limit"
        )
    if flag_type == "rate_limit" and limit is None:
        raise InvalidInputError("a rate_limit flag needs --limit N (max API calls per minute)")
    value = {"max_api_calls_per_minute": limit} if limit is not None else None
    with platform() as plat:
        flag = ControlFlags(plat.engine).set(scope=scope, scope_id=scope_id, flag_type=flag_type,
                                             reason=reason, value=value)
    _show_flag(flag, as_json)


@flag_app.command("clear")
def flag_clear(flag_id: int = typer.Argument(..., help="flag id (see `erp ops flag list`)"),
               as_json: bool = JSON) -> None:
    """Clear a flag: paused steps continue, new runs are admitted again."""
    from erp_platform.controls import ControlFlags

    with platform() as plat:
        flag = ControlFlags(plat.engine).clear(flag_id)
    _show_flag(flag, as_json)


@flag_app.command("list")
def flag_list(
    include_cleared: bool = typer.Option(False, "--all", help="include cleared flags"),
    tenant: str | None = typer.Option(None, "--tenant", help="only flags that apply to this tenant"),
    as_json: bool = JSON,
) -> None:
    """List active flags (or all with --all)."""
    from erp_platform.controls import ControlFlags

    with platform() as plat:
        flags = ControlFlags(plat.engine).list(active_only=not include_cleared, tenant=tenant)
    if as_json:
        print_json(flags)
        return
    print_table("control flags", ["id", "scope", "id", "type", "value", "reason", "set by", "active"],
                [[f.id, f.scope, f.scope_id or "-", f.flag_type, f.value or "-", f.reason, f.set_by,
                  f.enabled] for f in flags])


# -- runs --------------------------------------------------------------------------------------------------
def _run_action(kind: str, run_id: str, as_json: bool, **kwargs: Any) -> None:
    from erp_platform.orchestration import dagster_home
    from erp_platform.queue import RunControls

    with platform() as plat, _instance(plat) as instance:
        controls = RunControls(instance, plat.engine,
                               workspace_file=dagster_home(plat.settings) / "workspace.yaml")
        result: RunAction = getattr(controls, kind)(run_id, **kwargs)
    if as_json:
        print_json(result)
    else:
        console.print(result.message)


@run_app.command("cancel")
def run_cancel(
    run_id: str,
    reason: str = typer.Option("", "--reason"),
    force: bool = typer.Option(False, "--force",
                               help="mark cancelled even if the worker cannot be signalled"),
    as_json: bool = JSON,
) -> None:
    """Cancel a queued run or terminate a running one."""
    _run_action("cancel", run_id, as_json, reason=reason, force=force)


@run_app.command("pause")
def run_pause(run_id: str, reason: str = typer.Option("", "--reason"), as_json: bool = JSON) -> None:
    """Pause a run: its next step waits (visible in the run's logs) until it is resumed."""
    _run_action("pause", run_id, as_json, reason=reason)


@run_app.command("resume")
def run_resume(run_id: str, as_json: bool = JSON) -> None:
    """Resume a paused run, or re-execute a failed or cancelled run from failure."""
    _run_action("resume", run_id, as_json)


# -- tenants -----------------------------------------------------------------------------------------------
@tenant_app.command("pause")
def tenant_pause(slug: str, reason: str = typer.Option(..., "--reason"), as_json: bool = JSON) -> None:
    """Pause a tenant: new runs are refused and running steps hold until `erp ops tenant resume`."""
    from erp_platform.controls import ControlFlags

    with platform() as plat:
        plat.tenants.get(slug)
        flag = ControlFlags(plat.engine).set(scope="tenant", scope_id=slug, flag_type="pause", reason=reason)
    _show_flag(flag, as_json)


@tenant_app.command("resume")
def tenant_resume(slug: str, as_json: bool = JSON) -> None:
    """Resume a paused tenant (clears its tenant-scope pause flag)."""
    from erp_platform.controls import ControlFlags

    with platform() as plat:
        plat.tenants.get(slug)
        flags = ControlFlags(plat.engine)
        paused = [f for f in flags.list(active_only=True)
                  if f.scope == "tenant" and f.scope_id == slug and f.flag_type == "pause"]
        if not paused:
            raise ConflictError(f"tenant {slug!r} is not paused; see `erp ops flag list --tenant {slug}`")
        cleared = [flags.clear(f.id) for f in paused]
    _show_flag(cleared[-1], as_json)


# -- pools -------------------------------------------------------------------------------------------------
@pool_app.command("set")
def pool_set(pool: str, limit: int, as_json: bool = JSON) -> None:
    """Allow LIMIT concurrent steps in POOL (e.g. erp_acme__business_central)."""
    from erp_platform.queue import set_pool_limit

    with platform() as plat, _instance(plat) as instance:
        result = set_pool_limit(instance, plat.engine, pool, limit)
    if as_json:
        print_json(result)
    else:
        console.print(f"pool {result.pool}: limit {result.limit}")


@pool_app.command("list")
def pool_list(as_json: bool = JSON) -> None:
    """List pools with their limits, claimed slots and waiting steps."""
    from erp_platform.queue import list_pools

    with platform() as plat, _instance(plat) as instance:
        pools = list_pools(instance)
    if as_json:
        print_json(pools)
        return
    print_table("concurrency pools", ["pool", "tenant", "limit", "default", "claimed", "pending"],
                [[p.pool, p.tenant or "-", p.limit, p.from_default, p.claimed, p.pending] for p in pools])
