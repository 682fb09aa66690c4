"""Sliding-window rate limiting in Redis Lua: headers, 429s, sliding, policies, faults."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from litestar.testing import AsyncTestClient

from alpine_api.app import create_app
from alpine_api.config import load_settings
from alpine_api.embedded import EmbeddedValkey
from alpine_api.rate_limits import ClientAddress
from tests.conftest import settings_env
from tests.support import EXACT_LIMITER, bearer, insert_user

Client = AsyncTestClient  # type: ignore[type-arg]


def _client(database_url: str, redis_url: str, **env: str) -> Client:
    return AsyncTestClient(
        app=create_app(load_settings(settings_env(database_url, redis_url, **env)))
    )


async def test_headers_count_down_then_429_with_retry_after(
    database_url: str, redis_url: str, db: asyncpg.Connection
) -> None:
    headers = bearer(await insert_user(db, "rl@example.com"))
    async with _client(database_url, redis_url, ALPINE_RATE_LIMIT="5/60") as client:
        answers = [await client.get("/api/auth/me", headers=headers) for _ in range(7)]
    assert [a.status_code for a in answers] == [200] * 5 + [429, 429]
    assert [int(a.headers["x-ratelimit-remaining"]) for a in answers] == [4, 3, 2, 1, 0, 0, 0]
    for answer in answers:
        assert answer.headers["x-ratelimit-limit"] == "5"
        assert 1 <= int(answer.headers["x-ratelimit-reset"]) <= 60
        assert answer.headers["ratelimit-policy"] == '"default";q=5;w=60'
        remaining = answer.headers["x-ratelimit-remaining"]
        assert answer.headers["ratelimit"].startswith(f'"default";r={remaining};t=')
    rejected = answers[-1]
    assert 1 <= int(rejected.headers["retry-after"]) <= 60
    assert rejected.json() == {
        "status_code": 429,
        "detail": "Rate limit exceeded: 5 requests per 60 s",
    }


async def test_window_slides_and_rejected_requests_use_no_quota(
    database_url: str, redis_url: str, db: asyncpg.Connection
) -> None:
    headers = bearer(await insert_user(db, "slide@example.com"))
    async with _client(database_url, redis_url, ALPINE_RATE_LIMIT="3/2") as client:
        started = time.monotonic()
        assert [
            (await client.get("/api/auth/me", headers=headers)).status_code for _ in range(3)
        ] == [200] * 3
        for _ in range(5):  # hammering while limited must not push the reset further away
            assert (await client.get("/api/auth/me", headers=headers)).status_code == 429
        await asyncio.sleep(max(0.0, 2.1 - (time.monotonic() - started)))
        again = [(await client.get("/api/auth/me", headers=headers)).status_code for _ in range(4)]
    assert again == [200, 200, 200, 429]


async def test_login_and_register_share_a_per_ip_bucket(
    database_url: str, redis_url: str, db: asyncpg.Connection
) -> None:
    await insert_user(db, "brute@example.com")
    async with _client(database_url, redis_url, ALPINE_AUTH_RATE_LIMIT="4/60") as client:
        codes = []
        for i in range(3):
            wrong = {"email": "brute@example.com", "password": f"guess {i}xx"}
            codes.append((await client.post("/api/auth/login", json=wrong)).status_code)
        new = {"email": "new@example.com", "password": "long enough"}
        codes.append((await client.post("/api/auth/register", json=new)).status_code)
        right = {"email": "brute@example.com", "password": "correct horse battery"}
        limited = await client.post("/api/auth/login", json=right)
        other_route = await client.get("/api/auth/me", headers=bearer(1))
    assert codes == [401, 401, 401, 201]
    assert limited.status_code == 429
    assert limited.headers["ratelimit-policy"] == '"auth";q=4;w=60'
    assert other_route.headers["ratelimit-policy"].startswith('"default"')  # its own bucket


async def test_script_flush_is_recovered_from(
    database_url: str, redis_url: str, db: asyncpg.Connection, redis: aioredis.Redis
) -> None:
    headers = bearer(await insert_user(db, "noscript@example.com"))
    async with _client(database_url, redis_url, ALPINE_RATE_LIMIT="10/60") as client:
        assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
        await redis.script_flush()  # what a restart or failover does to loaded scripts
        response = await client.get("/api/auth/me", headers=headers)
    assert response.status_code == 200
    assert response.headers["x-ratelimit-remaining"] == "8"


@pytest.mark.parametrize(("fail_open", "status"), [("true", 200), ("false", 503)])
async def test_redis_down_fails_open_or_closed_as_configured(
    database_url: str, db: asyncpg.Connection, tmp_path: Path, fail_open: str, status: int
) -> None:
    headers = bearer(await insert_user(db, "down@example.com"))
    valkey = EmbeddedValkey(tmp_path / "valkey")
    valkey.start()
    try:
        async with _client(
            database_url, valkey.url, ALPINE_RATE_LIMIT_FAIL_OPEN=fail_open
        ) as client:
            assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
            valkey.stop()
            started = time.monotonic()
            response = await client.get("/api/auth/me", headers=headers)
            elapsed = time.monotonic() - started
    finally:
        valkey.stop()
    assert response.status_code == status
    assert "x-ratelimit-limit" not in response.headers
    assert elapsed < 1.0
    if status == 503:
        assert response.json()["status_code"] == 503
        assert response.headers["retry-after"] == "1"


async def test_switched_off_sends_no_headers(
    database_url: str, redis_url: str, db: asyncpg.Connection
) -> None:
    headers = bearer(await insert_user(db, "off@example.com"))
    async with _client(
        database_url, redis_url, ALPINE_RATE_LIMIT="1/60", ALPINE_RATE_LIMIT_ENABLED="false"
    ) as client:
        answers = [await client.get("/api/auth/me", headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200] * 3
    assert all("x-ratelimit-limit" not in a.headers for a in answers)


async def test_operator_endpoints_are_not_limited(database_url: str, redis_url: str) -> None:
    async with _client(database_url, redis_url, ALPINE_RATE_LIMIT="1/60") as client:
        answers = [await client.get("/health/live") for _ in range(3)]
    assert [a.status_code for a in answers] == [200] * 3
    assert "x-ratelimit-limit" not in answers[0].headers


def test_client_address_believes_forwarded_for_only_from_trusted_proxies() -> None:
    resolve = ClientAddress(["10.0.0.0/8", "192.168.1.1"]).of

    def scope(peer: str, forwarded: str | None = None) -> dict[str, object]:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return {"client": (peer, 1234), "headers": headers}

    assert resolve(scope("203.0.113.9", "1.2.3.4")) == "203.0.113.9"  # untrusted peer
    assert resolve(scope("10.1.2.3", "1.2.3.4")) == "1.2.3.4"
    assert resolve(scope("10.1.2.3", "6.6.6.6, 1.2.3.4, 192.168.1.1")) == "1.2.3.4"
    assert resolve(scope("10.1.2.3")) == "10.1.2.3"
    assert ClientAddress([]).of(scope("10.1.2.3", "1.2.3.4")) == "10.1.2.3"


async def test_exactly_the_limit_passes_across_two_workers(serve, db: asyncpg.Connection) -> None:  # type: ignore[no-untyped-def]
    user_id = await insert_user(db, "burst@example.com")
    server = serve(workers=2, ALPINE_RATE_LIMIT="100/60", **EXACT_LIMITER)
    headers = bearer(user_id)
    limits = httpx.Limits(max_connections=130)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as http:
        answers = await asyncio.gather(
            *(http.get("/api/auth/me", headers=headers) for _ in range(130))
        )
        metrics = (await http.get("/metrics")).text
    codes = [a.status_code for a in answers]
    assert codes.count(200) == 100
    assert codes.count(429) == 30
    assert 'rate_limit_exceeded_total{policy="default"} 30.0' in metrics
    assert 'rate_limit_requests_total{policy="default"} 130.0' in metrics
