"""Per-tenant storage quotas, enforced by the object store on every write of a tenant's objects.

The store keeps a running total of each tenant's bytes, computed once from a listing of the tenant's
prefix (local or S3) and then kept up to date by the writes of this process; deletes, and an age of
``refresh_seconds`` (other processes write too), make the next write recompute it. The limit of each
tenant comes from a callable (the platform reads the tenant's ``max_storage_gb``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from erp_platform._errors import ObjectStoreError, QuotaExceededError

GIB = 1024**3

#: The tenant's limit in bytes (None: no limit), e.g. from its ``max_storage_gb``.
LimitOf = Callable[[str], "int | None"]
#: The bytes a tenant's objects take now, measured by listing them.
MeasureUsage = Callable[[str], int]


class StorageQuotaExceededError(ObjectStoreError, QuotaExceededError):
    """A write would take the tenant's objects past its storage quota (nothing was written)."""

    transient = False


@dataclass(frozen=True)
class StorageUsage:
    """How much a tenant stores and may store."""

    tenant: str
    used_bytes: int
    limit_bytes: int | None

    @property
    def summary(self) -> str:
        """``1.2 MB of 1 GB (0.1%)``, or ``1.2 MB (no limit)``."""
        if self.limit_bytes is None:
            return f"{human_bytes(self.used_bytes)} (no limit)"
        share = 100.0 * self.used_bytes / self.limit_bytes if self.limit_bytes else 100.0
        return f"{human_bytes(self.used_bytes)} of {human_bytes(self.limit_bytes)} ({share:.1f}%)"


class StorageQuota:
    """Running totals of each tenant's stored bytes, and the check a write must pass.

    Args:
        limit_of: the tenant's limit in bytes, or None for no limit (read at most every
            ``refresh_seconds`` per tenant).
        refresh_seconds: a running total older than this is measured again before the next write.
        limit_refresh_seconds: a limit older than this is read again (a changed quota applies after it).
    """

    def __init__(self, limit_of: LimitOf, *, refresh_seconds: float = 60.0, limit_refresh_seconds: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limit_of = limit_of
        self._refresh = refresh_seconds
        self._limit_refresh = limit_refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._totals: dict[str, tuple[float, int]] = {}  # tenant -> (measured at, bytes)
        self._limits: dict[str, tuple[float, int | None]] = {}

    def usage(self, tenant: str, measure: MeasureUsage, *, fresh: bool = False) -> StorageUsage:
        """The tenant's usage and limit (``fresh``: measured now instead of the running total)."""
        return StorageUsage(tenant, self._total(tenant, measure, fresh=fresh), self._limit(tenant))

    def admit(self, tenant: str, what: str, incoming: int, replaced: int, measure: MeasureUsage) -> None:
        """Refuse a write of ``incoming`` bytes (replacing ``replaced`` bytes) that would pass the limit.

        Raises:
            StorageQuotaExceededError: with the usage, the limit and what to delete.
        """
        limit = self._limit(tenant)
        if limit is None:
            return
        used = self._total(tenant, measure)
        if used - replaced + incoming <= limit:
            return
        used = self._total(tenant, measure, fresh=True)  # another process may have deleted objects
        if used - replaced + incoming <= limit:
            return
        raise StorageQuotaExceededError(
            f"tenant {tenant!r} is over its storage quota: writing {what} ({human_bytes(incoming)}) would "
            f"bring its objects to {human_bytes(used - replaced + incoming)}, past its limit of "
            f"{human_bytes(limit)} (max_storage_gb); it stores {human_bytes(used)} now. Delete what it no "
            f"longer needs: the artifacts of old SDK versions with `erp sdk prune {tenant} SDK --keep N` "
            f"(revoke unused versions first with `erp sdk revoke {tenant} SDK VERSION`), or raise the limit "
            f"with `erp tenant set-quota {tenant} --max-storage-gb N`"
        )

    def wrote(self, tenant: str, delta: int) -> None:
        """Add a completed write's change in bytes to the running total (if there is one)."""
        with self._lock:
            found = self._totals.get(tenant)
            if found is not None:
                self._totals[tenant] = (found[0], max(0, found[1] + delta))

    def forget(self, tenant: str) -> None:
        """Drop the running total (after deletes): the next write measures the tenant again."""
        with self._lock:
            self._totals.pop(tenant, None)

    def _total(self, tenant: str, measure: MeasureUsage, *, fresh: bool = False) -> int:
        now = self._clock()
        with self._lock:
            found = self._totals.get(tenant)
        if found is not None and not fresh and now - found[0] < self._refresh:
            return found[1]
        total = measure(tenant)
        with self._lock:
            self._totals[tenant] = (now, total)
        return total

    def _limit(self, tenant: str) -> int | None:
        now = self._clock()
        with self._lock:
            found = self._limits.get(tenant)
        if found is not None and now - found[0] < self._limit_refresh:
            return found[1]
        limit = self._limit_of(tenant)
        with self._lock:
            self._limits[tenant] = (now, limit)
        return limit


def human_bytes(value: int) -> str:
    """``512 B``, ``1.5 KB``, ``40.0 MB``, ``1 GB`` (binary units, as ``max_storage_gb`` counts)."""
    if value < 1024:
        return f"{value} B"
    amount = float(value)
    for unit in ("KB", "MB", "GB", "TB"):
        amount /= 1024
        if amount < 1024 or unit == "TB":
            return f"{amount:.0f} {unit}" if amount == int(amount) else f"{amount:.1f} {unit}"
    raise AssertionError("unreachable")
