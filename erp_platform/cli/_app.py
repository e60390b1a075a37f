"""The root ``erp`` Typer application; command groups register themselves on it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="erp",
    help="Multi-tenant ERP integration platform: tenants, credentials, SDKs, workflows, run queue.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
