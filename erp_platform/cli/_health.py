"""``erp health``: database, object store, credential store and Dagster daemon heartbeats."""

from __future__ import annotations

import typer

from erp_platform.cli._app import app
from erp_platform.cli._output import platform, print_json, print_table


@app.command("health")
def health(as_json: bool = typer.Option(False, "--json", help="print the report as JSON")) -> None:
    """Check every platform component; exits 1 when one is unhealthy."""
    from erp_platform.observability import check_health

    with platform(initialised=False) as plat:
        report = check_health(plat)
    if as_json:
        print_json(report)
    else:
        print_table(f"health: {'ok' if report.ok else 'UNHEALTHY'}", ["component", "ok", "detail", "seconds"],
                    [[c.name, "yes" if c.ok else "NO", c.detail, c.seconds] for c in report.checks])
    if not report.ok:
        raise typer.Exit(1)
