"""Who may call what: every API route is public by declaration (`opt={PUBLIC: True}`) or
refuses a request without a token; a public route identifies nobody; a user Redis cannot
vouch for is looked up in PostgreSQL, and while that is down the answer is 503, not 401.

`open_operations` walks the app's routes, not the OpenAPI document, so a route hidden from
the document is checked too; a route added outside `app.api_router`, whose guard would
then be missing, is what it finds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import asyncpg
from litestar import Litestar, get
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from alpine_api.app import create_app
from alpine_api.config import load_settings
from alpine_api.embedded import EmbeddedPostgres
from alpine_api.http.openapi import PUBLIC, is_public
from tests.conftest import settings_env
from tests.support import NO_LIMITS, bearer, insert_user

Client = AsyncTestClient[Litestar]


def _api_operations(app: Litestar) -> Iterator[tuple[str, str, HTTPRouteHandler]]:
    """(method, path with ids filled in, handler) of every /api operation but OPTIONS
    (CORS preflights and `Allow` answers, open by design)."""
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path.startswith("/api/"):
            for handler in route.route_handlers:
                for method in sorted(handler.http_methods - {"OPTIONS"}):
                    yield method, re.sub(r"\{[^}]+\}", "1", route.path), handler


async def open_operations(client: Client) -> list[tuple[str, str]]:
    """The /api operations that neither declare themselves public nor answer a request
    without a token 401 with `WWW-Authenticate: Bearer`."""
    found = []
    for method, path, handler in _api_operations(client.app):
        if is_public(handler):
            continue
        response = await client.request(method, path)
        if (response.status_code, response.headers.get("www-authenticate")) != (401, "Bearer"):
            found.append((method, path))
    return found


def _client(database_url: str, redis_url: str, **env: str) -> Client:
    settings = load_settings(settings_env(database_url, redis_url, **env))
    return AsyncTestClient(app=create_app(settings))


async def test_every_api_route_is_public_or_needs_a_token(
    database_url: str, redis_url: str
) -> None:
    async with _client(database_url, redis_url, **NO_LIMITS) as client:
        operations = list(_api_operations(client.app))
        assert len(operations) >= 23  # the contract's /api operations and the stream
        public = sorted((m, p) for m, p, handler in operations if is_public(handler))
        assert public == [
            ("GET", "/api/subscriptions/plans"),
            ("POST", "/api/auth/login"),
            ("POST", "/api/auth/register"),
        ]
        assert await open_operations(client) == []


@get("/api/forgotten", sync_to_thread=False)
def forgotten() -> dict[str, bool]:
    return {"open": True}


@get("/api/declared-open", opt={PUBLIC: True}, sync_to_thread=False)
def declared_open() -> dict[str, bool]:
    return {"open": True}


async def test_a_route_neither_public_nor_guarded_is_found(
    database_url: str, redis_url: str
) -> None:
    """Registered on the app itself, beside the API router: no guard stands before it."""
    app = create_app(load_settings(settings_env(database_url, redis_url, **NO_LIMITS)))
    app.register(forgotten)
    app.register(declared_open)
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/api/forgotten")).json() == {"open": True}
        assert await open_operations(client) == [("GET", "/api/forgotten")]


async def test_a_token_on_a_public_route_counts_against_its_user(
    database_url: str, redis_url: str, db: asyncpg.Connection
) -> None:
    """Plans needs no token, but a request that brings a valid one is an authenticated
    request: counted against the user under their tier, not against the shared client IP.
    Login and register keep their own per-IP policy whatever the request carries."""
    user_id = await insert_user(db, "plans@example.com")
    async with _client(database_url, redis_url, ALPINE_RATE_LIMIT="3/60") as client:
        with_token = [
            await client.get("/api/subscriptions/plans", headers=bearer(user_id)) for _ in range(3)
        ]
        anonymous = await client.get("/api/subscriptions/plans")
        own = await client.get("/api/auth/me", headers=bearer(user_id))
        login = await client.post(
            "/api/auth/login",
            json={"email": "plans@example.com", "password": "wrong password"},
            headers=bearer(user_id),
        )
    assert [r.headers["x-ratelimit-remaining"] for r in with_token] == ["2", "1", "0"]
    assert (anonymous.status_code, anonymous.headers["x-ratelimit-remaining"]) == (200, "2")
    assert own.status_code == 429  # the user's 3 went on plans
    assert login.headers["ratelimit-policy"].startswith('"auth"')


async def test_a_user_redis_cannot_vouch_for_is_503_while_postgresql_is_down(
    private_postgres: tuple[EmbeddedPostgres, str], redis_url: str
) -> None:
    postgres, url = private_postgres
    db = await asyncpg.connect(url)
    user_id = await insert_user(db, "unvouched@example.com")
    await db.close()
    async with _client(url, redis_url, **NO_LIMITS) as client:
        postgres.stop()  # and Redis has never seen this user: only PostgreSQL could say
        response = await client.get("/api/notifications/unread-count", headers=bearer(user_id))
    assert (response.status_code, response.headers["retry-after"]) == (503, "1")
    assert response.json()["detail"] == "Service temporarily unavailable"
