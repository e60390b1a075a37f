"""The request audit trail: batches into erp_control.sdk_requests, the rest on close."""

from __future__ import annotations

import time

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from erp_platform.registry._models import SdkRequest
from erp_platform.sandbox import RequestRecord
from erp_platform.sdks import RegistryRequestRecorder


def _record(n: int) -> RequestRecord:
    return RequestRecord(tenant="acme", sdk_name="erp", sdk_version=2, operation="list_customers",
                         method="GET",
                         host="erp.example.com", path=f"/customers/{n}", query_keys=("$top",), status=200,
                         bytes=100 + n, ms=1.5, attempt=1)


def _paths(engine: Engine, run_id: str) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(SdkRequest.path).where(SdkRequest.run_id == run_id)
                                    .order_by(SdkRequest.id)))


def test_full_batches_are_written_at_once_and_the_rest_on_close(engine: Engine) -> None:
    recorder = RegistryRequestRecorder(engine, run_id="rec-1", batch_size=2, max_delay_seconds=3600)
    for n in range(3):
        recorder.record(_record(n))
    assert _paths(engine, "rec-1") == ["/customers/0", "/customers/1"]
    assert recorder.written == 2
    recorder.close()
    recorder.close()
    assert _paths(engine, "rec-1") == ["/customers/0", "/customers/1", "/customers/2"]
    with Session(engine) as session:
        row = session.scalars(select(SdkRequest).where(SdkRequest.run_id == "rec-1").order_by(SdkRequest.id)).first()
    assert row is not None
    assert (row.tenant_slug, row.sdk_name, row.sdk_version, row.operation, row.method, row.host, row.status,
            row.bytes, row.ms, row.attempt, row.error) == (
        "acme", "erp", 2, "list_customers", "GET", "erp.example.com", 200, 100, 1.5, 1, None)


def test_a_batch_is_written_once_its_oldest_record_waited_the_maximum_delay(engine: Engine) -> None:
    """A killed worker never flushes on close: slow calls must still reach the trail within the delay."""
    recorder = RegistryRequestRecorder(engine, run_id="rec-delay", batch_size=1000, max_delay_seconds=0.2)
    recorder.record(_record(0))
    assert _paths(engine, "rec-delay") == []
    time.sleep(0.25)
    recorder.record(_record(1))
    assert _paths(engine, "rec-delay") == ["/customers/0", "/customers/1"]
    recorder.record(_record(2))
    assert _paths(engine, "rec-delay") == ["/customers/0", "/customers/1"]
    recorder.close()
    assert _paths(engine, "rec-delay") == ["/customers/0", "/customers/1", "/customers/2"]
