"""``erp init``: create or upgrade the control plane (idempotent)."""

from __future__ import annotations

import typer

from erp_platform.cli._app import app
from erp_platform.cli._output import platform, print_fields, print_json
from erp_platform.registry import migrate


@app.command("init")
def init(
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
    dagster: bool = typer.Option(True, "--dagster/--no-dagster", help="also create Dagster's storage tables"),
) -> None:
    """Create or upgrade the control plane and Dagster's storage (safe to run again).

    Starts the embedded database first when ERP_DATABASE_URL is unset.
    """
    import os

    with platform(initialised=False) as plat:
        before, after = migrate(plat.engine)
        if dagster:
            from erp_platform.orchestration import prepare_dagster_home
            from erp_platform.orchestration._supervisor import migrate_dagster

            migrate_dagster({**os.environ, **prepare_dagster_home(plat.settings, plat.database_url)})
        result = {
            "database": "embedded" if not plat.settings.database_url else "configured",
            "revision_before": before,
            "revision": after,
            "changed": before != after,
            "home": str(plat.settings.resolved_home),
            "object_store": plat.settings.effective_object_store_url,
            "credential_store": "vault" if plat.settings.vault_addr else "local-encrypted",
        }
    if as_json:
        print_json(result)
    else:
        print_fields("erp init", result)
