"""Structured JSON logs: the formatter, the run logger (fields, bind, mirror into Dagster's run log)."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import dagster as dg

from erp_platform.observability import JsonLogFormatter, RunLogger, configure_json_logging


def capture(name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    logger = logging.getLogger(name)
    logger.handlers.clear()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, stream


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_line_is_json_with_the_context_fields() -> None:
    logger, stream = capture("test.json.fields")
    log = RunLogger(tenant="acme", workflow="orders_sync", run_id="r1", step="extract", logger=logger)
    log.info("fetched page %s", 3, records=1000)
    log.bind(step="load", attempt=2).warning("slow")
    first, second = lines(stream)
    assert set(first) == {"ts", "level", "logger", "message", "tenant", "workflow", "run_id", "step",
                          "records"}
    assert {k: first[k] for k in ("level", "logger", "message", "tenant", "workflow", "run_id", "step",
                                  "records")} == {
        "level": "INFO", "logger": "test.json.fields", "message": "fetched page 3", "tenant": "acme",
        "workflow": "orders_sync", "run_id": "r1", "step": "extract", "records": 1000}
    assert (second["level"], second["step"], second["attempt"], second["tenant"]) == (
        "WARNING", "load", 2, "acme")


def test_missing_fields_are_left_out_and_exceptions_are_included() -> None:
    logger, stream = capture("test.json.exc")
    log = RunLogger(tenant=None, logger=logger)
    try:
        raise ValueError("bad page")
    except ValueError:
        log.exception("extract failed")
    [line] = lines(stream)
    assert "tenant" not in line and "workflow" not in line
    assert line["level"] == "ERROR"
    assert line["exception"].splitlines()[-1] == "ValueError: bad page"


def test_messages_are_mirrored_into_a_second_logger() -> None:
    logger, stream = capture("test.json.mirror")
    mirrored: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            mirrored.append(record.getMessage())

    run_log = logging.getLogger("test.json.mirror.run")
    run_log.addHandler(Collect())
    run_log.setLevel(logging.INFO)
    RunLogger(tenant="acme", logger=logger, dagster_log=run_log).info("held %d s", 5)
    assert mirrored == ["held 5 s"]
    assert lines(stream)[0]["message"] == "held 5 s"


def test_configure_json_logging_is_idempotent() -> None:
    stream = io.StringIO()
    first = configure_json_logging("DEBUG", stream=stream, logger_name="test.json.configured")
    second = configure_json_logging("INFO", stream=stream, logger_name="test.json.configured")
    assert first is second
    logging.getLogger("test.json.configured.child").info("hello")
    assert json.loads(stream.getvalue())["message"] == "hello"


def test_for_context_takes_tenant_workflow_run_and_step_from_a_dagster_run() -> None:
    logger, stream = capture("test.json.context")

    @dg.op
    def extract(context) -> None:  # type: ignore[no-untyped-def]  # Dagster needs the bare name here
        RunLogger.for_context(context, logger=logger).info("started", page=1)

    @dg.job(tags={"erp/tenant": "acme", "erp/workflow": "orders_sync"})
    def sync() -> None:
        extract()

    with dg.DagsterInstance.ephemeral() as instance:
        result = sync.execute_in_process(instance=instance)
        in_run_log = [e.user_message for e in instance.all_logs(result.run_id)]
    [line] = lines(stream)
    assert {k: line[k] for k in ("tenant", "workflow", "run_id", "step", "page")} == {
        "tenant": "acme", "workflow": "orders_sync", "run_id": result.run_id, "step": "extract", "page": 1}
    assert "started" in in_run_log  # the same message in the run's event log (the UI)
