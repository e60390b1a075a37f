"""``erp mock-erp``: the project's own ERP HTTP server in the foreground, its OpenAPI document, and an example
workflow that syncs it."""

from __future__ import annotations

import json

import typer

from erp_platform.cli._app import app

_MAX_ROWS = 10_000_000  # erp_platform.mock_erp.MAX_ROWS (not imported here: polars loads slowly)
DEFAULT_URL = "http://127.0.0.1:8900"

mock_app = typer.Typer(
    help="The mock ERP: serve it (no command), print its OpenAPI document, or an example workflow for it.",
    invoke_without_command=True,
)
app.add_typer(mock_app, name="mock-erp")


@mock_app.callback()
def mock_erp(
    ctx: typer.Context,
    port: int = typer.Option(8900, "--port", min=0, max=65535, help="port to listen on (0: a free one)"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    rows: int = typer.Option(
        1000, "--rows", min=1, max=_MAX_ROWS, help="customers and sales orders (items rows/10, lines 3*rows)"
    ),
    seed: int = typer.Option(0, "--seed", min=0, max=2**63 - 1, help="data seed: same seed, same data"),
) -> None:
    """Run the mock ERP (OData V4, OData V2, REST) with the demo tenants until Ctrl-C, SIGINT or SIGTERM.

    Example: erp mock-erp --port 8900 --rows 100000, then
    curl -H 'Authorization: Bearer tok-acme' -H 'X-ERP-Tenant: acme' localhost:8900/api/v1/customers
    """
    if ctx.invoked_subcommand is not None:
        return
    from contextlib import ExitStack

    from erp_platform.cli._processes import recorded
    from erp_platform.config import load_settings
    from erp_platform.mock_erp import MockErpConfig, serve_forever

    home = load_settings().resolved_home
    with ExitStack() as stack:

        def on_listening(url: str) -> None:
            stack.enter_context(
                recorded(home, "mock-erp", f"erp mock-erp --port {port}", {"URL": url}, exclusive=False)
            )

        serve_forever(MockErpConfig(rows=rows, seed=seed), host=host, port=port, announce=_announce,
                      on_listening=on_listening)


def _announce(line: str) -> None:
    typer.echo(line)


@mock_app.command("spec")
def spec(
    base_url: str = typer.Option(DEFAULT_URL, "--base-url", help="where the mock ERP listens"),
) -> None:
    """Print the mock ERP's OpenAPI document (JSON) for a server at --base-url; e.g.
    erp mock-erp spec > mock_erp.openapi.json, then erp sdk build TENANT --spec mock_erp.openapi.json."""
    from erp_platform._errors import InvalidInputError
    from erp_platform.mock_erp import build_openapi

    if not base_url.startswith(("http://", "https://")):
        raise InvalidInputError(f"--base-url {base_url!r} is not an http(s) URL, e.g. --base-url {DEFAULT_URL}")
    print(json.dumps(build_openapi(base_url.rstrip("/")), indent=2))


@mock_app.command("example-workflow")
def example_workflow() -> None:
    """Print the sales_sync workflow for the mock ERP (customers and sales orders into tenant tables); e.g.
    erp mock-erp example-workflow > sales_sync.yaml, then erp workflow apply TENANT sales_sync.yaml
    --param erp_tenant=acme."""
    from erp_platform.demo import workflow_text

    print(workflow_text(), end="")
