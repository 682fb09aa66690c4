"""One JSON error shape for every 4xx/5xx: `{"status_code", "detail", "extra"?}`.

Framework errors (404 unknown route, 405, 400 validation naming the field in `extra`,
413 body too large, 401/403/409/429 raised by handlers) keep their status, detail and
headers but always answer JSON. A lost PostgreSQL or Redis answers 503 with
`Retry-After`. Anything else is logged with its traceback (and the request id, through
the log record) and answered with a generic 500: no stack trace, SQL or path in a body.
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import Any

import asyncpg
import redis.exceptions
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.types import ExceptionHandlersMap

from alpine_api.db import DatabaseUnavailable

log = logging.getLogger("alpine_api.errors")

INTERNAL_ERROR_DETAIL = "Internal Server Error"
# Set in the scope state by the request observer when the client disconnected.
CLIENT_GONE = "http.client_gone"
# The status recorded for a request whose client left before the answer (nginx's
# convention): no one receives it, and it is not a server error.
CLIENT_CLOSED_REQUEST = 499
UNAVAILABLE_DETAIL = "Service temporarily unavailable"


def error_response(
    status_code: int,
    detail: str,
    *,
    extra: Any = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"status_code": status_code, "detail": detail}
    if extra:
        body["extra"] = error_details(extra)
    return Response(body, status_code=status_code, media_type=MediaType.JSON, headers=headers)


_DETAIL_FIELDS = ("message", "key", "source")


def _text(value: Any) -> str:
    return str(value.value if isinstance(value, Enum) else value)  # ParamType.QUERY: "query"


def error_details(extra: Any) -> list[dict[str, str]]:
    """`extra` in the documented shape (`ErrorDetail` items: message, key?, source?).
    Litestar's validation errors already are such items; any other shape an exception may
    carry (a mapping, a string) is turned into them, so clients decode one type."""
    if isinstance(extra, dict):
        return [{"key": str(key), "message": str(value)} for key, value in extra.items()]
    items = extra if isinstance(extra, list) else [extra]
    details = []
    for item in items:
        if isinstance(item, dict) and "message" in item:
            details.append({f: _text(item[f]) for f in _DETAIL_FIELDS if item.get(f) is not None})
        else:
            details.append({"message": str(item)})
    return details


def _route(request: Request[Any, Any, Any]) -> str:
    return str(request.scope.get("path_template") or request.scope["path"])


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 500 and request.scope["state"].get(CLIENT_GONE):
        # Litestar's answer to a body cut short: the access line (499) is all the log needs.
        return error_response(CLIENT_CLOSED_REQUEST, "Client closed the request")
    if exc.status_code == 500:  # its detail was written for the log, not the client
        return _internal_error(request, exc)
    return error_response(exc.status_code, exc.detail, extra=exc.extra, headers=exc.headers)


def _internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error(
        "unhandled %s on %s %s",
        type(exc).__name__,
        request.method,
        _route(request),
        exc_info=exc,
    )
    return error_response(500, INTERNAL_ERROR_DETAIL)


def _unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning(
        "%s on %s %s: %s", type(exc).__name__, request.method, _route(request), exc, exc_info=False
    )
    return error_response(503, UNAVAILABLE_DETAIL, headers={"Retry-After": "1"})


# Errors msgspec raises while decoding a request body that Litestar does not turn into a
# 400 itself: JSON nested deeper than the recursion limit, strings that are not UTF-8.
# Nothing else in the service recurses or decodes client bytes as UTF-8.
_UNDECODABLE_BODY = {
    RecursionError: "Invalid JSON body: nested too deeply",
    UnicodeDecodeError: "Invalid JSON body: not UTF-8",
}


def _undecodable_body(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    detail = _UNDECODABLE_BODY[type(exc)]
    log.warning("%s on %s %s", detail, request.method, _route(request))
    return error_response(400, detail)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    HTTPException: _http_error,
    DatabaseUnavailable: _unavailable,
    # PostgreSQL shutting down or restarting under a running statement (class 57).
    asyncpg.exceptions.OperatorInterventionError: _unavailable,
    redis.exceptions.ConnectionError: _unavailable,
    redis.exceptions.TimeoutError: _unavailable,
    RecursionError: _undecodable_body,
    UnicodeDecodeError: _undecodable_body,
    Exception: _internal_error,
}
