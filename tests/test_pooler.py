"""The service behind PgBouncer in transaction mode (ALPINE_DATABASE_POOLER=transaction).

A real PgBouncer (Debian's 1.18) with a small server pool sits in front of the test
PostgreSQL. Checked: the start-up check pins no server connection; named prepared
statements really break there and the setting avoids them; a file's `-- timeout:` holds
on the server for its own transaction only; two `serve --workers 2` whose pools open
eight times as many connections as the server pool (80 for 10) run the load mix with no
error and no lost write while PostgreSQL never sees more backends than the server pool;
a PgBouncer restart under load, and a PostgreSQL restart behind it, are survived like a
PostgreSQL restart without a pooler (503s within 2 s, recovery without action).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from alpine_api.db import Database, DatabaseUnavailable, load_queries
from alpine_api.embedded import EmbeddedPostgres
from alpine_api.embedded_pgbouncer import EmbeddedPgBouncer
from alpine_api.resources import SQL_DIR
from bench.load_mix import LoadMix, verify
from tests.pooler_support import Backends, burst, database_name, pooler_clients
from tests.support import ServerProcess, Servers
from tests.test_faults import LOAD_ENV, arrange, describe, poll, recovery, report

SERVER_POOL = 10
BURST = 60  # concurrent requests per instance
OK = {200, 201, 204, 409}

Bouncer = Callable[..., EmbeddedPgBouncer]


@pytest.fixture
def pgbouncer(servers: Servers) -> Iterator[Bouncer]:
    """`pgbouncer(pool_size=10)`: a started PgBouncer in front of the test PostgreSQL."""
    started: list[EmbeddedPgBouncer] = []

    def start(pool_size: int = SERVER_POOL) -> EmbeddedPgBouncer:
        work_dir = servers.root / f"pgbouncer-{secrets.token_hex(4)}"
        bouncer = EmbeddedPgBouncer.in_front_of(servers.admin_url, work_dir, pool_size)
        started.append(bouncer)
        bouncer.start()
        return bouncer

    yield start
    for bouncer in started:
        bouncer.stop()


async def connect(
    url: str, queries_dir: Path | None = None, *, pooler: str = "transaction", size: int = 1
) -> Database:
    return await Database.connect(
        url,
        load_queries(queries_dir or SQL_DIR),
        min_size=size,
        max_size=size,
        connect_timeout=3,
        command_timeout=5,
        pooler=pooler,  # type: ignore[arg-type]
    )


def write_queries(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).write_text(text)
    return root


async def test_start_up_checks_every_file_through_the_pooler_and_pins_no_server(
    pgbouncer: Bouncer, database_url: str, tmp_path: Path
) -> None:
    bouncer = pgbouncer(pool_size=1)
    url = bouncer.url(database_name(database_url))
    db = await connect(url, size=2)
    try:
        # The only server connection is free again: another client gets it at once.
        other = await asyncpg.connect(url, statement_cache_size=0)
        try:
            assert await asyncio.wait_for(other.fetchval("SELECT 41 + 1"), 3) == 42
        finally:
            await other.close()
        assert await db.fetchval("health.ping") == 1
    finally:
        await db.close()

    typo = write_queries(tmp_path, {"typo.sql": "-- Serves a test.\nSELECT id FROM userz\n"})
    with pytest.raises(RuntimeError, match=r"^sql/typo: .*userz"):
        await connect(url, typo)


@pytest.mark.parametrize("pooler", ["direct", "transaction"])
async def test_named_statements_break_behind_the_pooler_and_the_setting_avoids_them(
    pgbouncer: Bouncer, database_url: str, pooler: str
) -> None:
    bouncer = pgbouncer(pool_size=2)
    url = bouncer.url(database_name(database_url))
    db = await connect(url, pooler=pooler)
    other = await asyncpg.connect(url, statement_cache_size=0)
    try:
        assert await db.fetchval("health.ping") == 1  # on the one server connection so far
        # Another client's open transaction holds that server connection: the next
        # statement of `db` runs on a second one, where a named statement does not exist.
        async with other.transaction():
            await other.execute("SELECT 1")
            if pooler == "direct":
                with pytest.raises(asyncpg.InvalidSQLStatementNameError):
                    await db.fetchval("health.ping")
            else:
                assert await db.fetchval("health.ping") == 1
    finally:
        await other.close()
        await db.close()


async def test_a_file_timeout_holds_on_the_server_for_its_transaction_only(
    pgbouncer: Bouncer, database_url: str, tmp_path: Path
) -> None:
    setting = "SELECT current_setting('statement_timeout')\n"
    queries = write_queries(
        tmp_path,
        {
            "timed.sql": f"-- Serves a test.\n-- timeout: 7\n{setting}",
            "plain.sql": f"-- Serves a test.\n{setting}",
            "slow.sql": "-- Serves a test.\n-- timeout: 0.3\nSELECT pg_sleep(3)\n",
        },
    )
    bouncer = pgbouncer(pool_size=1)  # one server connection: a leak would show
    db = await connect(bouncer.url(database_name(database_url)), queries)
    try:
        assert await db.fetchval("timed") == "7s"
        assert await db.fetchval("plain") == "0"
        async with db.transaction() as tx:
            assert await tx.fetchval("timed") == "7s"
        assert await db.fetchval("plain") == "0"
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            await db.fetchval("slow")
        assert time.monotonic() - started < 2.0
        assert await db.fetchval("plain") == "0"
    finally:
        await db.close()


async def test_two_instances_share_a_small_server_pool_under_the_mix(
    serve, servers: Servers, pgbouncer: Bouncer, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    bouncer = pgbouncer()
    name = database_name(database_url)
    tokens, admin = await arrange(database_url)
    env = {
        "ALPINE_DATABASE_URL": bouncer.url(name),
        "ALPINE_DATABASE_POOLER": "transaction",
        # 2 instances x 2 workers x 20: up to 80 client connections for 10 server ones.
        "ALPINE_DB_POOL_MIN": "5",
        "ALPINE_DB_POOL_MAX": "20",
        **LOAD_ENV,
    }
    first, second = serve(workers=2, **env), serve(workers=2, **env)
    users = list(tokens.items())
    loads = [LoadMix(s.url, dict(users[i::2]), admin) for i, s in enumerate((first, second))]
    backends = Backends(servers.admin_url, name)
    sampling = asyncio.create_task(backends.run())
    running = [asyncio.create_task(load.run()) for load in loads]
    await asyncio.sleep(2)
    # A burst on top of the mix: each worker's pool grows past its minimum, so far more
    # client connections than server ones wait their turn in PgBouncer.
    statuses = await burst([first.url, second.url], BURST, next(iter(tokens.values())))
    await asyncio.sleep(2)
    clients = await asyncio.to_thread(pooler_clients, bouncer, name)
    for load in loads:
        load.stop()
    ledgers = [await task for task in running]
    backends.stop()
    await sampling

    assert statuses == {200: 2 * BURST}
    assert clients > 2 * 2 * 5 > SERVER_POOL  # pools grew past their minimum of 5
    assert max(backends.samples) <= SERVER_POOL, backends.samples
    assert max(backends.samples) >= 3  # the load really reached PostgreSQL
    for ledger in ledgers:
        assert ledger.statuses().keys() <= OK, describe(ledger)
        assert not ledger.transport_errors, describe(ledger)
        assert len(ledger.answers) > 100, describe(ledger)
        integrity = await verify(database_url, ledger)
        assert integrity.missing == []
        assert integrity.checked > 20
        print(f"\nthrough pgbouncer: {describe(ledger)}; writes checked {integrity.checked}")
    print(f"pooler clients {clients}, peak PostgreSQL backends {max(backends.samples)}")


async def restart_under_load(
    serve: Callable[..., ServerProcess],
    database_url: str,
    bouncer: EmbeddedPgBouncer,
    stop: Callable[[], None],
    start: Callable[[], None],
) -> None:
    """Run the mix through `bouncer`, `stop()` a part mid-load, `start()` it 2 s later, and
    check what a restart must give: 503s within 2 s and no answer slower than the command
    timeout, no 500 and no dropped connection, recovery without action, every
    acknowledged write in the database; prints the figures."""
    tokens, admin = await arrange(database_url)
    server = serve(
        workers=2,
        ALPINE_DATABASE_URL=bouncer.url(database_name(database_url)),
        ALPINE_DATABASE_POOLER="transaction",
        **LOAD_ENV,
    )
    load = LoadMix(server.url, tokens, admin)
    running = asyncio.create_task(load.run())
    await asyncio.sleep(1.5)
    stop()
    stopped = time.monotonic()
    unhealthy = await poll(f"{server.url}/health", stopped + 8, 503)
    await asyncio.sleep(2.0)
    await asyncio.to_thread(start)
    back = time.monotonic()
    token = next(iter(tokens.values()))
    recovered, ledger = await recovery(server.url, token, load, running, back)

    assert unhealthy is not None and unhealthy < 2.0
    outage = ledger.between(stopped + 0.1, back)
    assert len(outage) > 30, describe(ledger)
    assert {a.status for a in outage} <= OK | {503}, describe(ledger)
    assert 503 in {a.status for a in outage}
    assert max(a.seconds for a in outage) < 6.0
    assert not [a for a in ledger.answers if a.status in (0, 500)], describe(ledger)
    assert recovered is not None and recovered < 10.0
    after = ledger.between(back + recovered + 1.0, time.monotonic())
    assert after and {a.status for a in after} <= OK, describe(ledger)
    async with httpx.AsyncClient(timeout=5) as http:
        assert (await http.get(f"{server.url}/health")).json()["status"] == "healthy"
    integrity = await verify(database_url, ledger)
    assert integrity.missing == []
    assert integrity.checked > 20
    slowest = max(a.seconds for a in outage if a.status == 503)
    report(
        f"503 after {unhealthy:.2f} s, slowest 503 {slowest:.2f} s, recovered in {recovered:.2f} s",
        ledger,
        outage,
        integrity.checked,
    )


async def test_pgbouncer_restart_under_load_503_fast_then_recovers(
    serve, pgbouncer: Bouncer, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    bouncer = pgbouncer()
    # Stopped: every client and server connection cut off at once, new ones refused.
    await restart_under_load(serve, database_url, bouncer, bouncer.stop, bouncer.start)


async def test_postgres_restart_behind_pgbouncer_503_fast_then_recovers(
    serve, private_postgres: tuple[EmbeddedPostgres, str]
) -> None:  # type: ignore[no-untyped-def]
    postgres, url = private_postgres
    bouncer = EmbeddedPgBouncer.in_front_of(url, postgres.requested_dir.parent / "pgbouncer")
    bouncer.start()
    try:
        # PgBouncer stays up: it cuts off the clients of the server connections PostgreSQL
        # closed and, while its login retry (1 s) is pending, refuses new statements at
        # once. A statement already queued in PgBouncer waits for the command timeout.
        await restart_under_load(serve, url, bouncer, postgres.stop, postgres.start)
    finally:
        bouncer.stop()
