"""``erp demo``: the whole platform end to end on embedded defaults (what ``make demo`` runs)."""

from __future__ import annotations

from typing import Any

import typer

from erp_platform.cli._app import app
from erp_platform.cli._output import console, platform, print_json


def _print_summary(summary: Any) -> None:
    console.print("\n[bold]demo: one sync per tenant through Dagster's run queue[/bold]")
    for t in summary.tenants:
        colour = "green" if t.status == "SUCCESS" else "red"
        console.print(f"tenant [bold]{t.slug}[/bold] ({t.tier}): SDK mock_erp v{t.sdk_version}, workflow "
                      f"sales_sync v{t.workflow_version}")
        console.print(f"  run {t.run_id}: [{colour}]{t.status}[/{colour}] in {t.run_seconds:.2f} s "
                      f"(queued -> started {t.queue_to_start_seconds:.2f} s)")
        console.print("  rows: " + ", ".join(f"tenant_{t.slug}.{k} {v:,}" for k, v in t.rows.items()))
        console.print("  steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in t.steps.items()))
        if t.failure:
            console.print(f"  [red]failed: {t.failure}[/red]")
    counts = summary.runs_by_trigger()
    console.print(f"runs started while the demo ran: {sum(counts.values())} ("
                  + ", ".join(f"{trigger} {n}" for trigger, n in counts.items()) + ")")
    console.print(f"mock ERP {summary.mock_erp_url} ({summary.rows_per_entity:,} customers and orders per "
                  f"tenant); set-up {summary.setup_seconds:.1f} s, total {summary.total_seconds:.1f} s")


@app.command("demo")
def demo(
    headless: bool = typer.Option(False, "--headless", help="no UI: run, print the summary and exit"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON (with --headless)"),
    rows: int = typer.Option(5000, "--rows", help="customers and sales orders per ERP tenant"),
    port: int = typer.Option(3000, "--port", envvar="ERP_DEV_PORT", help="Dagster UI port"),
    mock_port: int = typer.Option(8900, "--mock-port", help="mock ERP port"),
) -> None:
    """Two tenants (free, enterprise), SDKs from the mock ERP, a sync each through Dagster, then the UI.

    Runs until Ctrl-C, SIGINT or SIGTERM (e.g. `erp stop`), then stops everything it started.
    """
    from erp_platform.cli._dev import say
    from erp_platform.cli._lifecycle import install_stop_signals
    from erp_platform.cli._output import stops_embedded_database
    from erp_platform.cli._processes import recorded, update_urls
    from erp_platform.config import load_settings
    from erp_platform.demo import run_demo

    install_stop_signals()
    settings = load_settings()
    command = "erp demo --headless" if headless else "erp demo"

    def on_ready(summary: Any, stack: Any) -> None:
        if as_json:
            print_json(summary.as_dict())
        else:
            _print_summary(summary)
        if not headless:
            update_urls(record, {"UI": stack.url})
            say(f"\nDagster UI: {stack.url} (both tenant code locations, their lineage and runs). "
                "Ctrl-C stops everything.")
            stack.supervise()

    try:
        with (
            recorded(settings.resolved_home, "dev", command) as record,
            stops_embedded_database(settings, enabled=not headless),
            platform(initialised=False) as plat,
        ):
            summary = run_demo(plat, rows=rows, ui=not headless, port=port, mock_port=mock_port,
                               on_ready=on_ready)
    except KeyboardInterrupt:
        say("stopped")
        return
    if not summary.ok:
        raise typer.Exit(1)
