"""Rendering command results: JSON for machines (``--json``), rich tables for people."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from rich import box
from rich.console import Console
from rich.table import Table

from erp_platform._platform import Platform
from erp_platform.config import Settings

#: Characters that act on a terminal instead of being shown: C0 and C1 controls except newline and tab (ESC
#: starts ANSI sequences; CR and backspace overwrite what was printed) and the bidirectional overrides.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe_text(text: str) -> str:
    """``text`` for the operator's terminal: each control character shown as an escape (``\\x1b``), not run.

    Everything the CLI echoes passes through here (ERP error bodies, spec file names, values read from the
    registry), so an ERP or a spec cannot move the cursor, recolour, hide text or retitle the terminal.
    """
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def echo(*values: object, **kwargs: Any) -> None:
    """``print`` for the operator's terminal: every value passes through :func:`safe_text`."""
    print(*(safe_text(str(value)) for value in values), **kwargs)


class _SafeConsole(Console):
    """A rich console whose printed strings pass through :func:`safe_text` (rich's own styling still works)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(safe_text(o) if isinstance(o, str) else o for o in objects), **kwargs)


console: Console = _SafeConsole()


def _default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return str(value)


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on standard output (plain print: no markup, no wrapping)."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    elif isinstance(data, list):
        data = [d.model_dump(mode="json") if isinstance(d, BaseModel) else d for d in data]
    print(json.dumps(data, indent=2, sort_keys=True, default=_default))


def print_table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[object]], *, compact: bool = False
) -> None:
    """A table for people; values are wrapped, never cut. ``compact``: no cell borders (narrow terminals)."""
    table = Table(title=title, show_lines=False, box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else safe_text(str(v)) for v in row))
    console.print(table)


def print_fields(title: str, fields: Mapping[str, object]) -> None:
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in fields.items():
        table.add_row(safe_text(key), "" if value is None else safe_text(str(value)))
    console.print(table)


@contextmanager
def platform(*, initialised: bool = True) -> Iterator[Platform]:
    """The platform for one command; by default refuses to run before ``erp init``."""
    with Platform(application_name="erp-cli") as plat:
        if initialised:
            plat.require_initialised()
        yield plat


@contextmanager
def stops_embedded_database(settings: Settings, *, enabled: bool = True) -> Iterator[None]:
    """Stop the embedded PostgreSQL on exit if this command is the one that started it (Ctrl-C stops
    everything a command started; a server that was already running is left alone)."""
    from erp_platform.db import embedded_server_pid, stop_embedded_server

    home = settings.resolved_home
    started_here = enabled and settings.database_url is None and embedded_server_pid(home) is None
    try:
        yield
    finally:
        if started_here and stop_embedded_server(home):
            console.print("stopped the embedded PostgreSQL server")
