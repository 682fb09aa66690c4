"""Response caching in Redis: hits, scoping, stampede protection, invalidation, faults."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path

import asyncpg
import httpx
import msgspec
import redis.asyncio as aioredis
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from alpine_api.app import create_app
from alpine_api.config import load_settings
from alpine_api.embedded import EmbeddedValkey
from tests.conftest import settings_env
from tests.support import bearer, insert_user

Client = AsyncTestClient  # type: ignore[type-arg]
Headers = dict[str, str]


def _sample(metrics: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def test_profile_miss_then_hit_then_fresh_after_write(
    client: Client, db: asyncpg.Connection
) -> None:
    headers = bearer(await insert_user(db, "pat@example.com", full_name="Pat"))
    first = await client.get("/api/users/profile", headers=headers)
    second = await client.get("/api/users/profile", headers=headers)
    assert (first.status_code, first.headers["x-cache"]) == (200, "MISS")
    assert (second.status_code, second.headers["x-cache"]) == (200, "HIT")
    assert first.json() == second.json()
    assert first.json()["full_name"] == "Pat" and first.json()["subscription"] is None
    patched = await client.patch(
        "/api/users/profile", headers=headers, json={"full_name": "Patricia"}
    )
    assert patched.status_code == 200 and patched.json()["full_name"] == "Patricia"
    after = await client.get("/api/users/profile", headers=headers)
    assert after.headers["x-cache"] == "MISS"
    assert after.json()["full_name"] == "Patricia"
    me = await client.get("/api/auth/me", headers=headers)
    assert me.json()["full_name"] == "Patricia"
    assert (
        await db.fetchval("SELECT full_name FROM users WHERE email = 'pat@example.com'")
        == "Patricia"
    )


async def test_entries_are_scoped_per_user(client: Client, db: asyncpg.Connection) -> None:
    alice = bearer(await insert_user(db, "alice@example.com", full_name="Alice"))
    bob = bearer(await insert_user(db, "bob@example.com", full_name="Bob"))
    assert (await client.get("/api/users/profile", headers=alice)).json()["full_name"] == "Alice"
    response = await client.get("/api/users/profile", headers=bob)
    assert response.headers["x-cache"] == "MISS"
    assert response.json()["full_name"] == "Bob"


async def test_bad_update_changes_nothing(client: Client, db: asyncpg.Connection) -> None:
    headers = bearer(await insert_user(db, "quinn@example.com", full_name="Quinn"))
    for body in ({"full_name": "x" * 201}, {"full_name": "Q", "email": "a@b.c"}, {"full_name": 5}):
        response = await client.patch("/api/users/profile", headers=headers, json=body)
        assert response.status_code == 400
    assert (
        await db.fetchval("SELECT full_name FROM users WHERE email = 'quinn@example.com'")
        == "Quinn"
    )


async def test_redis_down_computes_and_serves(
    database_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    headers = bearer(await insert_user(db, "rita@example.com", full_name="Rita"))
    valkey = EmbeddedValkey(tmp_path / "valkey")
    valkey.start()
    app = create_app(load_settings(settings_env(database_url, valkey.url)))
    try:
        async with AsyncTestClient(app=app) as client:
            await client.get("/api/users/profile", headers=headers)
            valkey.stop()
            response = await client.get("/api/users/profile", headers=headers)
            patched = await client.patch(
                "/api/users/profile", headers=headers, json={"full_name": "R"}
            )
            me = await client.get("/api/auth/me", headers=headers)
    finally:
        valkey.stop()
    assert (response.status_code, response.headers["x-cache"]) == (200, "MISS")
    assert response.json()["full_name"] == "Rita"
    assert patched.status_code == 200 and patched.json()["full_name"] == "R"
    assert me.status_code == 200 and me.json()["full_name"] == "R"


async def test_switched_off_always_computes(
    database_url: str, redis_url: str, db: asyncpg.Connection, redis: aioredis.Redis
) -> None:
    headers = bearer(await insert_user(db, "sam@example.com"))
    app = create_app(
        load_settings(settings_env(database_url, redis_url, ALPINE_CACHE_ENABLED="false"))
    )
    async with AsyncTestClient(app=app) as client:
        answers = [await client.get("/api/users/profile", headers=headers) for _ in range(2)]
    assert [a.headers["x-cache"] for a in answers] == ["MISS", "MISS"]
    assert not [k async for k in redis.scan_iter("*:e:*")]


async def test_concurrent_misses_compute_once_and_writes_are_fresh_on_every_worker(
    serve,
    db: asyncpg.Connection,  # type: ignore[no-untyped-def]
) -> None:
    headers = bearer(await insert_user(db, "stampede@example.com", full_name="Before"))
    server = serve(workers=2)
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as http:
        answers = await asyncio.gather(
            *(http.get("/api/users/profile", headers=headers) for _ in range(50))
        )
        metrics = (await http.get("/metrics")).text
        assert {a.status_code for a in answers} == {200}
        assert [a.headers["x-cache"] for a in answers].count("MISS") == 1
        assert _sample(metrics, "db_query_duration_seconds_count", query="users.get_profile") == 1
        assert _sample(metrics, "redis_cache_hits_total", cache="profile") == 49

        patched = await http.patch(
            "/api/users/profile", headers=headers, json={"full_name": "After"}
        )
        assert patched.status_code == 200
        # Each worker serves some of these; none may show the old name.
        reads = await asyncio.gather(
            *(http.get("/api/users/profile", headers=headers) for _ in range(20))
        )
        assert {r.json()["full_name"] for r in reads} == {"After"}
        mes = await asyncio.gather(*(http.get("/api/auth/me", headers=headers) for _ in range(20)))
        assert {m.json()["full_name"] for m in mes} == {"After"}


async def _gzip_reader(db: asyncpg.Connection, email: str, tier: str, signals: int) -> Headers:
    """A user of `tier` whose client accepts gzip, and `signals` signals of that tier."""
    await db.execute(
        "INSERT INTO signals"
        " (symbol, direction, entry_price, target_price, stop_loss, confidence, tier)"
        " SELECT 'ETH/USD', 'long', 3000, 3300, 2900, 0.9, $1 FROM generate_series(1, $2)",
        tier,
        signals,
    )
    return {**bearer(await insert_user(db, email, tier=tier)), "Accept-Encoding": "gzip"}


async def test_hits_are_served_compressed_and_equal_to_the_computed_page(
    client: Client, db: asyncpg.Connection
) -> None:
    headers = await _gzip_reader(db, "zip@example.com", "pro", 30)
    answers = [await client.get("/api/signals/subscribed", headers=headers) for _ in range(4)]
    assert [a.headers["x-cache"] for a in answers] == ["MISS", "HIT", "HIT", "HIT"]
    assert all(a.headers.get("content-encoding") == "gzip" for a in answers)  # >= 1000 bytes
    assert all(a.json() == answers[0].json() for a in answers)
    assert len(answers[0].json()["items"]) == 30
    plain = await client.get(
        "/api/signals/subscribed", headers={**headers, "Accept-Encoding": "identity"}
    )
    assert plain.headers["x-cache"] == "HIT" and "content-encoding" not in plain.headers
    assert plain.json() == answers[0].json()


async def test_tier_pages_never_cross_tiers(client: Client, db: asyncpg.Connection) -> None:
    starter = bearer(await insert_user(db, "tier-s@example.com", tier="starter"))
    pro = bearer(await insert_user(db, "tier-p@example.com", tier="pro"))
    another_pro = bearer(await insert_user(db, "tier-p2@example.com", tier="pro"))
    for tier in ("starter", "pro"):
        await db.execute(
            "INSERT INTO signals (symbol, direction, entry_price, target_price, stop_loss,"
            " confidence, tier) VALUES ($1, 'long', 10, 12, 9, 0.9, $2)",
            tier.upper(),
            tier,
        )
    seen: dict[str, list[tuple[str, set[str]]]] = {"starter": [], "pro": [], "another": []}
    for _ in range(3):  # later rounds are hits, some answered by the request gate
        for name, headers in (("starter", starter), ("pro", pro), ("another", another_pro)):
            response = await client.get("/api/signals/subscribed", headers=headers)
            symbols = {item["symbol"] for item in response.json()["items"]}
            seen[name].append((response.headers["x-cache"], symbols))
    assert all(symbols == {"STARTER"} for _, symbols in seen["starter"])
    assert all(symbols == {"STARTER", "PRO"} for _, symbols in seen["pro"] + seen["another"])
    assert seen["pro"][0][0] == "MISS" and seen["another"][0][0] == "HIT"  # shared per tier
    assert [cache for cache, _ in seen["starter"]] == ["MISS", "HIT", "HIT"]


async def _raw_get(client: Client, path: str, headers: dict[str, str]) -> tuple[str, str, bytes]:
    """X-Cache, Content-Encoding and the body exactly as sent (not decoded)."""
    async with client.stream("GET", path, headers=headers) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        return response.headers["x-cache"], response.headers.get("content-encoding", ""), raw


async def _entry(redis: aioredis.Redis, key: bytes) -> dict[bytes, bytes]:
    """The entry once the write the response did not wait for has landed."""
    for _ in range(200):
        if entry := await redis.hgetall(key):
            return entry  # type: ignore[no-any-return]
        await asyncio.sleep(0.01)
    raise AssertionError("the entry was never written")


async def test_the_miss_sends_the_gzip_it_stores_and_hits_send_the_same_bytes(
    client: Client, db: asyncpg.Connection, redis: aioredis.Redis
) -> None:
    headers = await _gzip_reader(db, "once@example.com", "elite", 25)
    path = "/api/signals/subscribed"
    miss = await _raw_get(client, path, headers)
    entry = await _entry(redis, b"{c:signals}:e:elite:" + path.encode() + b"?")
    hits = [await _raw_get(client, path, headers) for _ in range(2)]
    assert miss[:2] == ("MISS", "gzip") and [h[:2] for h in hits] == [("HIT", "gzip")] * 2
    assert miss[2] == hits[0][2] == hits[1][2] == entry[b"z"]  # compressed once, as stored
    assert gzip.decompress(miss[2]) == entry[b"b"]  # one layer of gzip over the JSON body
    assert len(msgspec.json.decode(entry[b"b"])["items"]) == 25
    assert not await redis.exists(b"{c:signals}:lock:elite:" + path.encode() + b"?")


async def test_a_small_body_is_sent_plain_on_miss_and_hit(
    client: Client, db: asyncpg.Connection, redis: aioredis.Redis
) -> None:
    user_id = await insert_user(db, "small@example.com", full_name="S")
    headers = {**bearer(user_id), "Accept-Encoding": "gzip"}
    miss = await _raw_get(client, "/api/users/profile", headers)
    entry = await _entry(redis, f"{{u:{user_id}}}:e:profile:/api/users/profile?".encode())
    hit = await _raw_get(client, "/api/users/profile", headers)
    assert (miss[:2], hit[:2]) == (("MISS", ""), ("HIT", ""))  # under 1000 bytes: no gzip
    assert miss[2] == hit[2] == entry[b"b"] and entry[b"z"] == b""


async def _evalsha_calls(redis: aioredis.Redis) -> int:
    """Script calls that ran (a NOSCRIPT answer, once per script, loads it and retries)."""
    stats = (await redis.info("commandstats")).get("cmdstat_evalsha", {})
    return int(stats.get("calls", 0)) - int(stats.get("failed_calls", 0))


async def test_a_miss_is_two_script_calls_and_a_hit_one(
    client: Client, db: asyncpg.Connection, redis: aioredis.Redis
) -> None:
    """Counted by Valkey itself (INFO commandstats): the gate's call, then the write."""
    user_id = await insert_user(db, "trips@example.com", tier="pro")
    headers = bearer(user_id)
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200  # record
    entries = {
        "/api/users/profile": f"{{u:{user_id}}}:e:profile:/api/users/profile?",
        "/api/signals/subscribed": "{c:signals}:e:pro:/api/signals/subscribed?",
    }
    for path, key in entries.items():
        await redis.config_resetstat()
        miss = await client.get(path, headers=headers)
        await _entry(redis, key.encode())
        after_miss = await _evalsha_calls(redis)
        hit = await client.get(path, headers=headers)
        assert (miss.headers["x-cache"], hit.headers["x-cache"]) == ("MISS", "HIT"), path
        assert (after_miss, await _evalsha_calls(redis)) == (2, 3), path
