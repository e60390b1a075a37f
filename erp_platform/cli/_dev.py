"""``erp dev`` (the local stack) and ``erp workspace sync`` (workspace.yaml from the registry)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from erp_platform.cli._app import app
from erp_platform.cli._output import console, platform, print_json
from erp_platform.registry import migrate

workspace_app = typer.Typer(help="Dagster workspace: one code location per tenant.", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")


@workspace_app.command("sync")
def workspace_sync(
    path: Path = typer.Option(Path("workspace.yaml"), "--path", help="file to write"),
    mode: str = typer.Option(
        "module", "--mode", help="module (plain `dagster dev`) or grpc (`erp dev` servers)"
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Write workspace.yaml with one code location per tenant (active or suspended) from the registry."""
    from erp_platform._errors import InvalidInputError
    from erp_platform.orchestration._workspace import render_workspace, tenant_locations, write_workspace

    if mode not in ("module", "grpc"):
        raise InvalidInputError(f"--mode must be module or grpc (received {mode!r})")
    with platform() as plat:
        slugs = [loc.slug for loc in tenant_locations(plat.engine)]
        content = render_workspace(slugs, mode=mode, run_dir=plat.settings.resolved_home / "run")  # type: ignore[arg-type]
    changed = write_workspace(path, content)
    result = {
        "path": str(path),
        "mode": mode,
        "locations": [f"tenant_{s}" for s in slugs],
        "changed": changed,
    }
    if as_json:
        print_json(result)
    else:
        console.print(f"wrote {path} ({len(slugs)} tenant code locations, mode {mode})")


@app.command("dev")
def dev(
    host: str = typer.Option("127.0.0.1", "--host", help="address of the Dagster UI"),
    port: int = typer.Option(3000, "--port", envvar="ERP_DEV_PORT", help="port of the Dagster UI"),
    webserver: bool = typer.Option(True, "--webserver/--no-webserver", help="start the Dagster UI"),
    daemon: bool = typer.Option(True, "--daemon/--no-daemon", help="start the Dagster daemon"),
    workers: bool = typer.Option(
        True,
        "--workers/--no-workers",
        help="start the tenant code servers here (--no-workers: they run on another host; "
        "needs ERP_PROCESS_MODE=stock and ERP_CODE_SERVER_PORT_BASE)",
    ),
) -> None:
    """Start the local stack: embedded services, fork server, tenant code servers, Dagster daemon and UI.

    With ERP_PROCESS_MODE=stock, tenants are stock `dagster code-server start` servers over TCP and runs use
    Dagster's DefaultRunLauncher (see the README, "Processes").

    Runs until Ctrl-C, SIGINT or SIGTERM (e.g. `erp stop` from another terminal), then stops everything it
    started. The embedded PostgreSQL server keeps running if it was already running: `erp stop` stops it.
    """
    from erp_platform.cli._lifecycle import install_stop_signals
    from erp_platform.cli._output import stops_embedded_database
    from erp_platform.cli._processes import recorded, update_urls
    from erp_platform.config import load_settings
    from erp_platform.orchestration._supervisor import DevStack

    install_stop_signals()
    settings = load_settings()
    try:
        with (
            recorded(settings.resolved_home, "dev", "erp dev") as record,
            stops_embedded_database(settings),
            platform(initialised=False) as plat,
        ):
            migrate(plat.engine)
            stack = DevStack(
                plat, host=host, port=port, webserver=webserver, daemon=daemon, workers=workers
            )
            try:
                stack.start()
                update_urls(record, _stack_urls(stack))
                if webserver:
                    say(f"Dagster UI: {stack.url}   (Ctrl-C stops everything)")
                if stack.metrics_url:
                    say(f"metrics and health: {stack.metrics_url}/metrics, {stack.metrics_url}/health")
                say(f"logs: {stack.log_dir}")
                from erp_platform.cli._assistant import assistant_web

                with assistant_web(plat, host=host):
                    stack.supervise()
            finally:
                say("stopping: webserver, daemon, code servers, fork server ...")
                stack.stop()
    except KeyboardInterrupt:
        pass
    say("stopped")


def _stack_urls(stack: Any) -> dict[str, str]:
    urls = {"UI": stack.url} if stack.webserver else {}
    if stack.metrics_url:
        urls["metrics"] = f"{stack.metrics_url}/metrics"
    return urls


def say(text: str) -> None:
    """One line for people, written at once (the console may be a pipe or a log file)."""
    console.print(text)
    console.file.flush()


@app.command("dagster-env")
def dagster_env() -> None:
    """Print `export` lines for running Dagster's own commands against this platform's instance."""
    import shlex

    from erp_platform.orchestration import prepare_dagster_home

    with platform() as plat:
        env = prepare_dagster_home(plat.settings, plat.database_url)
    for key, value in sorted(env.items()):
        print(f"export {key}={shlex.quote(value)}")
