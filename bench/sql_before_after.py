"""The SQL side of the report's before/after table, measured side by side in one run.

    ALPINE_DATABASE_URL=postgresql://... uv run python -m bench.sql_before_after [--runs 7]

Run it against a database seeded with `alpine-api seed --users 1000000 --signals 1000000
--notifications 5000000`. Every figure is the median wall time of `--runs` executions
(after one warm-up) of prepared statements over one asyncpg connection on loopback:
- user statistics: the eight separate COUNT queries of the old dashboard, one round trip
  each, vs one pass over users with count(*) FILTER, vs sql/admin/analytics.sql (one
  FILTER statement over the trigger-maintained user_counts rollup);
- revenue statistics: separate queries (four payment sums, then the active
  subscriptions per tier) vs sql/admin/revenue.sql (one statement);
- signal filtering (active, confidence >= 0.85, newest first, one page of 50) and the
  other list queries of the API, without vs with their indexes;
- user lookup by email without vs with the unique index.
"Without" runs inside a transaction that drops the indexes (or the unique constraint)
and is rolled back afterwards: nothing changes, nothing has to be rebuilt.
The table is printed and written to bench/results/sql_before_after.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from alpine_api.db import load_queries
from alpine_api.pagination import FIRST_PAGE
from alpine_api.resources import SQL_DIR

QUERIES = load_queries(SQL_DIR)
RESULTS = Path(__file__).parent / "results" / "sql_before_after.md"
PAGE = 51  # 50 items + 1 to know whether another page follows

_TODAY = "date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
_WEEK = "date_trunc('week', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
_MONTH = "date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
EIGHT_COUNTS = (
    "SELECT count(*) FROM users",
    "SELECT count(*) FROM users WHERE is_active",
    f"SELECT count(*) FROM users WHERE created_at >= {_TODAY}",
    f"SELECT count(*) FROM users WHERE created_at >= {_WEEK}",
    f"SELECT count(*) FROM users WHERE created_at >= {_MONTH}",
    "SELECT count(*) FROM users WHERE tier = 'starter'",
    "SELECT count(*) FROM users WHERE tier = 'pro'",
    "SELECT count(*) FROM users WHERE tier = 'elite'",
)
ONE_PASS = (  # the analytics statement before the user_counts rollup (one pass, FILTER)
    """
WITH bounds AS (
    SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS today,
           date_trunc('week', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS week,
           date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month
)
SELECT count(*)                                                          AS total_users,
       count(*) FILTER (WHERE is_active)                                 AS active_users,
       count(*) FILTER (WHERE created_at >= (SELECT today FROM bounds))  AS new_users_today,
       count(*) FILTER (WHERE created_at >= (SELECT week FROM bounds))   AS new_users_this_week,
       count(*) FILTER (WHERE created_at >= (SELECT month FROM bounds))  AS new_users_this_month,
       count(*) FILTER (WHERE tier = 'starter')                          AS starter,
       count(*) FILTER (WHERE tier = 'pro')                              AS pro,
       count(*) FILTER (WHERE tier = 'elite')                            AS elite,
       now()                                                             AS generated_at
FROM users
""",
)
REVENUE_QUERIES = (
    "SELECT coalesce(sum(amount_cents), 0) FROM payments",
    f"SELECT coalesce(sum(amount_cents), 0) FROM payments WHERE created_at >= {_TODAY}",
    f"SELECT coalesce(sum(amount_cents), 0) FROM payments WHERE created_at >= {_WEEK}",
    f"SELECT coalesce(sum(amount_cents), 0) FROM payments WHERE created_at >= {_MONTH}",
    "SELECT tier, count(*), sum(price_cents) FROM subscriptions WHERE status = 'active'"
    " GROUP BY tier",
)
SIGNAL_INDEXES = ("idx_signal_active_confidence_created", "idx_signal_symbol_created",
                  "idx_signal_created")  # fmt: skip
NOTIFICATION_INDEXES = ("idx_notif_user_read_created", "idx_notif_user_created")


async def median_ms(run: Callable[[], Awaitable[Any]], runs: int) -> float:
    await run()  # warm-up: plan cached, pages in memory
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def sequence(conn: asyncpg.Connection, statements: Sequence[str]) -> Callable[[], Any]:
    prepared = [await conn.prepare(sql) for sql in statements]

    async def run() -> None:
        for statement in prepared:
            await statement.fetch()

    return run


async def named(conn: asyncpg.Connection, name: str, *args: Any) -> Callable[[], Any]:
    statement = await conn.prepare(QUERIES[name].sql)

    async def run() -> None:
        await statement.fetch(*args)

    return run


async def without(
    conn: asyncpg.Connection, drops: Sequence[str], name: str, args: Sequence[Any], runs: int
) -> float:
    """Median of a named query while `drops` are undone, in a transaction rolled back after."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        for drop in drops:
            await conn.execute(drop)
        return await median_ms(await named(conn, name, *args), runs)
    finally:
        await transaction.rollback()


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}"


async def measure(url: str, runs: int) -> list[tuple[str, str, float, float]]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET plan_cache_mode = force_generic_plan")  # what pooled reuse gets
        first = (FIRST_PAGE.created_at, FIRST_PAGE.id, PAGE)
        busy_user = await conn.fetchval(
            "SELECT user_id FROM notifications WHERE user_id = (SELECT max(user_id) / 2 FROM"
            " notifications) LIMIT 1"
        ) or await conn.fetchval("SELECT user_id FROM notifications LIMIT 1")
        email = await conn.fetchval("SELECT email FROM users ORDER BY id DESC LIMIT 1")
        busy = await conn.fetchrow(
            "SELECT id, tier, created_at FROM users WHERE id = $1", busy_user
        )
        feed_owner = (
            (busy["id"], busy["tier"], busy["created_at"]) if busy else (0, "starter", None)
        )
        drop_signal = [f"DROP INDEX {name}" for name in SIGNAL_INDEXES]
        drop_notif = [f"DROP INDEX {name}" for name in NOTIFICATION_INDEXES]
        rows: list[tuple[str, str, float, float]] = []

        eight = await median_ms(await sequence(conn, EIGHT_COUNTS), runs)
        rows.append((
            "user statistics", "8 COUNT queries vs 1 FILTER pass over users",
            eight, await median_ms(await sequence(conn, ONE_PASS), runs),
        ))  # fmt: skip
        rows.append((
            "user statistics", "8 COUNT queries vs 1 FILTER statement over user_counts",
            eight, await median_ms(await named(conn, "admin.analytics"), runs),
        ))  # fmt: skip
        rows.append((
            "revenue statistics", f"{len(REVENUE_QUERIES)} queries vs 1 statement",
            await median_ms(await sequence(conn, REVENUE_QUERIES), runs),
            await median_ms(await named(conn, "admin.revenue"), runs),
        ))  # fmt: skip
        lists: list[tuple[str, list[str], str, tuple[Any, ...]]] = [
            ("signal filtering (active, confidence >= 0.85, newest 50)", drop_signal,
             "signals.list_subscribed", ("elite", 0.85, *first)),
            ("subscribed signals, one symbol", drop_signal,
             "signals.list_subscribed_by_symbol", ("pro", 0.0, "AAPL", *first)),
            ("admin signal list, newest 50", drop_signal, "signals.admin_list", (None, *first)),
            ("a user's notifications, newest 50", drop_notif, "notifications.list",
             (*feed_owner, *first)),
            ("a user's unread notifications", drop_notif, "notifications.list_unread",
             (*feed_owner, *first)),
            ("user lookup by email", ["ALTER TABLE users DROP CONSTRAINT users_email_key"],
             "users.get_by_email", (email,)),
        ]  # fmt: skip
        for label, drops, name, args in lists:
            before = await without(conn, drops, name, args, runs)
            after = await median_ms(await named(conn, name, *args), runs)
            rows.append((label, f"{name}: without vs with its index", before, after))
        return rows
    finally:
        await conn.close()


def table(rows: list[tuple[str, str, float, float]]) -> str:
    lines = [
        "| operation | compared | before (ms) | after (ms) | speed-up |",
        "|---|---|---:|---:|---:|",
    ]
    for label, compared, before, after in rows:
        lines.append(
            f"| {label} | {compared} | {before:.2f} | {after:.2f} | {before / after:.1f}x |"
        )
    return "\n".join(lines)


async def counts(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        sizes = [
            f"{table} {await conn.fetchval(f'SELECT count(*) FROM {table}'):,}"
            for table in ("users", "signals", "notifications", "subscriptions", "payments")
        ]
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    return f"PostgreSQL {version}; rows: {', '.join(sizes)}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url", default=os.environ.get("ALPINE_DATABASE_URL"))
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("set ALPINE_DATABASE_URL or pass --database-url")
    rows = asyncio.run(measure(args.database_url, args.runs))
    revision = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    report = "\n".join([
        f"SQL before/after, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {revision}",
        f"machine: {machine()}",
        asyncio.run(counts(args.database_url)),
        f"median of {args.runs} runs after one warm-up, prepared statements, one asyncpg"
        " connection over loopback (generic plans, as a pooled connection reuses them)",
        "",
        table(rows),
        "",
    ])  # fmt: skip
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)


if __name__ == "__main__":
    main()
