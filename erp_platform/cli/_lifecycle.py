"""``erp status`` and ``erp stop``: what keeps running between commands, and stopping all of it.

Three things outlive a single command: the embedded PostgreSQL server (started by the first command that
needs the database when ERP_DATABASE_URL is unset, then reused), ``erp dev`` / ``erp demo`` (the fork
server, code servers, Dagster daemon and webserver, until Ctrl-C) and ``erp mock-erp``. Neither command
starts the database: they read only ERP_HOME.
"""

from __future__ import annotations

import signal
from typing import Any

import typer
from pydantic import BaseModel, ConfigDict

from erp_platform._errors import ConflictError
from erp_platform.cli._app import app
from erp_platform.cli._output import print_json
from erp_platform.cli._processes import KINDS, read_records, stop_process
from erp_platform.config import Settings, load_settings

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def install_stop_signals() -> None:
    """Make SIGINT, SIGTERM and SIGHUP stop this command, from a terminal or from anywhere (``kill``,
    ``erp stop``, a process manager): the first one raises KeyboardInterrupt so ``finally`` blocks stop
    what the command started; later ones are ignored so that stopping completes.

    A shell starts background jobs with SIGINT ignored, and Python keeps an ignored SIGINT ignored: the
    handler is set explicitly for that reason.
    """

    def _stop(signum: int, frame: object) -> None:
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        raise KeyboardInterrupt

    for sig in _STOP_SIGNALS:
        signal.signal(sig, _stop)


class ComponentStatus(BaseModel):
    """One thing that may be running for this ERP_HOME."""

    model_config = ConfigDict(frozen=True)

    name: str
    running: bool
    pid: int | None = None
    command: str | None = None
    since: str | None = None
    urls: dict[str, str] = {}
    detail: str = ""


class PlatformStatus(BaseModel):
    """``erp status``: everything that keeps running between commands."""

    model_config = ConfigDict(frozen=True)

    home: str
    components: list[ComponentStatus]

    @property
    def running(self) -> list[ComponentStatus]:
        return [c for c in self.components if c.running]


def _database(settings: Settings) -> ComponentStatus:
    if settings.database_url:
        return ComponentStatus(name="database", running=True, detail="ERP_DATABASE_URL (not managed by erp stop)")
    from erp_platform.db import embedded_server_pid

    pgdata = settings.resolved_home / "pgdata"
    pid = embedded_server_pid(settings.resolved_home)
    return ComponentStatus(name="embedded PostgreSQL", running=pid is not None, pid=pid, detail=f"data in {pgdata}")


def platform_status(settings: Settings) -> PlatformStatus:
    """What runs for ``settings``' ERP_HOME (reads files and process tables only; starts nothing)."""
    home = settings.resolved_home
    records = read_records(home)
    components = [_database(settings)]
    for name, label in KINDS.items():
        mine = [r for r in records if r.name == name]
        components += [
            ComponentStatus(name=label, running=True, pid=r.pid, command=r.command,
                            since=r.started_at.isoformat(timespec="seconds"), urls=r.urls)
            for r in mine
        ] or [ComponentStatus(name=label, running=False)]
    return PlatformStatus(home=str(home), components=components)


def _describe(component: ComponentStatus) -> str:
    if not component.running:
        return "not running"
    parts = [f"running (pid {component.pid})"] if component.pid else []
    if component.command:
        parts.append(f"`{component.command}` since {component.since}")
    parts += [f"{key} {url}" for key, url in component.urls.items()]
    if component.detail:
        parts.append(component.detail)
    return "; ".join(parts)


@app.command("status")
def status(as_json: bool = typer.Option(False, "--json", help="print the status as JSON")) -> None:
    """Show what keeps running for this ERP_HOME: embedded PostgreSQL, `erp dev` / `erp demo`, the mock ERP."""
    report = platform_status(load_settings())
    if as_json:
        print_json(report)
        return
    width = max(len(c.name) for c in report.components)
    print(f"ERP_HOME {report.home}")
    for component in report.components:
        print(f"  {component.name.ljust(width)}  {_describe(component)}")
    if any(c.running and c.pid for c in report.components):
        print("stop everything with `erp stop`")


@app.command("stop")
def stop(
    timeout: float = typer.Option(90.0, "--timeout", help="seconds to wait for each process to stop"),
    as_json: bool = typer.Option(False, "--json", help="print what was stopped as JSON"),
) -> None:
    """Stop everything that runs for this ERP_HOME: `erp dev` / `erp demo`, the mock ERP, embedded PostgreSQL."""
    from erp_platform.db import stop_embedded_server

    settings = load_settings()
    home = settings.resolved_home
    stopped: list[dict[str, Any]] = []
    for record in read_records(home):
        label = KINDS.get(record.name, record.name)
        if not as_json:
            print(f"stopping {label} (pid {record.pid}, `{record.command}`) ...", flush=True)
        if not stop_process(record, timeout=timeout):
            raise ConflictError(
                f"{label} (pid {record.pid}) did not stop within {timeout:.0f} s; see the logs in "
                f"{home / 'logs'}, wait, or end it with `kill -TERM {record.pid}`"
            )
        stopped.append({"name": label, "pid": record.pid})
    database = _database(settings)
    if database.running and database.pid is not None:
        if not as_json:
            print(f"stopping the embedded PostgreSQL server (pid {database.pid}) ...", flush=True)
        stop_embedded_server(home)
        stopped.append({"name": database.name, "pid": database.pid})
    if as_json:
        print_json({"home": str(home), "stopped": stopped})
    elif stopped:
        print("stopped: " + ", ".join(f"{s['name']} (pid {s['pid']})" for s in stopped))
    else:
        print(f"nothing was running for ERP_HOME {home}")
