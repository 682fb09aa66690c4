"""GET /api/signals/stream on real servers: `serve` with two workers, Valkey (single and
cluster) and PostgreSQL; publish on one side, receive on the other.

Most tests share one server (starting one takes seconds on a loaded machine); they use
users of their own and compare event ids relative to what they saw first.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import psycopg
import pytest
import redis
import redis.asyncio as aioredis

from alpine_api.embedded import EmbeddedValkey
from bench.valkey_cluster import ValkeyCluster, wait_until
from tests.conftest import TEMPLATE_DB, _with_database, settings_env
from tests.sse_support import Stream
from tests.support import ServerProcess, Servers, bearer, insert_user, token_for

_symbols = itertools.count()
_emails = itertools.count()


@dataclass
class Shared:
    database_url: str
    redis_url: str
    server: ServerProcess

    def start(self, redis_url: str | None = None, **env: str) -> ServerProcess:
        """Another `serve --workers 1` on this database."""
        server = ServerProcess(
            settings_env(self.database_url, redis_url or self.redis_url, **env), workers=1
        )
        server.start()
        return server


@pytest.fixture(scope="module")
def shared(servers: Servers) -> Iterator[Shared]:
    name = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(servers.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB} STRATEGY FILE_COPY")
    url = _with_database(servers.admin_url, name)
    # Earlier tests' user records and revocations, cached under ids this fresh database
    # hands out again, must not vouch for this module's users (per-test flushes stop here).
    with redis.Redis.from_url(servers.redis_url) as valkey:
        valkey.flushall()
    server = ServerProcess(settings_env(url, servers.redis_url), workers=2)
    try:
        server.start()
        yield Shared(url, servers.redis_url, server)
    finally:
        server.stop()
        with psycopg.connect(servers.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def database_url(shared: Shared) -> str:
    """The shared server's database (conftest's `db` connects to it)."""
    return shared.database_url


@pytest.fixture
async def client(shared: Shared) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=shared.server.url, timeout=10) as http:
        yield http


async def new_user(db: asyncpg.Connection, **fields: Any) -> int:
    return await insert_user(db, f"user{next(_emails)}@example.com", **fields)


def signal_body(tier: str = "starter") -> dict[str, Any]:
    return {
        "symbol": f"S{next(_symbols)}",
        "direction": "long",
        "entry_price": 10.0,
        "target_price": 12.0,
        "stop_loss": 9.0,
        "confidence": 0.7,
        "tier": tier,
    }


async def publish(client: httpx.AsyncClient, admin: dict[str, str], tier: str = "starter") -> int:
    response = await client.post("/api/signals", json=signal_body(tier), headers=admin)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def open_status(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    async with client.stream("GET", "/api/signals/stream", headers=headers) as response:
        return response.status_code


async def test_events_are_tier_filtered_and_carry_the_signal(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    admin = bearer(await new_user(db, is_admin=True, tier="elite"))
    starter = bearer(await new_user(db))
    elite = bearer(await new_user(db, tier="elite"))
    async with Stream(client, starter) as low, Stream(client, elite) as high:
        # The response opens with a comment, before any event or keep-alive is due.
        await asyncio.wait_for(low.commented.wait(), 2)
        elite_id = await publish(client, admin, "elite")
        starter_id = await publish(client, admin, "starter")
        patched = await client.patch(
            f"/api/signals/{starter_id}", json={"is_active": False}, headers=admin
        )
        assert patched.status_code == 200
        seen_high = await high.take(3)
        seen_low = await low.take(2)
        first = seen_high[0].id
        assert [(e.id, e.event, e.data["id"]) for e in seen_high] == [
            (first, "signal", elite_id),
            (first + 1, "signal", starter_id),
            (first + 2, "signal.updated", starter_id),
        ]
        assert [(e.id, e.event, e.data["id"]) for e in seen_low] == [
            (first + 1, "signal", starter_id),
            (first + 2, "signal.updated", starter_id),
        ]
        assert seen_low[1].data == patched.json()
        assert seen_low[1].data["is_active"] is False
        assert "signal_streams_open 2.0" in (await client.get("/metrics")).text
        await asyncio.sleep(0.5)
        assert low.pending() == 0
        # The stream was the user's first request and counted once, whatever it carried.
        assert low.response is not None
        assert low.response.headers["x-ratelimit-remaining"] == "99"
        me = await client.get("/api/auth/me", headers=starter)
        assert me.headers["x-ratelimit-remaining"] == "98"


async def test_refusals_come_before_any_event(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    admin = bearer(await new_user(db, is_admin=True))
    user = bearer(await new_user(db))
    anonymous = await client.get("/api/signals/stream")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.headers["content-type"].startswith("application/json")
    await publish(client, admin)
    await publish(client, admin)
    last = await db.fetchval("SELECT last_id FROM signal_event_counter")
    for bad in ("abc", "-1", "1.5", "99999999999999999999", str(last + 1000)):
        response = await client.get("/api/signals/stream", headers={**user, "Last-Event-ID": bad})
        assert response.status_code == 400, (bad, response.text)
        assert "Last-Event-ID" in response.json()["detail"]
    # Event `last - 1` falls out of the 24 h replay window: resuming before it would skip
    # it silently, so that is refused; resuming after it is complete.
    await db.execute(
        "UPDATE signal_events SET created_at = now() - interval '25 hours' WHERE id <= $1",
        last - 1,
    )
    old = await client.get("/api/signals/stream", headers={**user, "Last-Event-ID": str(last - 2)})
    assert old.status_code == 400
    assert "replay window" in old.json()["detail"]
    resume = {**user, "Last-Event-ID": str(last - 1)}
    async with contextlib.AsyncExitStack() as stack:
        streams = [await stack.enter_async_context(Stream(client, resume)) for _ in range(5)]
        assert [e.id for e in await streams[0].take(1)] == [last]
        sixth = await client.get("/api/signals/stream", headers=user)
        assert sixth.status_code == 429
        assert int(sixth.headers["retry-after"]) >= 1
    # Closed streams give their slots back (once the server has seen them go).
    for _ in range(50):
        if await open_status(client, user) != 429:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("slots of closed streams were not given back")


async def test_resume_after_a_dropped_connection_misses_nothing(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    admin = bearer(await new_user(db, is_admin=True))
    user = bearer(await new_user(db))
    async with Stream(client, user) as first:
        await publish(client, admin)
        (last,) = await first.take(1)
    # Dropped. A burst is published while the client is away and while it comes back.
    burst = asyncio.gather(*(publish(client, admin) for _ in range(20)))
    await asyncio.sleep(0.05)
    async with Stream(client, {**user, "Last-Event-ID": str(last.id)}) as resumed:
        await burst
        await asyncio.gather(*(publish(client, admin) for _ in range(5)))
        events = await resumed.take(25)
        await asyncio.sleep(1.0)  # anything more would be a duplicate
        assert resumed.pending() == 0
    assert [e.id for e in events] == list(range(last.id + 1, last.id + 26))
    assert len({e.data["id"] for e in events}) == 25


async def test_streams_end_on_logout_tier_change_deactivation_and_expiry(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    admin = bearer(await new_user(db, is_admin=True))
    ids = [await new_user(db) for _ in range(4)]
    logout, upgrade, deactivate = (bearer(i) for i in ids[:3])
    short = {"Authorization": f"Bearer {token_for(ids[3], ttl_seconds=2)}"}
    async with (
        Stream(client, logout) as s_logout,
        Stream(client, upgrade) as s_upgrade,
        Stream(client, deactivate) as s_deactivate,
        Stream(client, short) as s_short,
    ):
        assert (await client.post("/api/auth/logout", headers=logout)).status_code == 204
        assert await s_logout.ended(1.5)  # within a second, and a margin for a busy machine
        response = await client.post("/api/subscriptions", json={"tier": "pro"}, headers=upgrade)
        assert response.status_code == 201
        assert await s_upgrade.ended(1.5)
        response = await client.patch(
            f"/api/admin/users/{ids[2]}", json={"is_active": False}, headers=admin
        )
        assert response.status_code == 200
        assert await s_deactivate.ended(1.5)
        assert await s_short.ended(5)
        assert s_short.comments == 1  # the opening comment only: no keep-alive was due
    assert await open_status(client, logout) == 401
    async with Stream(client, upgrade) as again:  # reconnects with the new tier
        signal_id = await publish(client, admin, "pro")
        assert [e.data["id"] for e in await again.take(1)] == [signal_id]


async def test_two_instances_share_events_and_sigterm_ends_streams(
    shared: Shared, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    admin = bearer(await new_user(db, is_admin=True))
    user = bearer(await new_user(db))
    other = shared.start()
    try:
        async with (
            httpx.AsyncClient(base_url=other.url, timeout=10) as on_other,
            Stream(on_other, user) as stream,
        ):
            # Every worker of both instances listens (one subscription per worker).
            valkey = aioredis.Redis.from_url(shared.redis_url)
            numsub = await valkey.pubsub_numsub("{c:signal-events}:live")
            await valkey.aclose()
            assert numsub[0][1] == 3
            signal_id = await publish(client, admin)
            (event,) = await stream.take(1)
            assert event.data["id"] == signal_id
            started = asyncio.get_running_loop().time()
            code = await asyncio.to_thread(other.stop)
            assert await stream.ended(1.0)
            assert code == 0, other.logs()
            assert asyncio.get_running_loop().time() - started < 10
            assert "worker stopped" in other.logs()
    finally:
        other.stop()


async def test_valkey_killed_and_restarted_mid_stream_loses_nothing(
    shared: Shared, servers: Servers, db: asyncpg.Connection
) -> None:
    admin = bearer(await new_user(db, is_admin=True))
    user = bearer(await new_user(db))
    valkey = EmbeddedValkey(servers.root / f"valkey-{secrets.token_hex(4)}")
    valkey.start()
    server = shared.start(valkey.url)
    try:
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=10) as http,
            Stream(http, user) as stream,
        ):
            published = [await publish(http, admin)]
            await stream.take(1)
            assert valkey.proc is not None
            valkey.proc.kill()
            valkey.proc.wait()
            published += [await publish(http, admin) for _ in range(3)]  # Valkey down
            during = await stream.take(3)
            valkey.start()
            published += [await publish(http, admin) for _ in range(3)]
            after = await stream.take(3)
            await asyncio.sleep(1.0)
            assert stream.pending() == 0
        events = during + after
        assert [e.data["id"] for e in events] == published[1:]
        assert [e.id for e in events] == list(range(events[0].id, events[0].id + 6))
    finally:
        server.stop()
        valkey.stop()
        shutil.rmtree(valkey.data_dir, ignore_errors=True)


async def test_cluster_mode_uses_sharded_pub_sub(
    shared: Shared, servers: Servers, db: asyncpg.Connection
) -> None:
    admin = bearer(await new_user(db, is_admin=True))
    user_id = await new_user(db)
    user = bearer(user_id)
    cluster = ValkeyCluster(servers.root / f"cluster-{secrets.token_hex(4)}", masters=3).start()
    server = None
    try:
        server = shared.start(cluster.url, ALPINE_REDIS_CLUSTER="true")
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=10) as http,
            Stream(http, user) as stream,
        ):
            owner = cluster.master_of("{c:signal-events}:live")
            with owner.client() as node:
                # the worker's one sharded subscription (made as the worker starts)
                wait_until(
                    lambda: (
                        node.execute_command("PUBSUB SHARDNUMSUB {c:signal-events}:live")[1] == 1
                    ),
                    5,
                    "the sharded subscription",
                )
            with cluster.master_of(f"{{u:{user_id}}}").client() as node:
                assert node.zcard(f"{{u:{user_id}}}:streams") == 1  # its slot is counted
            published = [await publish(http, admin) for _ in range(3)]
            events = await stream.take(3)
            assert [e.data["id"] for e in events] == published
    finally:
        if server is not None:
            server.stop()
        cluster.stop()
