"""A real ``erp dev``, started in the background the way a shell starts ``erp dev &`` (SIGINT ignored),
stops on ``kill -INT``, ``kill -TERM`` and ``erp stop`` alike, and leaves no process, port or heartbeat
behind; ``erp status`` shows it while it runs; a second ``erp dev`` for the same ERP_HOME is refused."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import ErpCli
from tests.support.database import fresh_database
from tests.support.stack import free_port


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children, their children, ...)."""
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(predicate: object, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[ErpCli]:
    """``erp`` on a database of its own (no tenants: the stack starts quickly) and a fresh ERP_HOME, with free
    ports for the UI and the metrics endpoint."""
    with fresh_database("erp_lifecycle") as url:
        yield ErpCli(database_url=url, home=tmp_path / "home",
                     extra_env=(("ERP_DEV_PORT", str(free_port())), ("ERP_METRICS_PORT", str(free_port()))))


def start_in_background(cli: ErpCli, log: Path) -> subprocess.Popen[bytes]:
    """``erp dev &`` from a script: a shell starts background jobs with SIGINT ignored."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "erp_platform.cli", "dev"], env=cli.env(), stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )


@pytest.mark.parametrize("how", ["kill -INT", "kill -TERM", "erp stop"])
def test_erp_dev_stops_cleanly_from_anywhere(cli: ErpCli, tmp_path: Path, how: str) -> None:
    ui_port, metrics_port = int(cli.env()["ERP_DEV_PORT"]), int(cli.env()["ERP_METRICS_PORT"])
    assert cli("init").code == 0
    log = tmp_path / "dev.log"
    dev = start_in_background(cli, log)
    try:
        wait_for(lambda: "Dagster UI: " in log.read_text() or dev.poll() is not None, "erp dev to start")
        assert dev.poll() is None, log.read_text()
        assert f"Dagster UI: http://127.0.0.1:{ui_port}" in log.read_text()
        if how == "kill -TERM":  # once is enough: the heartbeats are fresh while it runs, cleared when it stops
            wait_for(lambda: cli("health").code == 0, "fresh daemon heartbeats")
        started = descendants(dev.pid)
        assert len(started) >= 3  # fork server, daemon, webserver (and their children)
        assert listening(ui_port) and listening(metrics_port)

        status = cli("status", "--json").json()
        [running] = [c for c in status["components"] if c["name"] == "erp dev"]
        assert (running["running"], running["pid"], running["command"]) == (True, dev.pid, "erp dev")
        assert running["urls"] == {"UI": f"http://127.0.0.1:{ui_port}",
                                   "metrics": f"http://127.0.0.1:{metrics_port}/metrics"}
        second = cli("dev")
        assert second.code == 2
        assert second.stderr.startswith(f"error: erp dev already runs for ERP_HOME {cli.home} (pid {dev.pid}, "
                                        "`erp dev`, since ")
        assert second.stderr.rstrip().endswith("; stop it with `erp stop` or use it")

        if how == "erp stop":
            stopped = cli("stop", "--json")
            assert stopped.code == 0, stopped.stderr
            assert stopped.json()["stopped"] == [{"name": "erp dev", "pid": dev.pid}]
            assert dev.poll() is not None  # erp stop returns once erp dev has exited
        else:
            os.kill(dev.pid, signal.SIGINT if how == "kill -INT" else signal.SIGTERM)
        assert dev.wait(timeout=120) == 0
    finally:
        if dev.poll() is None:
            dev.kill()
            dev.wait()
    wait_for(lambda: not any(alive(pid) for pid in started), "every process erp dev started to exit", 30)
    assert not listening(ui_port) and not listening(metrics_port)
    assert log.read_text().rstrip().endswith("stopped")
    status = cli("status", "--json").json()
    assert [c["running"] for c in status["components"] if c["name"] == "erp dev"] == [False]
    health = cli("health", "--json")
    assert health.code == 1
    [daemon] = [c for c in health.json()["checks"] if c["name"] == "dagster_daemon"]
    assert daemon["detail"].endswith("the Dagster daemon is not running; start the platform with `erp dev`")


def test_status_and_stop_with_nothing_running(cli: ErpCli) -> None:
    status = cli("status")
    assert status.code == 0, status.stderr
    assert status.stdout.splitlines() == [
        f"ERP_HOME {cli.home}",
        "  database  ERP_DATABASE_URL (not managed by erp stop)",
        "  erp dev   not running",
        "  mock ERP  not running",
    ]
    stopped = cli("stop")
    assert (stopped.code, stopped.stdout) == (0, f"nothing was running for ERP_HOME {cli.home}\n")
