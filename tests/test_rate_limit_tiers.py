"""Per-tier limits, the limiter's bounded state and its window edges, and refused tokens
counted against the client IP: against real PostgreSQL and Valkey."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import redis.asyncio as aioredis
from litestar.testing import AsyncTestClient

from alpine_api.app import create_app
from alpine_api.config import load_settings
from alpine_api.redis import keys
from alpine_api.redis.client import RedisServer
from alpine_api.redis.gate import Gate
from tests.conftest import settings_env
from tests.support import EXACT_LIMITER, bearer, insert_user, token_for

Client = AsyncTestClient  # type: ignore[type-arg]
SMALL_TIERS = {
    "ALPINE_RATE_LIMIT": "3/60",
    "ALPINE_RATE_LIMIT_PRO": "6/60",
    "ALPINE_RATE_LIMIT_ELITE": "9/60",
}


def _client(database_url: str, redis_url: str, **env: str) -> Client:
    return AsyncTestClient(
        app=create_app(load_settings(settings_env(database_url, redis_url, **env)))
    )


def _limit(response: httpx.Response) -> tuple[int, str, int]:
    return (
        response.status_code,
        response.headers["ratelimit-policy"],
        int(response.headers["x-ratelimit-remaining"]),
    )


async def test_bursts_let_exactly_each_tiers_limit_through_across_two_workers(
    serve, db: asyncpg.Connection
) -> None:  # type: ignore[no-untyped-def]
    pro = bearer(await insert_user(db, "pro@example.com", tier="pro"))
    elite = bearer(await insert_user(db, "elite@example.com", tier="elite"))
    server = serve(workers=2, **EXACT_LIMITER)  # the default limits: pro 300/60, elite 1000/60
    async with httpx.AsyncClient(
        base_url=server.url, limits=httpx.Limits(max_connections=100), timeout=60
    ) as http:
        for headers, burst, limit, policy in ((pro, 330, 300, "pro"), (elite, 1010, 1000, "elite")):
            answers = await asyncio.gather(
                *(http.get("/api/auth/me", headers=headers) for _ in range(burst))
            )
            codes = [a.status_code for a in answers]
            assert (codes.count(200), codes.count(429)) == (limit, burst - limit), policy
            assert {a.headers["ratelimit-policy"] for a in answers} == {
                f'"{policy}";q={limit};w=60'
            }
            assert {a.headers["x-ratelimit-limit"] for a in answers} == {str(limit)}
            rejected = next(a for a in answers if a.status_code == 429)
            assert rejected.json()["detail"] == f"Rate limit exceeded: {limit} requests per 60 s"


async def test_subscribe_and_cancel_apply_from_the_next_request_on_every_worker(
    serve, db: asyncpg.Connection
) -> None:  # type: ignore[no-untyped-def]
    headers = bearer(await insert_user(db, "upgrade@example.com"))
    server = serve(workers=2, **SMALL_TIERS)
    # A new connection per request, so the requests spread over both workers.
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.url, limits=no_reuse, timeout=30) as http:
        steps = [
            await http.get("/api/auth/me", headers=headers),
            await http.post("/api/subscriptions", headers=headers, json={"tier": "pro"}),
            # The window's requests stay counted under the new limit: 3 of 6 used.
            await http.get("/api/auth/me", headers=headers),
            await http.post("/api/subscriptions", headers=headers, json={"tier": "elite"}),
            await http.get("/api/auth/me", headers=headers),
            await http.delete("/api/subscriptions/me", headers=headers),
            # Back on starter with 7 requests in the window: over its limit of 3.
            await http.get("/api/auth/me", headers=headers),
        ]
    assert [_limit(a) for a in steps] == [
        (200, '"default";q=3;w=60', 2),
        (201, '"default";q=3;w=60', 1),
        (200, '"pro";q=6;w=60', 3),
        (201, '"pro";q=6;w=60', 2),
        (200, '"elite";q=9;w=60', 4),
        (204, '"elite";q=9;w=60', 3),
        (429, '"default";q=3;w=60', 0),
    ]


async def _forget_record(redis_url: str, db: asyncpg.Connection, email: str) -> None:
    """What a write to the user does to Redis: their cached record is gone."""
    user_id = await db.fetchval("SELECT id FROM users WHERE email = $1", email)
    client = aioredis.Redis.from_url(redis_url)
    await client.delete(keys.user_record(user_id))
    await client.aclose()


async def test_a_refused_token_counts_against_the_ip_never_its_owner(
    database_url: str, redis_url: str, db: asyncpg.Connection
) -> None:
    user_id = await insert_user(db, "victim@example.com")
    stolen = {"Authorization": f"Bearer {token_for(user_id)}"}
    own = bearer(user_id)
    redis = aioredis.Redis.from_url(redis_url)
    async with _client(database_url, redis_url, ALPINE_RATE_LIMIT="4/60") as client:
        assert (await client.get("/api/auth/me", headers=stolen)).status_code == 200
        assert (await client.post("/api/auth/logout", headers=stolen)).status_code == 204
        # Revocation known to Redis (a complete hash), then unknown (hash lost): both
        # are refused and counted per IP, the second after PostgreSQL said so.
        known = [await client.get("/api/auth/me", headers=stolen) for _ in range(2)]
        await redis.delete(keys.revoked(user_id))
        unknown = [await client.get("/api/auth/me", headers=stolen) for _ in range(4)]
        mine = await client.get("/api/auth/me", headers=own)
        anonymous = await client.get("/api/subscriptions/plans")
    await redis.aclose()
    assert [a.status_code for a in known + unknown] == [401] * 4 + [429] * 2
    assert [int(a.headers["x-ratelimit-remaining"]) for a in known + unknown] == [3, 2, 1, 0, 0, 0]
    assert (anonymous.status_code, anonymous.headers["x-ratelimit-remaining"]) == (429, "0")
    # The owner's own bucket holds only their own requests: two before, the logout.
    assert _limit(mine) == (200, '"default";q=4;w=60', 1)


async def test_an_inactive_users_token_counts_against_the_ip(
    database_url: str, redis_url: str, db: asyncpg.Connection
) -> None:
    user_id = await insert_user(db, "gone@example.com")
    headers = bearer(user_id)
    async with _client(database_url, redis_url, ALPINE_RATE_LIMIT="2/60") as client:
        assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
        await db.execute("UPDATE users SET is_active = false WHERE id = $1", user_id)
        await _forget_record(redis_url, db, "gone@example.com")
        answers = [await client.get("/api/auth/me", headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 429]
    redis = aioredis.Redis.from_url(redis_url)
    assert await redis.hget(keys.limiter(keys.user_tag(user_id), "default"), "n") == b"1"
    await redis.aclose()


async def _server_ms(redis: aioredis.Redis) -> int:
    seconds, micros = await redis.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def _sleep_until(redis: aioredis.Redis, target_ms: int) -> None:
    """Valkey runs on this machine: its clock and the event loop's advance together."""
    await asyncio.sleep(max(0, target_ms - await _server_ms(redis) + 1) / 1000)


async def test_window_edge_at_most_n_in_any_window_aligned_to_one_second(
    redis: aioredis.Redis,
) -> None:
    """3 per 2 s: requests count until their one-second sub-window leaves the window,
    so the edge is the sub-window boundary (by Redis server time), not the request's
    own timestamp. Timings are checked against server time and the run repeated if the
    machine was too slow to land in the intended second."""
    gate, limits = Gate(RedisServer(redis)), (3, 2000)
    for attempt in range(4):
        key = keys.limiter(keys.ip_tag(f"edge{attempt}"), "default")
        start = (await _server_ms(redis) // 1000 + 1) * 1000
        await _sleep_until(redis, start + 700)
        first = [await gate.check(key, limits) for _ in range(4)]
        first_done = await _server_ms(redis)
        await _sleep_until(redis, start + 1900)
        inside = await gate.check(key, limits)
        inside_done = await _server_ms(redis)
        await _sleep_until(redis, start + 2100)
        after = [await gate.check(key, limits) for _ in range(4)]
        after_done = await _server_ms(redis)
        if first_done < start + 1000 and inside_done < start + 2000 and after_done < start + 3000:
            break
    else:
        raise AssertionError("the machine never ran the requests in their intended second")
    assert [(r.allowed, r.remaining) for r in first] == [
        (True, 2),
        (True, 1),
        (True, 0),
        (False, 0),
    ]
    # Full until the first second leaves the window: the reset points at that boundary.
    assert 1000 < first[-1].reset_ms <= 1300
    assert (inside.allowed, inside.remaining) == (False, 0)
    assert 0 < inside.reset_ms <= 100
    # Just past the boundary all three are free again: 6 admitted within 1.4 s (at
    # most 3 in any 2 s window that starts on a whole second; up to 2x that in a span
    # straddling two such windows, as documented).
    assert [(r.allowed, r.remaining) for r in after] == [
        (True, 2),
        (True, 1),
        (True, 0),
        (False, 0),
    ]
    # Bounded: the expired second is gone; one counter per live second plus n, h, s, r.
    state = await redis.hgetall(key)
    assert {k for k in state if k not in (b"n", b"h", b"s", b"r")} == {
        str(start // 1000 + 2).encode()
    }
    assert (state[b"n"], state[b"h"], state[b"s"]) == (
        b"3",
        str(start // 1000 + 2).encode(),
        b"1000",
    )


async def test_a_retried_call_is_not_counted_twice_within_the_last_eight(
    redis: aioredis.Redis,
) -> None:
    script = RedisServer(redis).script("gate")
    key = keys.limiter(keys.ip_tag("retry"), "default")

    async def call(nonce: str) -> tuple[int, int]:
        # Nonces of one length, as the gate makes them.
        reply = await script(keys=[key], args=[f"{nonce:>16}", "", "b", 1, 20, 60000])
        return int(reply[1]), int(reply[2])

    assert await call("lost") == (1, 19)
    assert await call("lost") == (1, 19)  # the reply was lost, the client retried
    for n in range(7):
        await call(f"other {n}")
    assert await call("lost") == (1, 12)  # still among the last 8 admitted: not counted
    await call("other 7")
    assert await call("lost") == (1, 10)  # 8 admissions later it counts as a new request
