"""Structured logging to stdout: JSON lines in production, readable text under `dev`.

Every line carries the id of the request being served (`request_id`, from a context
variable the request middleware sets), so all lines of one request can be found together.
Fields given with `extra=` become JSON keys, or `key=value` pairs in text.

The access line (one per request) is written by `access()` straight to stdout in the same
format, without a LogRecord: the logging machinery cost more than the rest of the request
observer together. Its lines are flushed once per event-loop iteration, not once per line.
It obeys the level of the `alpine_api.access` logger (set it to WARNING to silence it).

Nothing here logs request headers or bodies: secrets (passwords, tokens, Authorization
headers) have no path into the log.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, Literal, NamedTuple

import msgspec

LogFormat = Literal["json", "text"]


class Entry(NamedTuple):
    """What one line says, whichever the format."""

    created: float  # epoch seconds
    level: str
    logger: str
    msg: str
    request_id: str | None
    fields: Mapping[str, Any]  # from `extra=`, or the access line's


Line = Callable[[Entry], str]

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
ACCESS_LOGGER = "alpine_api.access"

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}
# Already in the access line's message ("GET /api/x 200"): not repeated as key=value.
_TEXT_HIDDEN = frozenset({"method", "path", "status"})
_json = msgspec.json.Encoder()
# Text lines show control characters (C0, DEL, C1, the Unicode line separators) and the
# backslash as escapes, so no value (a request path with %0a or %00) can end a line,
# start a forged one or put a NUL in the file. JSON escapes them by itself.
_TEXT_ESCAPES: dict[int, str] = {
    **{c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))},
    **{ord(c): f"\\u{ord(c):04x}" for c in "\u2028\u2029"},
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    ord("\\"): "\\\\",
}
_last_second: list[Any] = [None, ""]  # [epoch second, its ISO text]: formatted once a second


def _utc(created: float) -> str:
    second = int(created)
    if _last_second[0] != second:
        _last_second[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))]
    return f"{_last_second[1]}.{int(created % 1 * 1000):03d}Z"


def json_line(entry: Entry) -> str:
    line: dict[str, Any] = {
        "ts": _utc(entry.created),
        "level": entry.level.lower(),
        "logger": entry.logger,
        "msg": entry.msg,
        "pid": os.getpid(),  # which worker
    }
    if entry.request_id is not None:
        line["request_id"] = entry.request_id
    line.update(entry.fields)
    return _json.encode(line).decode()


def text_line(entry: Entry) -> str:
    pairs = "".join(
        f" {k}={v}" for k, v in entry.fields.items() if v is not None and k not in _TEXT_HIDDEN
    )
    text = f"{entry.logger}: {entry.msg}{pairs}".translate(_TEXT_ESCAPES)
    return (
        f"{time.strftime('%H:%M:%S', time.localtime(entry.created))} {entry.level:<7} {text}"
        f"{f' [{entry.request_id}]' if entry.request_id else ''}"
    )


_base_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Stamps the current request id on each record (None outside a request)."""
    record = _base_factory(*args, **kwargs)
    record.request_id = REQUEST_ID.get()
    return record


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    fields = record.__dict__
    return {k: fields[k] for k in fields.keys() - _RECORD_FIELDS}


class _LineFormatter(logging.Formatter):
    """Formats records with a line function; a traceback goes under `exc` / below."""

    def __init__(self, line: Line) -> None:
        super().__init__()
        self.line = line

    def format(self, record: logging.LogRecord) -> str:
        fields = _extra(record)
        exc = self.formatException(record.exc_info) if record.exc_info else None
        if exc and self.line is json_line:
            fields["exc"] = exc
        request_id = getattr(record, "request_id", None)
        entry = Entry(
            record.created, record.levelname, record.name, record.getMessage(), request_id, fields
        )
        text = self.line(entry)
        return f"{text}\n{exc}" if exc and self.line is not json_line else text


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


_installed: logging.Handler | None = None
_access_line: Line = json_line
_access_logger = logging.getLogger(ACCESS_LOGGER)
_flush_pending_on: asyncio.AbstractEventLoop | None = None


def configure_logging(log_format: LogFormat, level: int = logging.INFO) -> None:
    """Send the root logger's records to stdout in `log_format` (idempotent)."""
    global _installed, _access_line
    logging.setLogRecordFactory(_record_with_request_id)
    # What no line prints, not worked out for every record: thread and process names.
    # (The caller's file and line are still looked up, a short stack walk: the access
    # line, the one per request, is written without a record.)
    logging.logThreads = False
    logging.logMultiprocessing = False
    _access_line = json_line if log_format == "json" else text_line
    root = logging.getLogger()
    if _installed is not None:
        root.removeHandler(_installed)
    handler = _StdoutHandler()
    handler.setFormatter(line_formatter(log_format))
    root.addHandler(handler)
    root.setLevel(level)
    _installed = handler


def line_formatter(log_format: LogFormat) -> logging.Formatter:
    return _LineFormatter(json_line if log_format == "json" else text_line)


def granian_log_config(log_format: LogFormat) -> dict[str, Any]:
    """A dictConfig for Granian's own loggers (server and worker lifecycle): same format."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "alpine": {"()": "alpine_api.logging.line_formatter", "log_format": log_format}
        },
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "alpine",
                "stream": "ext://sys.stdout",
            }
        },
        "loggers": {
            name: {"handlers": ["stdout"], "level": "INFO", "propagate": False}
            for name in ("_granian", "granian.access")
        },
    }


def access(msg: str, fields: Mapping[str, Any]) -> None:
    """Write one access line (the request id comes from the context)."""
    if not _access_logger.isEnabledFor(logging.INFO):
        return
    line = _access_line(Entry(time.time(), "INFO", ACCESS_LOGGER, msg, REQUEST_ID.get(), fields))
    sys.stdout.write(line + "\n")
    _flush_soon()


def _flush_soon() -> None:
    global _flush_pending_on
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        sys.stdout.flush()
        return
    if _flush_pending_on is not loop:
        _flush_pending_on = loop
        loop.call_soon(_flush)


def _flush() -> None:
    global _flush_pending_on
    _flush_pending_on = None
    sys.stdout.flush()
