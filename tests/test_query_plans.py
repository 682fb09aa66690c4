"""The indexes fit the queries: EXPLAIN on a seeded database, and one statement per
admin statistics endpoint (counted by pg_stat_statements).

The module runs its own PostgreSQL (pg_stat_statements must be preloaded at server
start), seeds it once through the seed module's COPY path (50k users, 200k signals and
their items in the tier channels, 500k notifications) and ANALYZEs it. Each list query
is planned twice: with its parameters known (a custom plan) and as the generic plan
PostgreSQL switches to for a prepared statement after a few executions; both must read
the expected index in page order (or, for a user's own few rows, a bitmap read and a
sort of those rows), with no sequential scan of the table and no sort of more than a
page (two for a feed, which merges two sources).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
import pytest
from litestar.testing import AsyncTestClient

from alpine_api.app import create_app
from alpine_api.config import load_settings
from alpine_api.db import load_queries, migrate
from alpine_api.embedded import EmbeddedPostgres
from alpine_api.pagination import FIRST_PAGE
from alpine_api.resources import SQL_DIR
from alpine_api.seed import seed
from tests.conftest import settings_env
from tests.support import bearer, insert_user

QUERIES = load_queries(SQL_DIR)
FETCH = 51
PLAN_MODES = ("force_custom_plan", "force_generic_plan")


@pytest.fixture(scope="module")
def plan_server() -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix="alpine-plans-"))
    root.chmod(0o755)  # PostgreSQL runs as `nobody` when the tests run as root
    postgres = EmbeddedPostgres(root / "postgres", fast=True)
    postgres.start()
    try:
        with psycopg.connect(postgres.dsn(), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        postgres.stop()
        postgres.start()
        url = postgres.ensure_database("plans")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
        migrate.apply(url)
        yield url
    finally:
        postgres.stop()


@pytest.fixture(scope="module")
async def seeded(plan_server: str) -> str:
    await seed(
        plan_server,
        users=50_000,
        signals=200_000,
        notifications=500_000,
        progress=False,
        random_seed=5,
    )
    return plan_server


@pytest.fixture
async def conn(seeded: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(seeded)
    yield connection
    await connection.close()


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


async def explain(
    conn: asyncpg.Connection, name: str, *args: Any, mode: str
) -> list[dict[str, Any]]:
    await conn.execute(f"SET plan_cache_mode = {mode}")
    statement = await conn.prepare(f"EXPLAIN (FORMAT JSON) {QUERIES[name].sql}")
    raw = await statement.fetchval(*args)
    return list(nodes(json.loads(raw)[0]["Plan"]))


def assert_index_plan(plan: list[dict[str, Any]], index: str, *, max_sorted: int = FETCH) -> None:
    """The index is read, no table is scanned sequentially, and nothing larger than
    `max_sorted` rows is sorted (a user's own dozen notifications may be; a table never)."""
    used = {n.get("Index Name") for n in plan if "Index" in n["Node Type"]}
    assert index in used, (index, plan)
    assert not [n for n in plan if n["Node Type"] == "Seq Scan"], plan
    for node in plan:
        if node["Node Type"] in ("Sort", "Incremental Sort"):
            assert node["Plans"][0]["Plan Rows"] <= max_sorted, plan


async def busiest_user(conn: asyncpg.Connection) -> int:
    return int(
        await conn.fetchval(
            "SELECT user_id FROM notifications GROUP BY user_id ORDER BY count(*) DESC LIMIT 1"
        )
    )


@pytest.mark.parametrize("mode", PLAN_MODES)
async def test_subscribed_signals_walk_the_partial_index(
    conn: asyncpg.Connection, mode: str
) -> None:
    first = (FIRST_PAGE.created_at, FIRST_PAGE.id, FETCH)
    for tier, confidence in (("starter", 0.0), ("pro", 0.85), ("elite", 0.5)):
        plan = await explain(conn, "signals.list_subscribed", tier, confidence, *first, mode=mode)
        assert_index_plan(plan, "idx_signal_active_confidence_created")
    cursor = await conn.fetchrow("SELECT created_at, id FROM signals ORDER BY random() LIMIT 1")
    plan = await explain(
        conn, "signals.list_subscribed", "pro", 0.85, cursor[0], cursor[1], FETCH, mode=mode
    )
    assert_index_plan(plan, "idx_signal_active_confidence_created")


@pytest.mark.parametrize("mode", PLAN_MODES)
async def test_symbol_queries_use_the_symbol_index(conn: asyncpg.Connection, mode: str) -> None:
    first = (FIRST_PAGE.created_at, FIRST_PAGE.id, FETCH)
    for symbol in ("BTC/USD", "CL-F"):  # the most and the least common symbol
        plan = await explain(
            conn, "signals.list_subscribed_by_symbol", "pro", 0.5, symbol, *first, mode=mode
        )
        assert_index_plan(plan, "idx_signal_symbol_created")
        plan = await explain(conn, "signals.admin_list_by_symbol", symbol, None, *first, mode=mode)
        assert_index_plan(plan, "idx_signal_symbol_created")


@pytest.mark.parametrize("mode", PLAN_MODES)
async def test_admin_signal_list_uses_the_created_index(
    conn: asyncpg.Connection, mode: str
) -> None:
    first = (FIRST_PAGE.created_at, FIRST_PAGE.id, FETCH)
    for is_active in (None, True, False):
        plan = await explain(conn, "signals.admin_list", is_active, *first, mode=mode)
        assert_index_plan(plan, "idx_signal_created")


async def feed_owners(conn: asyncpg.Connection) -> list[tuple[int, str, Any]]:
    """(id, tier, sign-up) of the user with the most own notifications and of the oldest
    account of each tier (the longest signal channel history)."""
    busiest = await busiest_user(conn)
    rows = await conn.fetch(
        "(SELECT id, tier::text, created_at FROM users WHERE id = $1)"
        " UNION ALL (SELECT DISTINCT ON (tier) id, tier::text, created_at FROM users"
        " ORDER BY tier, created_at)",
        busiest,
    )
    return [(r["id"], r["tier"], r["created_at"]) for r in rows]


@pytest.mark.parametrize("mode", PLAN_MODES)
async def test_feed_queries_read_both_sources_in_page_order(
    conn: asyncpg.Connection, mode: str
) -> None:
    """Own rows and the tier channel are each one index range in page order that stops
    at the page size; only the two pages' rows are merged (at most 2 x FETCH sorted)."""
    channel = "idx_signal_notif_audience_created"
    cursor = await conn.fetchrow(
        "SELECT created_at, id FROM signal_notifications ORDER BY created_at DESC OFFSET 500"
    )
    for user, tier, since in await feed_owners(conn):
        for after in ((FIRST_PAGE.created_at, FIRST_PAGE.id), (cursor[0], cursor[1])):
            args = (user, tier, since, *after, FETCH)
            plan = await explain(conn, "notifications.list", *args, mode=mode)
            assert_index_plan(plan, "idx_notif_user_created", max_sorted=2 * FETCH)
            assert_index_plan(plan, channel, max_sorted=2 * FETCH)
            plan = await explain(conn, "notifications.list_unread", *args, mode=mode)
            assert_index_plan(plan, "idx_notif_user_read_created", max_sorted=2 * FETCH)
            assert_index_plan(plan, channel, max_sorted=2 * FETCH)
        plan = await explain(conn, "notifications.unread_count", user, tier, since, mode=mode)
        assert_index_plan(plan, "idx_notif_user_read_created")
        assert_index_plan(plan, channel)
        plan = await explain(conn, "notifications.mark_read", 1, user, tier, since, mode=mode)
        assert_index_plan(plan, "signal_notifications_pkey")
        plan = await explain(conn, "notifications.mark_all_read", user, mode=mode)
        assert not [n for n in plan if n["Node Type"] == "Seq Scan"], plan


@pytest.mark.parametrize("mode", PLAN_MODES)
async def test_admin_user_lists_use_their_indexes(conn: asyncpg.Connection, mode: str) -> None:
    first = (FIRST_PAGE.created_at, FIRST_PAGE.id, FETCH)
    plan = await explain(conn, "users.admin_list", *first, mode=mode)
    assert_index_plan(plan, "idx_user_created")
    plan = await explain(conn, "users.admin_list_by_tier_active", "pro", True, *first, mode=mode)
    assert_index_plan(plan, "idx_user_tier_active")
    # One ordered scan per tier / activity, merged: at most a few pages are ever sorted.
    plan = await explain(conn, "users.admin_list_by_tier", "elite", *first, mode=mode)
    assert_index_plan(plan, "idx_user_tier_active", max_sorted=3 * FETCH)
    plan = await explain(conn, "users.admin_list_by_active", False, *first, mode=mode)
    assert_index_plan(plan, "idx_user_tier_active", max_sorted=3 * FETCH)
    plan = await explain(conn, "users.lock_active_admins", mode=mode)
    assert_index_plan(plan, "idx_user_active_admin")


async def test_active_subscription_lookup_uses_the_unique_index(conn: asyncpg.Connection) -> None:
    user = await conn.fetchval("SELECT user_id FROM subscriptions LIMIT 1")
    plan = await explain(conn, "subscriptions.get_active", user, mode="auto")
    assert_index_plan(plan, "subscriptions_one_active_per_user")


_COMMENT = re.compile(r"--[^\n]*")
_CONSTANT = re.compile(r"'(?:[^']|'')*'|\$\d+|\b\d+(?:\.\d+)?\b")


def _normalized(sql: str) -> str:
    """SQL as pg_stat_statements keeps it, comparable: no comments, constants as `?`."""
    return " ".join(_CONSTANT.sub("?", _COMMENT.sub(" ", sql)).split()).lower()


def _statement_names() -> dict[str, str]:
    """Normalized text of every query file -> the query's name."""
    return {_normalized(q.sql): q.name for q in QUERIES}


async def _statements(conn: asyncpg.Connection) -> dict[str, int]:
    """Calls per query file (by name) or per other statement text, since the last reset."""
    names = _statement_names()
    calls: dict[str, int] = {}
    rows = await conn.fetch(
        "SELECT query, calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
        " WHERE d.datname = current_database()"
    )
    for row in rows:
        key = names.get(_normalized(row["query"]), row["query"])
        calls[key] = calls.get(key, 0) + row["calls"]
    return calls


@pytest.mark.parametrize(
    ("path", "query", "tables"),
    [
        ("/api/admin/analytics", "admin.analytics", ("users",)),
        ("/api/admin/revenue", "admin.revenue", ("payments", "subscriptions")),
    ],
)
async def test_admin_statistics_run_one_statement(
    seeded: str, redis_url: str, conn: asyncpg.Connection, path: str, query: str,
    tables: tuple[str, ...],
) -> None:  # fmt: skip
    admin = await insert_user(conn, f"stats-{query}@example.com", is_admin=True)
    app = create_app(load_settings(settings_env(seeded, redis_url)))
    async with AsyncTestClient(app=app) as client:
        await conn.execute("SELECT pg_stat_statements_reset()")
        response = await client.get(path, headers=bearer(admin))
        assert response.status_code == 200 and response.headers["x-cache"] == "MISS"
        calls = await _statements(conn)
    ours = {name: n for name, n in calls.items() if name in _statement_names().values()}
    assert ours.pop(query, 0) == 1, calls
    # Besides the statistics statement, at most the caller's own authentication lookups
    # and the signal stream hub's own polling, which runs whatever the request.
    assert all(name.startswith(("auth.", "stream.")) for name in ours), ours
    others = [text for text in calls if text not in ours and text != query]
    for text in others:  # anything else is the reset call or connection housekeeping
        assert not any(table in text for table in tables), text
