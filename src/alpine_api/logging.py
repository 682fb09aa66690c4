"""Structured logging: JSON lines in production, readable text under `dev`.

Every record carries the id of the request being served (`request_id`, from a context
variable the request middleware sets), so all lines of one request can be found together.
Fields given with `extra=` (method, route, status, duration_ms, user_id on access lines)
become JSON keys, or `key=value` pairs in text. Nothing here logs request headers or
bodies: secrets (passwords, tokens, Authorization headers) have no path into the log.
"""

from __future__ import annotations

import logging
import sys
import time
from contextvars import ContextVar
from typing import Any, Literal

import msgspec

LogFormat = Literal["json", "text"]

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}
_json = msgspec.json.Encoder()


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS}


_base_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Stamps the current request id on each record (None outside a request)."""
    record = _base_factory(*args, **kwargs)
    record.request_id = REQUEST_ID.get()
    return record


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, pid, request_id, extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _utc(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,  # which worker
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            line["request_id"] = request_id
        line.update(_extra(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return _json.encode(line).decode()


# Already in the access line's message ("GET /api/x 200"): not repeated as key=value.
_TEXT_HIDDEN = frozenset({"method", "path", "status"})


class TextFormatter(logging.Formatter):
    """`HH:MM:SS level logger msg key=value ... [request_id]`, for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(
            f"{k}={v}" for k, v in _extra(record).items() if v is not None and k not in _TEXT_HIDDEN
        )
        request_id = getattr(record, "request_id", None)
        text = (
            f"{time.strftime('%H:%M:%S', time.localtime(record.created))} "
            f"{record.levelname:<7} {record.name}: {record.getMessage()}"
            f"{' ' + fields if fields else ''}{f' [{request_id}]' if request_id else ''}"
        )
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _utc(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


_installed: logging.Handler | None = None


def configure_logging(log_format: LogFormat, level: int = logging.INFO) -> None:
    """Send the root logger's records to stdout in `log_format` (idempotent)."""
    global _installed
    logging.setLogRecordFactory(_record_with_request_id)
    root = logging.getLogger()
    if _installed is not None:
        root.removeHandler(_installed)
    handler = _StdoutHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    _installed = handler
