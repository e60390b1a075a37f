"""``erp mock-erp``: the project's own ERP HTTP server, in the foreground."""

from __future__ import annotations

import typer

from erp_platform.cli._app import app

_MAX_ROWS = 10_000_000  # erp_platform.mock_erp.MAX_ROWS (not imported here: polars loads slowly)


@app.command("mock-erp")
def mock_erp(
    port: int = typer.Option(8900, "--port", min=0, max=65535, help="port to listen on (0: a free one)"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    rows: int = typer.Option(
        1000, "--rows", min=1, max=_MAX_ROWS, help="customers and sales orders (items rows/10, lines 3*rows)"
    ),
    seed: int = typer.Option(0, "--seed", min=0, max=2**63 - 1, help="data seed: same seed, same data"),
) -> None:
    """Run the mock ERP (OData V4, OData V2, REST) with the demo tenants until Ctrl-C.

    Example: erp mock-erp --port 8900 --rows 100000, then
    curl -H 'Authorization: Bearer tok-acme' -H 'X-ERP-Tenant: acme' localhost:8900/api/v1/customers
    """
    from erp_platform.mock_erp import MockErpConfig, serve_forever

    serve_forever(MockErpConfig(rows=rows, seed=seed), host=host, port=port, announce=typer.echo)
