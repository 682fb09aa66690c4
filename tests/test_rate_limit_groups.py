"""Grouped decisions for per-IP clients (redis/gate.py Gate.admit): concurrent requests
for one limiter key share a gate call, and Redis still decides every admission exactly.
Against real Valkey, and a real two-worker server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import redis.asyncio as aioredis

from alpine_api.redis import keys
from alpine_api.redis.client import RedisServer
from alpine_api.redis.gate import Gate
from tests.support import EXACT_LIMITER, ServerProcess

LIMITS = (30, 60_000)


async def _evalsha_calls(redis: aioredis.Redis) -> int:
    stats = await redis.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


async def test_concurrent_requests_share_calls_and_the_room_left_is_split_in_arrival_order(
    redis: aioredis.Redis,
) -> None:
    gate = Gate(RedisServer(redis))
    await gate.take(keys.limiter(keys.ip_tag("warm"), "default"), LIMITS, 1)  # script loaded
    key = keys.limiter(keys.ip_tag("203.0.113.9"), "default")
    await redis.config_resetstat()
    # 50 requests in one loop iteration: the first is decided alone, at once; the 49
    # that arrive while its call is in flight are decided together by the next call.
    decisions = await asyncio.gather(*(gate.admit(key, LIMITS) for _ in range(50)))
    assert await _evalsha_calls(redis) == 2
    assert [d.allowed for d in decisions] == [True] * 30 + [False] * 20
    # Each admitted request sees the room left after it, as if decided one by one.
    assert [d.remaining for d in decisions] == [*range(29, -1, -1), *[0] * 20]
    assert all(0 < d.reset_ms <= 60_000 for d in decisions)
    assert await redis.hget(key, "n") == b"30"  # rejected requests used no quota
    # A request alone is decided by a call of its own, at once.
    assert not (await gate.admit(key, LIMITS)).allowed
    assert await _evalsha_calls(redis) == 3


async def test_a_retried_group_call_is_answered_as_before_and_not_counted_twice(
    redis: aioredis.Redis,
) -> None:
    gate = Gate(RedisServer(redis))
    key = keys.limiter(keys.ip_tag("198.51.100.7"), "default")
    limits = (10, 60_000)
    first = await gate.take(key, limits, 4, nonce="group-call-0001")
    assert (first.admitted, first.remaining) == (4, 6)
    # The reply was lost and the client sent the call again: same answer, no new count.
    again = await gate.take(key, limits, 4, nonce="group-call-0001")
    assert (again.admitted, again.remaining) == (4, 6)
    assert await redis.hget(key, "n") == b"4"
    # A group larger than the room left is split: 6 of 9 let in, the limit reached.
    split = await gate.take(key, limits, 9, nonce="group-call-0002")
    assert (split.admitted, split.remaining) == (6, 0)
    retried = await gate.take(key, limits, 9, nonce="group-call-0002")
    assert (retried.admitted, retried.remaining) == (6, 0)
    assert await redis.hget(key, "n") == b"10"
    full = await gate.take(key, limits, 3, nonce="group-call-0003")
    assert (full.admitted, full.remaining) == (0, 0)


async def test_an_ip_burst_across_two_workers_lets_exactly_the_limit_through(
    serve: Callable[..., ServerProcess], redis: aioredis.Redis
) -> None:
    server = serve(workers=2, ALPINE_RATE_LIMIT="100/60", **EXACT_LIMITER)
    limits = httpx.Limits(max_connections=160)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as http:
        answers = await asyncio.gather(*(http.get("/api/subscriptions/plans") for _ in range(160)))
        metrics = (await http.get("/metrics")).text
    codes = [a.status_code for a in answers]
    assert codes.count(200) == 100
    assert codes.count(429) == 60
    remaining = sorted(int(a.headers["x-ratelimit-remaining"]) for a in answers if a.is_success)
    assert remaining == list(range(100))  # each admission seen once, none twice
    assert 'rate_limit_exceeded_total{policy="default"} 60.0' in metrics
    key = keys.limiter(keys.ip_tag("127.0.0.1"), "default")
    assert await redis.hget(key, "n") == b"100"
