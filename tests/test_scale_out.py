"""Scaled out: two `serve` instances on one 3-master Valkey Cluster (each master with a
replica) and one PostgreSQL primary with a streaming replica. Every guarantee holds
across instances: exact rate limits, revocation at once, no stale read after a write;
scripts survive NOSCRIPT and a master failover; admin statistics read the replica and
fall back to the primary when it is gone.

The topology is built once for the module; each test uses users of its own and starts
from an empty cluster. The failover test runs last: it leaves one master without a
replica.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psycopg
import pytest
from redis.cluster import RedisCluster

from alpine_api.embedded import EmbeddedPostgres
from alpine_api.redis import keys
from alpine_api.redis.client import RedisServer
from alpine_api.redis.gate import Gate
from alpine_api.redis.user_state import UserState
from bench.valkey_cluster import ClusterNode, ValkeyCluster, wait_until
from tests.conftest import TEMPLATE_DB, settings_env
from tests.support import ServerProcess, Servers, bearer, insert_user, token_for


@dataclass
class Topology:
    cluster: ValkeyCluster
    primary_url: str
    replica: EmbeddedPostgres
    replica_url: str
    a: ServerProcess
    b: ServerProcess


def _lsn_caught_up(primary_url: str, replica_url: str) -> bool:
    with psycopg.connect(primary_url, autocommit=True) as conn:
        # The insert position: with synchronous_commit off a commit may not be written yet.
        target = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]  # type: ignore[index]
    with psycopg.connect(replica_url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()
    return bool(row and row[0])


def replica_caught_up(top: Topology) -> None:
    wait_until(lambda: _lsn_caught_up(top.primary_url, top.replica_url), 10, "replica replay")


@pytest.fixture(scope="module")
def topology(servers: Servers) -> Iterator[Topology]:
    if servers.postgres is None:
        pytest.skip("needs the embedded PostgreSQL (pg_basebackup of it)")
    root = Path(tempfile.mkdtemp(prefix="alpine-scale-", dir=servers.root))
    root.chmod(0o755)
    name = f"scale_{secrets.token_hex(4)}"
    with psycopg.connect(servers.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB} STRATEGY FILE_COPY")
    cluster = ValkeyCluster(root, masters=3, replicas=1)
    replica = servers.postgres.replica(root / "replica")
    started: list[ServerProcess] = []
    try:
        cluster.start()
        replica.start()
        primary_url, replica_url = servers.postgres.dsn(name), replica.dsn(name)
        env = settings_env(
            primary_url,
            cluster.url,
            ALPINE_REDIS_CLUSTER="true",
            ALPINE_DATABASE_REPLICA_URL=replica_url,
            ALPINE_RATE_LIMIT="100/60",
        )
        for _ in range(2):
            started.append(ServerProcess(env, workers=2))
            started[-1].start()
        yield Topology(cluster, primary_url, replica, replica_url, *started)
    finally:
        for server in started:
            server.stop()
        replica.stop()
        cluster.stop()
        with psycopg.connect(servers.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def top(topology: Topology) -> Topology:
    topology.cluster.flush()  # empty, and every script cache flushed: NOSCRIPT first
    return topology


@pytest.fixture
async def pdb(topology: Topology) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(topology.primary_url)
    yield conn
    await conn.close()


@pytest.fixture
def cluster_client(topology: Topology) -> Iterator[RedisCluster]:
    client = RedisCluster.from_url(topology.cluster.url)
    yield client
    client.close()


@pytest.fixture
async def http(top: Topology) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with (
        httpx.AsyncClient(base_url=top.a.url, timeout=10) as a,
        httpx.AsyncClient(base_url=top.b.url, timeout=10) as b,
    ):
        yield a, b


def _errorstats(nodes: list[ClusterNode]) -> dict[str, int]:
    """Error replies counted by the nodes, by error prefix (INFO errorstats)."""
    totals: dict[str, int] = {}
    for node in nodes:
        with node.client() as c:
            for name, value in c.info("errorstats").items():
                totals[name] = totals.get(name, 0) + int(value["count"])
    return totals


async def _warm_up(http: tuple[httpx.AsyncClient, httpx.AsyncClient], headers: Any) -> None:
    """Every worker has its slot map and the scripts are loaded again after the flush."""
    answers = await asyncio.gather(
        *(http[i % 2].get("/api/auth/me", headers=headers) for i in range(16))
    )
    assert {a.status_code for a in answers} == {200}


# -- across instances -----------------------------------------------------------------------
async def test_a_pro_burst_of_330_across_two_instances_lets_exactly_300_through(
    http: tuple[httpx.AsyncClient, httpx.AsyncClient],
    pdb: asyncpg.Connection,
    cluster_client: RedisCluster,
) -> None:
    user_id = await insert_user(pdb, "burst@example.com", tier="pro")
    await _warm_up(http, bearer(await insert_user(pdb, "warm@example.com")))
    headers = bearer(user_id)
    answers = await asyncio.gather(
        *(http[i % 2].get("/api/auth/me", headers=headers) for i in range(330))
    )
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 300
    assert statuses.count(429) == 30
    assert {i % 2 for i, s in enumerate(statuses) if s == 200} == {0, 1}  # both admitted
    assert all(a.headers["retry-after"] for a in answers if a.status_code == 429)
    assert {a.headers["ratelimit-policy"] for a in answers} == {'"pro";q=300;w=60'}
    limiter = keys.limiter(keys.user_tag(user_id), "default")
    assert cluster_client.hget(limiter, "n") == b"300"


async def test_an_ip_burst_across_two_instances_lets_exactly_the_limit_through(
    http: tuple[httpx.AsyncClient, httpx.AsyncClient],
    pdb: asyncpg.Connection,
    cluster_client: RedisCluster,
) -> None:
    """Anonymous requests are decided in groups per worker (four workers here), each
    group by one script call on the cluster: still exactly the limit across them all."""
    await _warm_up(http, bearer(await insert_user(pdb, "warm-ip@example.com")))
    answers = await asyncio.gather(
        *(http[i % 2].get("/api/subscriptions/plans") for i in range(130))
    )
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 100
    assert statuses.count(429) == 30
    remaining = sorted(int(a.headers["x-ratelimit-remaining"]) for a in answers if a.is_success)
    assert remaining == list(range(100))
    assert cluster_client.hget(keys.limiter(keys.ip_tag("127.0.0.1"), "default"), "n") == b"100"


async def test_logout_on_one_instance_is_a_401_on_the_other_at_once(
    http: tuple[httpx.AsyncClient, httpx.AsyncClient], pdb: asyncpg.Connection
) -> None:
    a, b = http
    user_id = await insert_user(pdb, "leaver@example.com")
    revoked, kept = token_for(user_id), token_for(user_id)
    auth = {"Authorization": f"Bearer {revoked}"}
    assert (await b.get("/api/auth/me", headers=auth)).status_code == 200  # b cached the user
    assert (await a.post("/api/auth/logout", headers=auth)).status_code == 204
    again = await b.get("/api/auth/me", headers=auth)
    assert again.status_code == 401
    assert again.headers["www-authenticate"] == "Bearer"
    other = await b.get("/api/auth/me", headers={"Authorization": f"Bearer {kept}"})
    assert other.status_code == 200


async def test_a_write_through_one_instance_is_fresh_on_the_others_next_read(
    http: tuple[httpx.AsyncClient, httpx.AsyncClient], pdb: asyncpg.Connection
) -> None:
    a, b = http
    headers = bearer(await insert_user(pdb, "writer@example.com", full_name="Before"))
    assert (await b.get("/api/users/profile", headers=headers)).headers["x-cache"] == "MISS"
    cached = await b.get("/api/users/profile", headers=headers)
    assert (cached.headers["x-cache"], cached.json()["full_name"]) == ("HIT", "Before")
    patch = await a.patch("/api/users/profile", headers=headers, json={"full_name": "After"})
    assert patch.status_code == 200
    for client in (b, a, b):
        profile = await client.get("/api/users/profile", headers=headers)
        assert profile.json()["full_name"] == "After"
        me = await client.get("/api/auth/me", headers=headers)
        assert me.json()["full_name"] == "After"


async def test_every_script_runs_on_the_cluster_and_recovers_from_noscript(
    top: Topology,
    http: tuple[httpx.AsyncClient, httpx.AsyncClient],
    pdb: asyncpg.Connection,
    cluster_client: RedisCluster,
) -> None:
    """gate.lua (per user and per IP), cache_get/cache_set.lua (user, tier and global
    namespaces) and revoke.lua, each against script caches that the fixture flushed."""
    a, b = http
    before = _errorstats(top.cluster.live_nodes)
    admin = bearer(await insert_user(pdb, "root@example.com", is_admin=True))
    user_id = await insert_user(pdb, "scripts@example.com", tier="pro")
    user = bearer(user_id)
    register = await a.post(
        "/api/auth/register", json={"email": "new@example.com", "password": "long enough 1"}
    )
    assert register.status_code == 201
    calls = [
        (b, "/api/users/profile", user),
        (a, "/api/signals/subscribed", user),
        (b, "/api/admin/analytics", admin),
        (a, "/api/admin/revenue", admin),
    ]
    for client, path, headers in calls:
        first, second = [await client.get(path, headers=headers) for _ in range(2)]
        assert first.status_code == second.status_code == 200, path
        assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT"), path
        assert "x-ratelimit-remaining" in second.headers  # the gate answered, not failed open
    assert (await b.post("/api/auth/logout", headers=user)).status_code == 204
    assert (await a.get("/api/auth/me", headers=user)).status_code == 401
    assert cluster_client.hlen(keys.revoked(user_id)) >= 1  # revoke.lua wrote the jti
    after = _errorstats(top.cluster.live_nodes)
    assert after.get("errorstat_CROSSSLOT", 0) == before.get("errorstat_CROSSSLOT", 0)
    assert after.get("errorstat_NOSCRIPT", 0) > before.get("errorstat_NOSCRIPT", 0)


async def test_one_redis_server_facade_runs_everything_on_the_cluster(
    top: Topology, cluster_client: RedisCluster
) -> None:
    """On a cluster the facade has no lean connection: scripts, pipelines and the
    readiness probe (cluster_state:ok) all go through redis-py's cluster client."""
    server = RedisServer.connect(top.cluster.url, timeout=1.0, cluster=True)
    try:
        assert server.cluster
        await server.check_ready()
        decision = await Gate(server).check(keys.user_limiter(77), (5, 60_000))
        assert (decision.allowed, decision.remaining) == (True, 4)
        cluster_client.set(keys.user_record(77), b"{}")
        await UserState(server).forget(77)
        assert cluster_client.get(keys.user_record(77)) is None
        assert cluster_client.get(keys.generation(keys.user_tag(77))) == b"1"
    finally:
        await server.aclose()


# -- read replica ---------------------------------------------------------------------------
async def test_admin_statistics_and_listing_are_read_from_the_replica(
    top: Topology, http: tuple[httpx.AsyncClient, httpx.AsyncClient], pdb: asyncpg.Connection
) -> None:
    a, b = http
    admin = bearer(await insert_user(pdb, "watcher@example.com", is_admin=True))
    await insert_user(pdb, "seen@example.com")
    await asyncio.to_thread(replica_caught_up, top)
    expected = await pdb.fetchval("SELECT count(*) FROM users")
    with psycopg.connect(top.replica_url, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    try:
        await insert_user(pdb, "only-on-primary@example.com")
        stats = await a.get("/api/admin/analytics", headers=admin)
        assert stats.status_code == 200
        assert stats.json()["total_users"] == expected  # the replica, frozen before the insert
        listing = await b.get("/api/admin/users", headers=admin, params={"limit": 100})
        emails = {user["email"] for user in listing.json()["items"]}
        assert "seen@example.com" in emails
        assert "only-on-primary@example.com" not in emails
        # A user the replica does not have yet signs in and reads back their own write:
        # those run on the primary.
        newcomer = bearer(await pdb.fetchval("SELECT max(id) FROM users"))
        patch = await a.patch("/api/users/profile", headers=newcomer, json={"full_name": "N"})
        assert patch.status_code == 200
        assert (await b.get("/api/auth/me", headers=newcomer)).json()["full_name"] == "N"
    finally:
        with psycopg.connect(top.replica_url, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")
    await asyncio.to_thread(replica_caught_up, top)
    top.cluster.flush()
    stats = await a.get("/api/admin/analytics", headers=admin)
    assert stats.json()["total_users"] == expected + 1
    health = (await b.get("/health")).json()
    assert health == {
        "status": "healthy",
        "checks": {"database": "healthy", "redis": "healthy", "replica": "healthy"},
    }


async def test_a_stopped_replica_falls_back_to_the_primary(
    top: Topology, http: tuple[httpx.AsyncClient, httpx.AsyncClient], pdb: asyncpg.Connection
) -> None:
    a, b = http
    admin = bearer(await insert_user(pdb, "fallback@example.com", is_admin=True))
    top.replica.stop()
    try:
        await insert_user(pdb, "after-stop@example.com")
        expected = await pdb.fetchval("SELECT count(*) FROM users")
        for client in (a, b, a, b):  # both workers of both instances, pooled connections dead
            top.cluster.flush()
            stats = await client.get("/api/admin/analytics", headers=admin)
            assert stats.status_code == 200
            assert stats.json()["total_users"] == expected
            listing = await client.get("/api/admin/users", headers=admin)
            assert listing.status_code == 200
            assert "after-stop@example.com" in {u["email"] for u in listing.json()["items"]}
        health = await a.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "degraded"
        assert health.json()["checks"]["replica"] == "unhealthy"
    finally:
        top.replica.start()
    assert (await a.get("/health")).json()["status"] == "healthy"


# -- failover (last: it leaves a master without replica) --------------------------------------
@dataclass
class Call:
    started: float
    ended: float
    status: int
    gated: bool  # carried rate-limit headers: the gate script answered


async def _steady_load(
    urls: list[str], tokens: list[str], stop: asyncio.Event, calls: list[Call]
) -> None:
    async def worker(index: int) -> None:
        async with httpx.AsyncClient(base_url=urls[index % len(urls)], timeout=10) as http:
            n = index
            while not stop.is_set():
                n += 8
                headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
                started = time.monotonic()
                try:
                    response = await http.get("/api/users/profile", headers=headers)
                    status, gated = response.status_code, "x-ratelimit-limit" in response.headers
                except httpx.HTTPError:
                    status, gated = 0, False
                calls.append(Call(started, time.monotonic(), status, gated))
                await asyncio.sleep(0.01)

    await asyncio.gather(*(worker(i) for i in range(8)))


async def test_a_master_killed_under_steady_load_fails_over_without_5xx(
    top: Topology, pdb: asyncpg.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = await pdb.fetch(
        "INSERT INTO users (email, password_hash) SELECT 'load' || g || '@example.com', 'x'"
        " FROM generate_series(1, 200) g RETURNING id"
    )
    user_ids = [row["id"] for row in ids]
    tokens = [token_for(user_id) for user_id in user_ids]
    # A master other than the startup node of the servers' URL; its replica takes over.
    victim = next(
        node
        for node in (top.cluster.master_of(keys.user_tag(uid)) for uid in user_ids)
        if node is not top.cluster.masters[0]
    )
    on_victim = [uid for uid in user_ids if top.cluster.master_of(keys.user_tag(uid)) is victim]
    stop, calls = asyncio.Event(), []
    load = asyncio.create_task(_steady_load([top.a.url, top.b.url], tokens, stop, calls))
    await asyncio.sleep(2)
    killed_at = time.monotonic()
    victim.kill()
    await asyncio.to_thread(top.cluster.wait_ok, 20)
    recovered_at = time.monotonic()
    await asyncio.sleep(3)
    stop.set()
    await load

    promoted = top.cluster.master_of(keys.user_tag(on_victim[0]))
    assert promoted is not victim and promoted.alive
    before = [c for c in calls if c.ended < killed_at]
    during = [c for c in calls if killed_at <= c.started < recovered_at]
    after = [c for c in calls if c.started >= recovered_at]
    assert before and during and after
    assert all(c.status == 200 and c.gated for c in before)
    assert [c.status for c in during if c.status != 200] == []  # failed open: no 5xx at all
    assert [c.status for c in after if c.status != 200] == []
    # Shortly after the cluster is whole again every request is rate limited again,
    # including those whose slots moved to the promoted node (NOSCRIPT there, reloaded).
    settled = [c for c in after if c.started >= recovered_at + 1.0]
    assert settled and all(c.gated for c in settled)
    assert _errorstats([promoted]).get("errorstat_NOSCRIPT", 0) >= 1
    ungated = [c for c in calls if not c.gated]
    window = (max(c.ended for c in ungated) - min(c.started for c in ungated)) if ungated else 0
    with capsys.disabled():
        print(
            f"\nfailover: cluster_state:ok again {recovered_at - killed_at:.2f} s after the kill;"
            f" {len(ungated)} of {len(calls)} requests passed ungated (fail-open) over"
            f" {window:.2f} s; statuses during: {_histogram(during)}, after: {_histogram(after)};"
            f" slowest call during failover {max(c.ended - c.started for c in during):.3f} s"
        )


def _histogram(calls: list[Any]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for call in calls:
        counts[call.status] = counts.get(call.status, 0) + 1
    return counts
