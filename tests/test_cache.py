"""Response caching in Redis: hits, scoping, stampede protection, invalidation, faults."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import httpx
import redis.asyncio as aioredis
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from alpine_api.app import create_app
from alpine_api.config import load_settings
from alpine_api.embedded import EmbeddedValkey
from tests.conftest import settings_env
from tests.support import bearer, insert_user

Client = AsyncTestClient  # type: ignore[type-arg]


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


async def test_hits_are_served_compressed_and_equal_to_the_computed_page(
    client: Client, db: asyncpg.Connection
) -> None:
    headers = {
        **bearer(await insert_user(db, "zip@example.com", tier="pro")),
        "Accept-Encoding": "gzip",
    }
    await db.execute(
        "INSERT INTO signals"
        " (symbol, direction, entry_price, target_price, stop_loss, confidence, tier)"
        " SELECT 'ETH/USD', 'long', 3000, 3300, 2900, 0.9, 'pro' FROM generate_series(1, 30)"
    )
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
