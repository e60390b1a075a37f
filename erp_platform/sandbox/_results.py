"""What one SDK call returns to the platform."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from erp_platform.sandbox._paging import PageShape, page_shape
from erp_platform.sandbox._protocol import FieldKind


@dataclass(frozen=True)
class LogLine:
    """One line the guest wrote with ``host.log``."""

    level: str
    message: str


@dataclass(frozen=True)
class CallStats:
    """Cost of one call. Not part of result equality (sandbox and native runs differ here)."""

    runner: str  # "wasm" or "native"
    requests: int = 0
    attempts: int = 0
    bytes_received: int = 0
    http_ms: float = 0.0
    instantiate_ms: float = 0.0
    guest_ms: float = 0.0
    total_ms: float = 0.0
    fuel_used: int | None = None
    logs: tuple[LogLine, ...] = ()


@dataclass(frozen=True)
class PageResult:
    """One page of an operation: normalised records, the continuation token and the call's cost.

    ``records`` is empty for non-collection operations, whose value is in ``result``.
    """

    records: list[dict[str, Any]]
    next: str | None
    status: int
    entity: str | None
    stats: CallStats = field(compare=False)
    result: Any = None
    paging_note: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class RawPageResult:
    """One page whose records are NOT normalised yet (bulk consumers normalise them column-wise).

    ``fields`` is the normalisation the guest asked for (host-held records); it is empty when the guest
    parsed and normalised the records itself (``normalised`` is then True).
    """

    records: list[dict[str, Any]]
    fields: dict[str, FieldKind]
    normalised: bool
    next: str | None
    status: int
    entity: str | None
    stats: CallStats = field(compare=False)
    paging_note: str | None = field(default=None, compare=False)

    def paging_shape(self) -> PageShape | None:
        """What the paging guard compares with the page before (see :func:`page_shape`)."""
        return page_shape(self.records)

    def ended(self, note: str) -> RawPageResult:
        """This page as paging ended at it (it repeated the page before): no records, no next token."""
        return replace(self, records=[], next=None, paging_note=note)
