"""The audit trail of every HTTP request an SDK made (never a secret, never a query value)."""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


class RequestRecord(BaseModel):
    """One HTTP attempt (or a refused request) made for a guest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: str
    sdk_name: str
    sdk_version: int
    operation: str
    method: str
    host: str = Field(description="host[:port] as requested; empty when the URL could not be parsed")
    path: str = Field(description="URL path without the query string")
    query_keys: tuple[str, ...] = Field((), description="names of the query parameters, never their values")
    status: int | None = Field(None, description="HTTP status; None when no response arrived")
    bytes: int = Field(0, description="response body bytes read")
    ms: float = Field(0.0, description="time of this attempt in milliseconds")
    attempt: int = Field(1, description="1 for the first try, 2 for the first retry, ...")
    error: str | None = Field(None, description="error kind and short reason, e.g. 'EgressDenied: ...'")


@runtime_checkable
class RequestRecorder(Protocol):
    """Receives every request record (audit trail); must be thread-safe."""

    def record(self, entry: RequestRecord) -> None: ...


class InMemoryRequestRecorder:
    """Keeps request records in a list (tests, local runs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def record(self, entry: RequestRecord) -> None:
        """Append one record."""
        with self._lock:
            self._records.append(entry)

    @property
    def records(self) -> tuple[RequestRecord, ...]:
        """Every record so far, oldest first."""
        with self._lock:
            return tuple(self._records)

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._records.clear()
