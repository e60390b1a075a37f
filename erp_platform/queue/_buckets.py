"""Token buckets in Postgres (``erp_control.token_buckets``), shared by every process.

Taking tokens is one SQL statement: ``INSERT ... ON CONFLICT DO UPDATE ... WHERE``. Postgres locks the
bucket's row, refills it for the time since its last update (``capacity`` at most), and takes ``cost``
tokens only if that many are there; concurrent takers (webserver, daemon, sensors, CLI, run workers)
queue on the row lock and each sees the balance the previous one left, so a bucket never grants more
than its capacity plus what refilled.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from erp_platform._errors import InvalidInputError

_REFILLED = (
    "LEAST(CAST(:capacity AS double precision), b.tokens + GREATEST(0.0, "
    "EXTRACT(EPOCH FROM (clock_timestamp() - b.updated_at))::double precision) * :rate)"
)

_TAKE = text(
    f"""
    INSERT INTO erp_control.token_buckets AS b (bucket, tokens, updated_at)
    VALUES (:bucket, CAST(:capacity AS double precision) - :cost, clock_timestamp())
    ON CONFLICT (bucket) DO UPDATE
       SET tokens = {_REFILLED} - :cost,
           updated_at = GREATEST(b.updated_at, clock_timestamp())
     WHERE {_REFILLED} >= :cost
    RETURNING tokens
    """
)

_PEEK = text(
    f"SELECT {_REFILLED} AS tokens FROM erp_control.token_buckets AS b WHERE b.bucket = :bucket"
)

_PEEK_PREFIX = text(
    "SELECT b.bucket, b.tokens, EXTRACT(EPOCH FROM (clock_timestamp() - b.updated_at))::double precision "
    "AS age FROM erp_control.token_buckets AS b WHERE starts_with(b.bucket, :prefix)"
)

_REFUND = text(
    "UPDATE erp_control.token_buckets SET tokens = LEAST(CAST(:capacity AS double precision), tokens + :n) "
    "WHERE bucket = :bucket"
)


@dataclass(frozen=True)
class BucketSpec:
    """A bucket's shape: at most ``capacity`` tokens, refilled at ``rate`` tokens per second."""

    name: str
    capacity: float
    rate: float

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 200:
            raise InvalidInputError(f"token bucket name must be 1 to 200 characters (received {self.name!r})")
        if self.capacity < 0 or self.rate < 0:
            raise InvalidInputError(
                f"token bucket {self.name!r} needs capacity >= 0 and rate >= 0 "
                f"(received capacity={self.capacity}, rate={self.rate})"
            )

    def wait_for(self, tokens: float, cost: float) -> float:
        """Seconds until ``cost`` tokens are available when ``tokens`` are there now (inf: never)."""
        if tokens >= cost:
            return 0.0
        if self.rate <= 0 or cost > self.capacity:
            return float("inf")
        return (cost - tokens) / self.rate


@dataclass(frozen=True)
class Take:
    """The outcome of taking tokens: granted or not, the balance left, and how long until enough refill."""

    granted: bool
    tokens: float
    retry_after: float


class TokenBuckets:
    """Take, peek and refund tokens of named buckets in ``erp_control.token_buckets``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def take(self, spec: BucketSpec, cost: float = 1.0, *, conn: Connection | None = None) -> Take:
        """Take ``cost`` tokens if the bucket (refilled to now) holds them; never blocks for long.

        Pass ``conn`` to take inside the caller's transaction (a rollback then returns the tokens).
        """
        if cost <= 0:
            raise InvalidInputError(f"cost must be positive (received {cost})")
        if cost > spec.capacity:
            return Take(granted=False, tokens=self._peek(spec, conn), retry_after=float("inf"))
        params = {"bucket": spec.name, "capacity": spec.capacity, "rate": spec.rate, "cost": cost}
        if conn is not None:
            left = conn.execute(_TAKE, params).scalar()
        else:
            with self._engine.begin() as own:
                left = own.execute(_TAKE, params).scalar()
        if left is not None:
            return Take(granted=True, tokens=float(left), retry_after=0.0)
        tokens = self._peek(spec, conn)
        return Take(granted=False, tokens=tokens, retry_after=spec.wait_for(tokens, cost))

    def peek(self, spec: BucketSpec) -> float:
        """Tokens in the bucket now (refilled to now; ``capacity`` for a bucket never used)."""
        return self._peek(spec, None)

    def peek_prefix(self, prefix: str) -> dict[str, tuple[float, float]]:
        """``bucket -> (stored tokens, seconds since last update)`` of every bucket named ``prefix...``."""
        with self._engine.connect() as conn:
            return {r.bucket: (float(r.tokens), float(r.age)) for r in conn.execute(_PEEK_PREFIX,
                                                                                     {"prefix": prefix})}

    def refund(self, spec: BucketSpec, n: float = 1.0) -> None:
        """Give back ``n`` tokens (never above capacity), e.g. when a granted action did not happen."""
        with self._engine.begin() as conn:
            conn.execute(_REFUND, {"bucket": spec.name, "capacity": spec.capacity, "n": n})

    def _peek(self, spec: BucketSpec, conn: Connection | None) -> float:
        params = {"bucket": spec.name, "capacity": spec.capacity, "rate": spec.rate}
        if conn is not None:
            value = conn.execute(_PEEK, params).scalar()
        else:
            with self._engine.connect() as own:
                value = own.execute(_PEEK, params).scalar()
        return spec.capacity if value is None else float(value)


def refilled(tokens: float, age_seconds: float, spec: BucketSpec) -> float:
    """A stored balance refilled for ``age_seconds`` (what :meth:`TokenBuckets.peek` computes in SQL)."""
    return min(spec.capacity, tokens + max(0.0, age_seconds) * spec.rate)
