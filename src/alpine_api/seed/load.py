"""The loading order of `alpine-api seed`: users, subscriptions and payments, signals and
their feed items, notifications; then the counts and statistics brought up to date."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from alpine_api.auth.passwords import hash_password
from alpine_api.seed import queries
from alpine_api.seed.bulk import Report, copy_chunks, fast_session, indexes_rebuilt_after, max_id
from alpine_api.seed.rows import (
    CHUNK_ROWS,
    NOTIFICATION_COLUMNS,
    PAYMENT_COLUMNS,
    PLAN_PRICES,
    SIGNAL_COLUMNS,
    SUBSCRIPTION_COLUMNS,
    USER_COLUMNS,
    Row,
    chunks,
    notification_maker,
    random_ages,
    signal_maker,
    user_maker,
)

SEED_PASSWORD = "alpine-demo-password"  # noqa: S105 - documented password of seeded users

# Demo data loaded by `alpine-api dev` on its first run (an empty signals table).
DEMO_USERS = 200
DEMO_SIGNALS = 300
DEMO_NOTIFICATIONS = 3_000


@dataclass
class SeedCounts:
    users: int = 0
    subscriptions: int = 0
    payments: int = 0
    signals: int = 0
    notifications: int = 0


async def _load_users(
    conn: asyncpg.Connection, count: int, now: datetime, rng: random.Random, report: Report
) -> tuple[int, list[asyncpg.Record]]:
    password_hash = await hash_password(SEED_PASSWORD)
    before = await max_id(conn, "users")
    tag = secrets.token_hex(3)  # keeps emails unique across seed runs
    maker = user_maker(now, rng, tag, password_hash)
    await copy_chunks(conn, "users", USER_COLUMNS, chunks(count, maker), report)
    rows = await conn.fetch(
        "SELECT id, tier::text AS tier, created_at FROM users"
        " WHERE id > $1 AND is_active ORDER BY id",
        before,
    )
    return count, rows


async def _load_subscriptions(
    conn: asyncpg.Connection, users: list[asyncpg.Record], now: datetime,
    rng: random.Random, report: Report,
) -> tuple[int, int]:  # fmt: skip
    paying = [u for u in users if u["tier"] != "starter"]
    if not paying:
        return 0, 0
    ages = random_ages(rng, len(paying), 180)
    starts = {u["id"]: max(u["created_at"], now - age) for u, age in zip(paying, ages, strict=True)}

    def make_subscriptions(start: int, n: int) -> list[Row]:
        rows: list[Row] = []
        for user in paying[start : start + n]:
            started = starts[user["id"]]
            months = (now - started).days // 30 + 1
            rows.append(
                (user["id"], user["tier"], "active", PLAN_PRICES[user["tier"]], "USD", started,
                 started + timedelta(days=30 * months))
            )  # fmt: skip
        return rows

    before = await max_id(conn, "subscriptions")
    subs = await copy_chunks(
        conn, "subscriptions", SUBSCRIPTION_COLUMNS,
        chunks(len(paying), make_subscriptions), report,
    )  # fmt: skip
    rows = await conn.fetch(
        "SELECT id, user_id, price_cents, started_at FROM subscriptions WHERE id > $1", before
    )

    def payments() -> Iterator[list[Row]]:
        chunk: list[Row] = []
        for sub in rows:
            paid_at = sub["started_at"]
            while paid_at <= now:
                chunk.append((sub["user_id"], sub["id"], sub["price_cents"], "USD", paid_at))
                paid_at += timedelta(days=30)
            if len(chunk) >= CHUNK_ROWS:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    paid = await copy_chunks(conn, "payments", PAYMENT_COLUMNS, payments(), report)
    return subs, paid


async def _load_signals(
    conn: asyncpg.Connection, count: int, now: datetime, rng: random.Random, report: Report
) -> None:
    before = await max_id(conn, "signals")
    await copy_chunks(
        conn, "signals", SIGNAL_COLUMNS, chunks(count, signal_maker(now, rng)), report
    )
    await queries.publish_loaded_signals(conn, after_id=before)


async def _active_users(conn: asyncpg.Connection, new_users: list[asyncpg.Record]) -> list[int]:
    """Active users: the ones just loaded, else those already there."""
    ids = [u["id"] for u in new_users]
    if not ids:
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM users WHERE is_active")]
    return ids


async def _load_all(
    conn: asyncpg.Connection,
    counts: SeedCounts,
    users: int,
    signals: int,
    notifications: int,
    now: datetime,
    rng: random.Random,
    report: Report,
) -> None:
    counts.users, user_rows = await _load_users(conn, users, now, rng, report)
    counts.subscriptions, counts.payments = await _load_subscriptions(
        conn, list(user_rows), now, rng, report
    )
    await _load_signals(conn, signals, now, rng, report)
    counts.signals = signals
    if not notifications:
        return
    if active := await _active_users(conn, list(user_rows)):
        maker = notification_maker(now, rng, active)
        counts.notifications = await copy_chunks(
            conn, "notifications", NOTIFICATION_COLUMNS, chunks(notifications, maker), report
        )


async def seed(
    database_url: str,
    *,
    users: int,
    signals: int,
    notifications: int = 0,
    progress: bool = True,
    random_seed: int | None = None,
) -> SeedCounts:
    """Load synthetic data into the database at `database_url` and ANALYZE it."""
    rng = random.Random(random_seed)  # noqa: S311 - synthetic data, not secrets
    now = datetime.now(UTC)
    counts = SeedCounts()
    totals = {"users": users, "signals": signals, "notifications": notifications}
    with Progress(
        TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), disable=not progress,
    ) as bar:  # fmt: skip
        tasks = {name: bar.add_task(name, total=total or None) for name, total in totals.items()}

        def report(table: str, rows: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=None)
            bar.advance(tasks[table], rows)

        conn = await asyncpg.connect(database_url)
        try:
            await fast_session(conn)
            incoming = {
                "users": users,
                "subscriptions": users // 3,
                "payments": users,
                "signals": signals,
                "signal_notifications": signals,
                "notifications": notifications,
            }
            async with indexes_rebuilt_after(conn, incoming) as dropped:
                await _load_all(conn, counts, users, signals, notifications, now, rng, report)
                if dropped:
                    bar.add_task(f"rebuilding {len(dropped)} indexes", total=None)
            # COPY under session_replication_role = replica fired no triggers.
            await queries.recount_users(conn)
            await conn.execute(
                "ANALYZE users, user_counts, subscriptions, payments, signals, notifications"
            )
            # The visibility map lets the unread count read the channel index-only.
            await conn.execute("VACUUM (ANALYZE) signal_notifications")
        finally:
            await conn.close()
    return counts


async def seed_demo_if_empty(database_url: str) -> SeedCounts | None:
    """The small demo data set of `alpine-api dev`, loaded only while there are no signals."""
    conn = await asyncpg.connect(database_url)
    try:
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM signals)"):
            return None
    finally:
        await conn.close()
    return await seed(
        database_url,
        users=DEMO_USERS,
        signals=DEMO_SIGNALS,
        notifications=DEMO_NOTIFICATIONS,
        progress=False,
    )
