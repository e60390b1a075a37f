"""What keeps running between commands, recorded under ``ERP_HOME/run/processes`` for ``erp status``/``stop``.

``erp dev``, ``erp demo`` and ``erp mock-erp`` record themselves while they run (pid, process start time,
URLs); the embedded PostgreSQL server is found through its own ``postmaster.pid``. A record whose process is
gone (or whose pid now belongs to another process: the start time differs) is stale and removed when read.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from erp_platform._errors import ConflictError
from erp_platform._files import atomic_write_bytes

#: name -> what it is, for messages
KINDS = {"dev": "erp dev", "mock-erp": "mock ERP"}


class ProcessRecord(BaseModel):
    """One long-running ``erp`` process of this ERP_HOME."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="dev (erp dev or erp demo) or mock-erp")
    command: str = Field(description="the command line, e.g. `erp dev`")
    pid: int
    started: float = Field(description="the process's start time (clock ticks since boot) or 0 if unknown")
    started_at: datetime
    urls: dict[str, str] = Field(default_factory=dict)


def processes_dir(home: Path) -> Path:
    return home / "run" / "processes"


def _start_ticks(pid: int) -> float:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22), 0 if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[-1].split()
    return float(fields[19]) if len(fields) > 19 else 0.0


def pid_alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def is_running(record: ProcessRecord) -> bool:
    """The recorded process still runs (same pid and same start time)."""
    if not pid_alive(record.pid):
        return False
    return not record.started or _start_ticks(record.pid) == record.started


def read_records(home: Path) -> list[ProcessRecord]:
    """Records of processes that still run, by name; stale records are removed."""
    folder = processes_dir(home)
    found: list[ProcessRecord] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = ProcessRecord.model_validate_json(path.read_text())
        except (OSError, ValidationError):
            record = None
        if record is None or not is_running(record):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        found.append(record)
    return found


@contextmanager
def recorded(
    home: Path, name: str, command: str, urls: dict[str, str] | None = None, *, exclusive: bool = True
) -> Iterator[Path]:
    """Record this process as ``name`` while the block runs.

    Args:
        exclusive: refuse when a process of this name already runs for ERP_HOME (``erp dev``: its fork
            server socket and workspace belong to one process; several mock ERPs may run side by side).

    Raises:
        ConflictError: ``exclusive`` and the same kind of process already runs for this ERP_HOME.
    """
    for other in read_records(home) if exclusive else []:
        if other.name == name:
            raise ConflictError(
                f"{KINDS.get(name, name)} already runs for ERP_HOME {home} (pid {other.pid}, `{other.command}`, "
                f"since {other.started_at.isoformat(timespec='seconds')}); stop it with `erp stop` or use it"
            )
    pid = os.getpid()
    path = processes_dir(home) / f"{name}-{pid}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = ProcessRecord(name=name, command=command, pid=pid, started=_start_ticks(pid),
                           started_at=datetime.now(UTC), urls=dict(urls or {}))
    atomic_write_bytes(path, record.model_dump_json(indent=2).encode())
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def update_urls(path: Path, urls: dict[str, str]) -> None:
    """Add URLs to this process's record (once they are known, e.g. after the UI answers)."""
    record = ProcessRecord.model_validate_json(path.read_text())
    updated = record.model_copy(update={"urls": {**record.urls, **urls}})
    atomic_write_bytes(path, updated.model_dump_json(indent=2).encode())


def stop_process(record: ProcessRecord, *, timeout: float = 90.0) -> bool:
    """SIGTERM the recorded process and wait until it has stopped what it started; True when it exited."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(record):
            return True
        time.sleep(0.2)
    return False
