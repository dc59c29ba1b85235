"""Structured logs: one JSON object a line when stderr is not a terminal, readable text when it is.

Every record carries the id of the HTTP request it was logged in (`request_id`), the same id the
response carries in `X-Request-Id` and a 500's problem+json in `request_id`; a record logged
outside a request (the scheduler, the CLI) has none. Values passed as `extra={...}` become fields
of the JSON object (and `key=value` pairs of the text line).

`log_config()` is a `logging.config.dictConfig` dictionary: give it to uvicorn (`log_config=`), which
applies it in every worker process it starts, so that uvicorn's own lines are JSON too.
`configure_logging()` applies it in this process (the worker, the CLI).
"""

from __future__ import annotations

import json
import logging
import logging.config
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# The current request's id, set by api/problems.RequestIds for the request's task (and copied into
# the threads its use cases run in).
request_id_var: ContextVar[str | None] = ContextVar("orderguard_request_id", default=None)

# What every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id", "taskName"}


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, request_id, extras,
    and the exception's trace as one string."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            out["request_id"] = request_id
        out.update(_extras(record))
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time level logger [request id] message key=value ...` for a person at a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        head, _, rest = line.partition("\n")  # a trace, if any, stays below the line
        head = f"{head} [{request_id}]" if request_id else head
        head = f"{head} {extras}" if extras else head
        return f"{head}\n{rest}" if rest else head


def wants_json() -> bool:
    """JSON unless stderr is a terminal."""
    isatty = getattr(sys.stderr, "isatty", None)
    return not (callable(isatty) and isatty())


def lean_records() -> None:
    """In a serving process: log records without their caller's file, line and function, thread and
    process, which no formatter here prints. Finding the caller walks the stack at every record,
    and the API logs one a request (issue #12: the access log cost 5-10 % of an order read's
    throughput, the caller's look-up about half of that). The switches are the ones the logging
    HOWTO's "Optimization" section names."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def log_config(level: str = "INFO", json_lines: bool | None = None) -> dict[str, Any]:
    """The dictConfig of every OrderGuard process: one stderr handler on the root logger, uvicorn's
    loggers through it (its access log off: the API logs each request itself, with its id)."""
    as_json = wants_json() if json_lines is None else json_lines
    formatter = f"{__name__}.JsonFormatter" if as_json else f"{__name__}.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"orderguard": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "orderguard",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            # its plugin set-up at every migration check says nothing an operator acts on
            "alembic": {"handlers": [], "propagate": True, "level": "WARNING"},
        },
    }


def configure_logging(level: str = "INFO", json_lines: bool | None = None, *, force: bool = False) -> None:
    """Apply `log_config` in this process, unless logging is configured already (a host process, a
    test runner), as `logging.basicConfig` would; `force` applies it anyway."""
    if logging.getLogger().handlers and not force:
        return
    logging.config.dictConfig(log_config(level, json_lines))
