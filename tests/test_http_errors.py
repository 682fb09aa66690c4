"""One JSON error shape for every 4xx/5xx, from real routes and real failures."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar, Request, get
from litestar.testing import AsyncTestClient

from alpine_api.app import create_app
from alpine_api.config import load_settings
from alpine_api.embedded import EmbeddedPostgres, free_port
from alpine_api.services import services
from tests.conftest import settings_env
from tests.support import DEFAULT_PASSWORD, bearer, insert_user

Client = AsyncTestClient[Litestar]


def assert_error(response, status: int) -> dict:  # type: ignore[no-untyped-def, type-arg]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status_code"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    assert set(body) <= {"status_code", "detail", "extra"}
    assert "Traceback" not in response.text and ".py" not in response.text
    assert response.headers["x-request-id"]
    return body  # type: ignore[no-any-return]


async def test_unknown_route_is_404(client: Client) -> None:
    body = assert_error(await client.get("/api/no-such-thing/42"), 404)
    assert body["detail"] == "Not Found"


async def test_wrong_method_is_405_with_allow(client: Client) -> None:
    response = await client.delete("/health")
    assert_error(response, 405)
    assert "GET" in response.headers["allow"]


async def test_validation_error_names_the_field(client: Client) -> None:
    response = await client.post(
        "/api/auth/register", json={"email": "a@example.com", "password": 12345678}
    )
    body = assert_error(response, 400)
    assert "password" in str(body.get("extra")) + body["detail"]


async def test_unknown_json_field_is_400(client: Client) -> None:
    response = await client.post(
        "/api/auth/register",
        json={"email": "a@example.com", "password": DEFAULT_PASSWORD, "is_admin": True},
    )
    body = assert_error(response, 400)
    assert "is_admin" in str(body.get("extra")) + body["detail"]


async def test_malformed_json_is_400(client: Client) -> None:
    response = await client.post(
        "/api/auth/register",
        content=b'{"email": ',
        headers={"content-type": "application/json"},
    )
    assert_error(response, 400)


async def test_body_over_one_mib_is_413_and_creates_nothing(
    client: Client, db: asyncpg.Connection
) -> None:
    padding = "x" * (1024 * 1024)
    response = await client.post(
        "/api/auth/register",
        json={"email": "big@example.com", "password": DEFAULT_PASSWORD, "full_name": padding},
    )
    assert_error(response, 413)
    assert await db.fetchval("SELECT count(*) FROM users") == 0


def test_streamed_body_over_one_mib_is_413(serve: Any) -> None:
    """Chunked, no Content-Length: counted as it arrives and refused past 1 MiB."""
    server = serve(workers=1)

    def chunks() -> Iterator[bytes]:
        yield b'{"email": "stream@example.com", "password": "'
        for _ in range(32):
            yield b"p" * 65536

    response = httpx.post(
        f"{server.url}/api/auth/register",
        content=chunks(),
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_error(response, 413)


async def test_missing_token_is_401_with_www_authenticate(client: Client) -> None:
    response = await client.get("/api/auth/me")
    assert_error(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_non_admin_is_403(client: Client, db: asyncpg.Connection) -> None:
    user_id = await insert_user(db, "plain@example.com")
    response = await client.patch(
        f"/api/admin/users/{user_id}", json={"is_active": False}, headers=bearer(user_id)
    )
    assert_error(response, 403)
    assert await db.fetchval("SELECT is_active FROM users WHERE id = $1", user_id) is True


async def test_taken_email_is_409(client: Client, db: asyncpg.Connection) -> None:
    await insert_user(db, "taken@example.com")
    response = await client.post(
        "/api/auth/register", json={"email": "Taken@example.com", "password": DEFAULT_PASSWORD}
    )
    assert_error(response, 409)


async def test_rate_limited_is_429_with_retry_after(database_url: str, redis_url: str) -> None:
    app = create_app(
        load_settings(settings_env(database_url, redis_url, ALPINE_AUTH_RATE_LIMIT="2/60"))
    )
    login = {"email": "nobody@example.com", "password": DEFAULT_PASSWORD}
    async with AsyncTestClient(app=app) as client:
        statuses = [(await client.post("/api/auth/login", json=login)).status_code for _ in "ab"]
        response = await client.post("/api/auth/login", json=login)
    assert statuses == [401, 401]
    assert_error(response, 429)
    assert int(response.headers["retry-after"]) >= 1


@get("/test/boom", include_in_schema=False)
async def boom() -> None:
    raise RuntimeError("SELECT password_hash FROM users -- /srv/alpine/secret.py")


@get("/test/database", include_in_schema=False)
async def ping_database(request: Request) -> int:  # type: ignore[type-arg]
    return int(await services(request).db.fetchval("health.ping"))


@get("/test/redis", include_in_schema=False)
async def read_redis(request: Request) -> str:  # type: ignore[type-arg]
    return str(await services(request).redis.commands.get("anything"))


def _with_probes(app: Litestar) -> Litestar:
    """The real app, plus routes that fail the ways a route can fail."""
    app.register(boom)
    app.register(ping_database)
    app.register(read_redis)
    return app


@pytest.fixture
async def probe_client(app: Litestar) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=_with_probes(app)) as client:
        yield client


async def test_unexpected_error_is_generic_500_logged_with_request_id(
    probe_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="alpine_api.errors"):
        response = await probe_client.get("/test/boom", headers={"X-Request-ID": "boom-1"})
    body = assert_error(response, 500)
    assert body == {"status_code": 500, "detail": "Internal Server Error"}
    assert "SELECT" not in response.text and "secret" not in response.text
    (record,) = [r for r in caplog.records if r.name == "alpine_api.errors"]
    assert record.request_id == "boom-1"  # type: ignore[attr-defined]
    assert record.exc_info is not None and "SELECT password_hash" in str(record.exc_info[1])


async def test_stopped_database_is_503(
    private_postgres: tuple[EmbeddedPostgres, str],
    redis_url: str,
) -> None:
    postgres, url = private_postgres
    app = _with_probes(create_app(load_settings(settings_env(url, redis_url))))
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/test/database")).status_code == 200
        postgres.stop()
        response = await client.get("/test/database")
    body = assert_error(response, 503)
    assert body["detail"] == "Service temporarily unavailable"
    assert response.headers["retry-after"] == "1"


async def test_unreachable_redis_is_503(database_url: str) -> None:
    dead_redis = f"redis://127.0.0.1:{free_port()}"
    app = _with_probes(create_app(load_settings(settings_env(database_url, dead_redis))))
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/test/redis")
    body = assert_error(response, 503)
    assert body["detail"] == "Service temporarily unavailable"
    assert "127.0.0.1" not in response.text
