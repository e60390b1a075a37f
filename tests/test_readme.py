"""The README's "Using it" block, read from README.md itself and run as written in a fresh ERP_HOME: each
command in a shell, the ones marked "own terminal" started in the background the way a user opens another
terminal (and waited for until they print what their comment says), the embedded PostgreSQL as a new user
gets it. Then the rows the sync loaded are checked in the tenant's schema, and after `erp stop` nothing the
walkthrough started is left running.

Only the ports are changed (the mock ERP's 8900 in the text, the UI and metrics ports through
ERP_DEV_PORT / ERP_METRICS_PORT) so the test can run beside other stacks on the same machine; the two
set-up lines (`make install`, activating .venv) are what this test process already is.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.cli.test_lifecycle import alive, descendants, listening
from tests.support.stack import free_port

README = Path(__file__).resolve().parents[1] / "README.md"
SETUP = ("make install", ". .venv/bin/activate")
READY = re.compile(r"own terminal, ready at \"([^\"]+)\"")


@dataclass(frozen=True)
class Step:
    command: str
    ready: str | None  # set for long-running commands started in their own terminal


def using_it_block(readme: str) -> list[Step]:
    """The commands of the first ```sh block under "## Using it", with their own-terminal markers."""
    section = readme.split("\n## Using it\n", 1)[1]
    block = section.split("```sh\n", 1)[1].split("\n```", 1)[0]
    steps: list[Step] = []
    for line in block.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        command, _, comment = line.partition("  #")
        marker = READY.search(comment)
        steps.append(Step(command.strip(), marker.group(1) if marker else None))
    return steps


def test_the_block_is_found_and_marks_its_long_running_commands() -> None:
    steps = using_it_block(README.read_text())
    assert tuple(s.command for s in steps[:2]) == SETUP
    assert [(s.command, s.ready) for s in steps if s.ready] == [
        ("erp mock-erp --port 8900", "listening on"), ("erp dev", "Dagster UI")]
    assert steps[-1].command == "erp stop"


def _env(ports: dict[str, int]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ERP_", "DAGSTER_", "XDG_RUNTIME"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # what activation does
    env["VIRTUAL_ENV"] = str(Path(sys.executable).parent.parent)
    env["ERP_DEV_PORT"] = str(ports["ui"])
    env["ERP_METRICS_PORT"] = str(ports["metrics"])
    return env


def _wait_for(log: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode} before printing {text!r}:\n{log.read_text()}")
        time.sleep(0.5)
    raise AssertionError(f"no {text!r} within {timeout:.0f} s:\n{log.read_text()}")


def _rows(workdir: Path) -> dict[str, int]:
    """Rows of the tenant's tables, read from the embedded server the walkthrough started."""
    with psycopg.connect(host=str(workdir / ".erp" / "pgdata"), user="postgres", dbname="erp") as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM tenant_acme.{table}").fetchone()[0]  # type: ignore[index]
            for table in ("customers", "sales_orders")
        }


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A fresh folder outside pytest's private temp root: run as root, the embedded PostgreSQL runs as its own
    system user, which must be able to reach the data folder (pytest resets its root to mode 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="erp-readme-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_the_walkthrough_runs_as_written(tmp_path: Path, workdir: Path) -> None:
    steps = using_it_block(README.read_text())
    assert tuple(s.command for s in steps[:2]) == SETUP
    ports = {"mock": free_port(), "ui": free_port(), "metrics": free_port()}
    env = _env(ports)
    background: list[subprocess.Popen[bytes]] = []
    started: set[int] = set()
    outputs: dict[str, str] = {}
    try:
        for step in steps[2:]:
            command = step.command.replace("8900", str(ports["mock"]))
            if step.ready is not None:
                log = tmp_path / f"terminal-{len(background) + 1}.log"
                with open(log, "wb") as out:
                    proc = subprocess.Popen(["bash", "-c", command], cwd=workdir, env=env, stdout=out,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
                background.append(proc)
                _wait_for(log, step.ready, proc)
                continue
            if command == "erp stop":
                assert _rows(workdir) == {"customers": 1000, "sales_orders": 1000}
                started = {p.pid for p in background}.union(*(descendants(p.pid) for p in background))
            result = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=workdir, env=env,
                                    capture_output=True, text=True, timeout=900, check=False)
            assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
            assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr
            outputs[step.command] = result.stdout
        run_output = outputs["erp run acme sales_sync --wait"]
        assert re.search(r"run \S+ finished: SUCCESS", run_output), run_output
        assert "  tenant_acme.customers: 1,000 rows in, 1,000 inserted, 0 updated, 0 unchanged" in run_output
        assert "  tenant_acme.sales_orders: 1,000 rows in, 1,000 inserted" in run_output
        status = outputs["erp status"]
        assert re.search(r"embedded PostgreSQL\s+running \(pid \d+\)", status), status
        assert f"UI http://127.0.0.1:{ports['ui']}" in status
        assert "stopped: erp dev" in outputs["erp stop"]
        mock, dev = background
        assert dev.wait(timeout=60) == 0  # erp stop ended erp dev as Ctrl-C would
        assert mock.wait(timeout=60) in (0, -signal.SIGTERM)  # uvicorn re-raises the SIGTERM it handled
    finally:
        for proc in background:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        from erp_platform.db import stop_embedded_server

        stopped_here = stop_embedded_server(workdir / ".erp")  # only when a step failed before `erp stop`
    assert not stopped_here
    time.sleep(1)
    assert not [pid for pid in started if alive(pid)]
    assert not any(listening(port) for port in ports.values())
    assert not (workdir / ".erp" / "pgdata" / "postmaster.pid").exists()  # embedded PostgreSQL stopped
