"""Structured JSON logs that carry tenant, workflow, run and step.

``RunLogger`` is a :class:`logging.LoggerAdapter`: each call writes one JSON line through the ``erp.run``
logger (``JsonLogFormatter``) and, when given Dagster's ``context.log``, the same message to the run's
event log, so an operator sees it in the UI and a log shipper gets the fields::

    log = RunLogger.for_context(context)          # in an asset or op
    log.info("fetched page", page=3, records=1000)
    # {"ts": "...", "level": "INFO", "logger": "erp.run", "message": "fetched page",
    #  "tenant": "acme", "workflow": "orders_sync", "run_id": "...", "step": "orders", "page": 3, ...}
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import IO, Any

import orjson

RUN_LOGGER = "erp.run"
CONTEXT_ATTR = "erp_context"
CONTEXT_FIELDS = ("tenant", "workflow", "run_id", "step")
_HANDLER_MARK = "_erp_json_handler"
_RESERVED = frozenset({"exc_info", "stack_info", "stacklevel", "extra"})


class JsonLogFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message, then its context fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = getattr(record, CONTEXT_ATTR, None)
        if isinstance(context, Mapping):
            payload.update({k: v for k, v in context.items() if v is not None})
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(payload, default=str).decode()


def configure_json_logging(level: str | int = "INFO", *, stream: IO[str] | None = None,
                           logger_name: str = "erp") -> logging.Handler:
    """Send ``logger_name``'s records to ``stream`` (stderr) as JSON lines; idempotent per logger."""
    logger = logging.getLogger(logger_name)
    for handler in logger.handlers:
        if getattr(handler, _HANDLER_MARK, False):
            handler.setLevel(level)
            return handler
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    handler.setLevel(level)
    setattr(handler, _HANDLER_MARK, True)
    logger.addHandler(handler)
    logger.propagate = False
    number = logging.getLevelName(level) if isinstance(level, str) else level
    if logger.level == logging.NOTSET or logger.level > number:
        logger.setLevel(number)
    return handler


class RunLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Logs with tenant, workflow, run and step attached; mirrors messages into a Dagster log if given.

    Args:
        tenant, workflow, run_id, step: the context fields of every line.
        dagster_log: Dagster's ``context.log`` (the message also goes to the run's event log).
        logger: the Python logger for the lines (default ``erp.run``, which gets a JSON handler on
            stderr, the run worker's log file, on first use).
    """

    def __init__(self, *, tenant: str | None, workflow: str | None = None, run_id: str | None = None,
                 step: str | None = None, dagster_log: logging.Logger | None = None,
                 logger: logging.Logger | None = None, **fields: Any) -> None:
        base = logger
        if base is None:
            base = logging.getLogger(RUN_LOGGER)
            configure_json_logging(logger_name=RUN_LOGGER)
        context = {"tenant": tenant, "workflow": workflow, "run_id": run_id, "step": step, **fields}
        super().__init__(base, context)
        self.dagster_log = dagster_log

    @classmethod
    def for_context(cls, context: Any, *, step: str | None = None,
                    logger: logging.Logger | None = None) -> RunLogger:
        """A logger for a Dagster op/asset ``context`` (tenant and workflow from the run's tags)."""
        tags = context.run.tags
        return cls(tenant=tags.get("erp/tenant"), workflow=tags.get("erp/workflow"), run_id=context.run_id,
                   step=step or str(context.op_handle), dagster_log=context.log, logger=logger)

    @property
    def fields(self) -> dict[str, Any]:
        return dict(self.extra or {})

    def bind(self, **fields: Any) -> RunLogger:
        """A logger with more (or changed) context fields, same destinations."""
        merged = {**self.fields, **fields}
        return RunLogger(dagster_log=self.dagster_log, logger=self.logger, **merged)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        extra_fields = {k: kwargs.pop(k) for k in list(kwargs) if k not in _RESERVED}
        extra = dict(kwargs.get("extra") or {})
        extra[CONTEXT_ATTR] = {**self.fields, **extra_fields}
        kwargs["extra"] = extra
        return msg, kwargs

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.dagster_log is not None:
            text = str(msg) % args if args else str(msg)
            self.dagster_log.log(level, text)
        super().log(level, msg, *args, **kwargs)
