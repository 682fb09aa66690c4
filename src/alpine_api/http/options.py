"""A plain OPTIONS request answers `Allow` with every method of the path.

Litestar 2.25 makes the OPTIONS handler of a path when the path's first handler is
registered, and that handler keeps answering the methods known then: on a path whose
handlers are registered one by one (GET and POST /api/signals) `Allow` misses the later
ones. This wrapper rewrites `Allow` on OPTIONS answers from the finished routing table.
(CORS preflights are answered earlier, from the CORS configuration.)
"""

from __future__ import annotations

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send

_ALLOW = b"allow"


class FullAllow:
    __slots__ = ("allow", "app")

    def __init__(self, app: ASGIApp, allow: dict[str, bytes]) -> None:
        self.app = app
        self.allow = allow  # route template -> the Allow value of that path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "OPTIONS":
            await self.app(scope, receive, send)
            return

        async def send_full_allow(message: Message) -> None:
            allow = self.allow.get(scope.get("path_template", ""))
            if message["type"] == "http.response.start" and allow is not None:
                message["headers"] = [
                    (name, allow if name.lower() == _ALLOW else value)
                    for name, value in message.get("headers", ())
                ]
            await send(message)

        await self.app(scope, receive, send_full_allow)


def answer_full_allow(app: Litestar) -> None:
    allow = {
        route.path_format: ", ".join(sorted(route.methods)).encode()
        for route in app.routes
        if isinstance(route, HTTPRoute)
    }
    app.asgi_handler = FullAllow(app.asgi_handler, allow)
