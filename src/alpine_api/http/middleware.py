"""The one ASGI middleware every HTTP request passes: request id, metrics, access log.

It wraps Litestar's whole handler (outside routing, CORS and exception handling), so it
also sees 404s, 405s, CORS preflights and anything that escapes the framework. Per request
it:
- takes `X-Request-ID` from the request when it is 1..128 visible ASCII characters, else
  makes one, puts it on the response and in a context variable every log line reads;
- observes `api_request_duration_seconds{method, route, status}` (in batches, see
  `metrics.BatchedHistogram`), where `route` is the route template Litestar matched
  (`/api/signals/{signal_id}`), never the raw path, and `unmatched` when nothing
  matched, so ids cannot multiply the series (`preflight` for CORS preflights, which
  are answered before routing); methods outside the usual seven count as `OTHER`;
- writes one access-log line: method, route, path, status, duration_ms, request_id and
  the id of the request's user (the connection's `user`, see auth.current), if any;
- notes in the scope state when the client disconnects, so that a body cut short is
  answered 499 (client closed request; see http.errors), never logged as a server error.
"""

from __future__ import annotations

import logging
import random
import re
import time
from typing import Any

from litestar import Litestar, Response
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.middleware._internal.cors import CORSMiddleware
from litestar.types import ASGIApp, HTTPScope, Message, Receive, ReceiveMessage, Scope, Send

from alpine_api.http.errors import CLIENT_GONE, INTERNAL_ERROR_DETAIL, error_response
from alpine_api.http.raw import send_error
from alpine_api.logging import REQUEST_ID, access
from alpine_api.metrics import REQUEST_DURATIONS

REQUEST_ID_HEADER = b"x-request-id"
UNMATCHED_ROUTE = "unmatched"
PREFLIGHT_ROUTE = "preflight"  # CORS preflights are answered before routing
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_VALID_REQUEST_ID = re.compile(rb"[\x21-\x7e]{1,128}")

error_log = logging.getLogger("alpine_api.errors")


def _request_id(headers: Any) -> str:
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            if _VALID_REQUEST_ID.fullmatch(value):
                return str(value.decode("ascii"))
            break
    # A correlation id, not a secret: the fast PRNG is enough (and skips a syscall).
    return f"{random.getrandbits(128):032x}"


class RequestObserver:
    """Pure ASGI wrapper; one instance per app (see `observe_requests`)."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope["headers"])
        id_header = (REQUEST_ID_HEADER, request_id.encode("ascii"))
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        async def receive_watching() -> ReceiveMessage:
            message = await receive()
            if message["type"] == "http.disconnect":
                scope["state"][CLIENT_GONE] = True
            return message

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive_watching, send_with_id)
        except Exception:
            error_log.exception("unhandled error")
            if status:  # the response has begun: let the server abort the connection
                status = 500
                raise
            status = 500
            await send_error(send, 500, INTERNAL_ERROR_DETAIL, [id_header])
        finally:
            seconds = time.perf_counter() - started
            self._finish(scope, status, seconds)
            REQUEST_ID.reset(token)

    def _finish(self, scope: HTTPScope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        route = scope.get("path_template") or (
            PREFLIGHT_ROUTE if method == "OPTIONS" else UNMATCHED_ROUTE
        )
        REQUEST_DURATIONS.observe((method, route, str(status)), seconds)
        access(
            f"{method} {scope['path']} {status}",
            {
                "method": method,
                "route": route,
                "path": scope["path"],
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "user_id": getattr(scope.get("user"), "id", None),
            },
        )


class _JsonErrorCORS(CORSMiddleware):
    """Litestar's CORS, but a refused preflight answers the JSON error shape, not text."""

    def _create_preflight_response(self, origin: str, request_headers: Headers) -> Response[Any]:
        response = super()._create_preflight_response(origin, request_headers)
        if response.status_code and response.status_code >= 400:
            return error_response(response.status_code, str(response.content))
        return response


def observe_requests(app: Litestar) -> None:
    """Put the RequestObserver around everything the app does for a request."""
    handler = app.asgi_handler
    if isinstance(handler, CORSMiddleware) and app.cors_config is not None:
        handler = _JsonErrorCORS(handler.app, app.cors_config)
    app.asgi_handler = RequestObserver(handler)
