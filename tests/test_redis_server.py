"""RedisServer, the one way to Redis: its readiness probe covers the connection the
per-request scripts use, not only redis-py's, and /health reports what it finds."""

from __future__ import annotations

import time

import pytest
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from alpine_api.embedded import EmbeddedValkey
from alpine_api.redis import keys
from alpine_api.redis.client import RedisServer
from alpine_api.redis.gate import Gate
from alpine_api.redis.lean import LeanClient
from alpine_api.redis.user_state import UserState
from alpine_api.services import services_of


async def test_not_ready_when_the_scripts_server_is_gone(
    redis_url: str, private_valkey: EmbeddedValkey
) -> None:
    """redis-py answers, the lean connection's server does not: not ready."""
    server = RedisServer(
        aioredis.Redis.from_url(redis_url), LeanClient(private_valkey.url, timeout=0.5)
    )
    try:
        await server.check_ready()
        gate = Gate(server)
        assert (await gate.check(keys.limiter(keys.ip_tag("probe"), "t"), (5, 60_000))).allowed
        private_valkey.stop()
        started = time.monotonic()
        with pytest.raises(OSError):
            await server.check_ready()
        assert time.monotonic() - started < 1.0
        assert await server.commands.ping()  # the other connection is fine
    finally:
        await server.aclose()


async def test_health_is_degraded_when_the_scripts_connection_fails(
    client: AsyncTestClient[Litestar], app: Litestar, private_valkey: EmbeddedValkey
) -> None:
    svc = services_of(app.state)
    # The worker's redis-py client stays; its scripts' connection points at a server
    # that stops: what /health says must follow the connection that serves requests.
    svc.redis = RedisServer(svc.redis.commands, LeanClient(private_valkey.url, timeout=0.5))
    private_valkey.stop()
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "healthy", "redis": "unhealthy"},
    }


async def test_invalidations_and_revocations_go_through_user_state(
    redis: aioredis.Redis,
) -> None:
    state = UserState(RedisServer(redis))
    await redis.set(keys.user_record(31), b"{}")
    await redis.hset(keys.revoked(31), "_synced", 1)
    await state.forget(31)
    await state.forget_revocations(31)
    assert await redis.get(keys.user_record(31)) is None
    assert await redis.get(keys.generation(keys.user_tag(31))) == b"1"
    assert await redis.exists(keys.revoked(31)) == 0
