"""Postgres token buckets: one SQL statement per take, never more grants than capacity under concurrency."""

from __future__ import annotations

import multiprocessing
import threading
import uuid

import pytest
from sqlalchemy import Engine, text

from erp_platform._errors import InvalidInputError
from erp_platform.db import make_engine
from erp_platform.queue import BucketSpec, TokenBuckets


def spec(capacity: float = 5, rate: float = 0.0) -> BucketSpec:
    return BucketSpec(name=f"test:{uuid.uuid4().hex}", capacity=capacity, rate=rate)


def test_takes_until_empty_then_refuses_with_the_wait(engine: Engine) -> None:
    buckets, bucket = TokenBuckets(engine), spec(capacity=3, rate=1 / 60)
    assert [buckets.take(bucket).granted for _ in range(4)] == [True, True, True, False]
    refused = buckets.take(bucket)
    assert refused.granted is False
    assert 0 <= refused.tokens < 0.1
    assert 55 < refused.retry_after <= 60


def test_a_new_bucket_starts_full_and_peek_does_not_take(engine: Engine) -> None:
    buckets, bucket = TokenBuckets(engine), spec(capacity=4)
    assert buckets.peek(bucket) == 4
    assert buckets.take(bucket, 3).tokens == 1
    assert buckets.peek(bucket) == 1
    assert buckets.peek(bucket) == 1


def test_refill_is_capped_at_capacity(engine: Engine) -> None:
    buckets, bucket = TokenBuckets(engine), spec(capacity=2, rate=1000.0)
    buckets.take(bucket, 2)
    with engine.begin() as conn:
        conn.execute(text("UPDATE erp_control.token_buckets SET updated_at = now() - interval '1 hour' "
                          "WHERE bucket = :b"), {"b": bucket.name})
    assert buckets.peek(bucket) == 2
    assert buckets.take(bucket, 2).granted is True


def test_refund_returns_tokens_up_to_capacity(engine: Engine) -> None:
    buckets, bucket = TokenBuckets(engine), spec(capacity=3)
    buckets.take(bucket, 2)
    buckets.refund(bucket, 5)
    assert buckets.peek(bucket) == 3


def test_a_take_inside_a_rolled_back_transaction_is_returned(engine: Engine) -> None:
    buckets, bucket = TokenBuckets(engine), spec(capacity=1)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        assert buckets.take(bucket, conn=conn).granted is True
        raise RuntimeError("enqueue failed")
    assert buckets.peek(bucket) == 1


def test_a_cost_above_capacity_never_succeeds(engine: Engine) -> None:
    took = TokenBuckets(engine).take(spec(capacity=2), 3)
    assert (took.granted, took.retry_after) == (False, float("inf"))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": "", "capacity": 1, "rate": 1},
     "token bucket name must be 1 to 200 characters (received '')"),
    ({"name": "x" * 201, "capacity": 1, "rate": 1},
     f"token bucket name must be 1 to 200 characters (received '{'x' * 201}')"),
    ({"name": "b", "capacity": -1, "rate": 1},
     "token bucket 'b' needs capacity >= 0 and rate >= 0 (received capacity=-1, rate=1)"),
    ({"name": "b", "capacity": 1, "rate": -0.5},
     "token bucket 'b' needs capacity >= 0 and rate >= 0 (received capacity=1, rate=-0.5)"),
])
def test_bad_bucket_shapes_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        BucketSpec(**kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_a_non_positive_cost_is_refused(engine: Engine) -> None:
    with pytest.raises(InvalidInputError) as caught:
        TokenBuckets(engine).take(spec(), 0)
    assert str(caught.value) == "cost must be positive (received 0)"


def test_concurrent_threads_never_get_more_than_capacity(engine: Engine) -> None:
    buckets, bucket = TokenBuckets(engine), spec(capacity=40, rate=40 / 3600)
    granted: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def worker() -> None:
        start.wait()
        for _ in range(10):
            ok = buckets.take(bucket).granted
            with lock:
                granted.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 120
    assert sum(granted) == 40  # refill over the test is far below one token


def _take_in_process(url: str, name: str, attempts: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    engine = make_engine(url, pool_size=1)
    buckets = TokenBuckets(engine)
    bucket = BucketSpec(name=name, capacity=25, rate=25 / 3600)
    out.put(sum(buckets.take(bucket).granted for _ in range(attempts)))
    engine.dispose()


def test_concurrent_processes_never_get_more_than_capacity(pg_url: str, engine: Engine) -> None:
    name = f"test:{uuid.uuid4().hex}"
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_take_in_process, args=(pg_url, name, 15, out)) for _ in range(4)]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(60)
    assert sum(results) == 25
    assert TokenBuckets(engine).peek(BucketSpec(name=name, capacity=25, rate=0)) < 1
