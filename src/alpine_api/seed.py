"""Synthetic data in bulk, loaded with COPY (asyncpg `copy_records_to_table`).

`alpine-api seed --users N --signals M [--notifications K]` adds, next to whatever is
there already:
- users: 70% starter, 22% pro, 8% elite; 93% active; sign-ups over the past year,
  more of them recent; every seeded user shares ONE password hash (hashing a million
  argon2id passwords would take hours), the password being SEED_PASSWORD;
- an active subscription for every pro and elite user, started within the past six
  months at the plan's price, with one payment per month since it started;
- signals over the past 180 days on ~40 symbols (a few popular ones dominate),
  55% long, confidence skewed high (sqrt of a uniform: 28% at 0.85 or more), tiers
  60/30/10%, older ones more often
  inactive;
- each signal's notification, once per tier channel that may see it (as publishing
  writes it: users' feeds derive signal notifications when read);
- personal notifications: 70% `billing`, 30% `system`, to active users over the past
  180 days, 70% of them read.

Rows are generated in chunks in a worker thread while the previous chunk is copied, so
Python and PostgreSQL work at the same time. Ids come from the tables' identity columns;
the rows just loaded are read back by id range to link the next table to them.
Finally the tables are ANALYZEd so the planner knows their new size at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import secrets
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from alpine_api.auth.passwords import hash_password
from alpine_api.config import TIERS
from alpine_api.db import load_queries
from alpine_api.resources import SQL_DIR

SEED_PASSWORD = "alpine-demo-password"  # noqa: S105 - documented password of seeded users
CHUNK_ROWS = 50_000
BULK_MIN_ROWS = 100_000  # smaller loads keep the indexes in place
DAY = 86_400.0

# Demo data loaded by `alpine-api dev` on its first run (an empty signals table).
DEMO_USERS = 200
DEMO_SIGNALS = 300
DEMO_NOTIFICATIONS = 3_000

PLAN_PRICES = {"starter": 1900, "pro": 4900, "elite": 14900}
USER_TIER_WEIGHTS = (0.70, 0.22, 0.08)
SIGNAL_TIER_WEIGHTS = (0.60, 0.30, 0.10)
# symbol, typical price; earlier symbols are drawn far more often (Zipf-like weights)
SYMBOLS: tuple[tuple[str, float], ...] = (
    ("BTC/USD", 64000), ("ETH/USD", 3200), ("AAPL", 190), ("NVDA", 120), ("TSLA", 240),
    ("SPY", 520), ("QQQ", 440), ("MSFT", 420), ("EUR/USD", 1.08), ("SOL/USD", 150),
    ("AMZN", 180), ("META", 500), ("GOOGL", 170), ("GBP/USD", 1.27), ("USD/JPY", 151),
    ("XAU/USD", 2350), ("AMD", 160), ("NFLX", 620), ("COIN", 230), ("BRK.B", 410),
    ("JPM", 195), ("V", 275), ("XRP/USD", 0.52), ("DOGE/USD", 0.15), ("ADA/USD", 0.45),
    ("AVGO", 1350), ("ORCL", 125), ("INTC", 31), ("BA", 180), ("DIS", 105),
    ("WMT", 60), ("KO", 62), ("PEP", 170), ("XOM", 115), ("CVX", 158),
    ("USD/CHF", 0.91), ("AUD/USD", 0.66), ("LTC/USD", 82), ("DOT/USD", 7.1), ("CL-F", 79),
)  # fmt: skip
SYMBOL_WEIGHTS = tuple(1 / (rank + 1) for rank in range(len(SYMBOLS)))
FIRST_NAMES = (
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Kira", "Liam", "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sam", "Tariq",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Berg", "Costa", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen",
    "Kowalski", "Lopez", "Moreau", "Novak", "Okafor", "Patel", "Rossi", "Schmidt", "Tanaka",
    "Weber",
)  # fmt: skip
NOTES = (
    "Breakout above resistance on rising volume.",
    "Pullback to the 50-day average; trend intact.",
    "Earnings momentum; tight stop below the gap.",
    "Range low retest, risk defined.",
    None, None, None,
)  # fmt: skip
BILLING_MESSAGES = (
    ("Payment received", "Thank you: your monthly plan payment went through."),
    ("Plan renewed", "Your plan renewed for another month."),
)
SYSTEM_MESSAGES = (
    ("Scheduled maintenance", "The service will be briefly unavailable on Sunday 02:00 UTC."),
    ("New feature", "Signals can now be filtered by symbol."),
    ("Welcome", "Your account is ready. Signals for your tier appear in your feed."),
)
USER_COLUMNS = (
    "email",
    "password_hash",
    "full_name",
    "tier",
    "is_active",
    "created_at",
    "updated_at",
)

SIGNAL_COLUMNS = (
    "symbol",
    "direction",
    "entry_price",
    "target_price",
    "stop_loss",
    "confidence",
    "tier",
    "is_active",
    "note",
    "created_at",
    "updated_at",
)

SUBSCRIPTION_COLUMNS = (
    "user_id",
    "tier",
    "status",
    "price_cents",
    "currency",
    "started_at",
    "current_period_end",
)

PAYMENT_COLUMNS = ("user_id", "subscription_id", "amount_cents", "currency", "created_at")
NOTIFICATION_COLUMNS = ("user_id", "kind", "title", "body", "signal_id", "is_read", "created_at")


Row = tuple[Any, ...]
Report = Callable[[str, int], None]


@dataclass
class SeedCounts:
    users: int = 0
    subscriptions: int = 0
    payments: int = 0
    signals: int = 0
    notifications: int = 0


Make = Callable[[int, int], list[Row]]  # (first row number, count) -> rows


def _chunks(total: int, make: Make) -> Iterator[list[Row]]:
    for start in range(0, total, CHUNK_ROWS):
        yield make(start, min(CHUNK_ROWS, total - start))


async def _copy(
    conn: asyncpg.Connection,
    table: str,
    columns: Sequence[str],
    chunks: Iterator[list[Row]],
    report: Report,
) -> int:
    """COPY every chunk; the next chunk is generated in a thread during each COPY."""
    done = 0

    def next_chunk() -> list[Row] | None:
        return next(chunks, None)

    pending = asyncio.create_task(asyncio.to_thread(next_chunk))
    while (chunk := await pending) is not None:
        pending = asyncio.create_task(asyncio.to_thread(next_chunk))
        await conn.copy_records_to_table(table, records=chunk, columns=columns)
        done += len(chunk)
        report(table, len(chunk))
    return done


def _cumulative(weights: Sequence[float]) -> list[float]:
    return list(itertools.accumulate(weights))


def _randoms(rng: random.Random, n: int) -> list[float]:
    return [rng.random() for _ in range(n)]


def _ages(rng: random.Random, n: int, days: float, power: float = 1.0) -> list[timedelta]:
    """`n` ages up to `days`, skewed towards zero (recent) when power > 1."""
    return [timedelta(seconds=(r**power) * days * DAY) for r in [rng.random() for _ in range(n)]]


def _user_maker(now: datetime, rng: random.Random, tag: str, password_hash: str) -> Make:
    tier_weights = _cumulative(USER_TIER_WEIGHTS)

    def make(start: int, n: int) -> list[Row]:
        firsts = rng.choices(FIRST_NAMES, k=n)
        lasts = rng.choices(LAST_NAMES, k=n)
        tiers = rng.choices(TIERS, cum_weights=tier_weights, k=n)
        ages = _ages(rng, n, 365, power=2.0)
        return [
            (
                f"{first.lower()}.{last.lower()}.{start + i}.{tag}@example.com",
                password_hash,
                f"{first} {last}",
                tiers[i],
                rng.random() < 0.93,
                now - ages[i],
                now - ages[i],
            )
            for i, (first, last) in enumerate(zip(firsts, lasts, strict=True))
        ]

    return make


def _signal_maker(now: datetime, rng: random.Random) -> Make:
    symbol_weights = _cumulative(SYMBOL_WEIGHTS)
    tier_weights = _cumulative(SIGNAL_TIER_WEIGHTS)
    span = 180 * DAY

    def make(_start: int, n: int) -> list[Row]:
        symbols = rng.choices(SYMBOLS, cum_weights=symbol_weights, k=n)
        longs = [r < 0.55 for r in _randoms(rng, n)]
        entries = [
            round(price * (0.92 + 0.16 * r), 6)
            for (_, price), r in zip(symbols, _randoms(rng, n), strict=True)
        ]
        moves = [0.02 + 0.10 * r for r in _randoms(rng, n)]  # target distance, share of entry
        risks = [0.01 + 0.05 * r for r in _randoms(rng, n)]  # stop distance, share of entry
        ages = _randoms(rng, n)
        created = [now - timedelta(seconds=age * span) for age in ages]
        return list(
            zip(
                [symbol for symbol, _ in symbols],
                ["long" if long else "short" for long in longs],
                entries,
                [round(e * (1 + m if lg else 1 - 0.9 * m), 6)
                 for e, m, lg in zip(entries, moves, longs, strict=True)],
                [round(e * (1 - r if lg else 1 + r), 6)
                 for e, r, lg in zip(entries, risks, longs, strict=True)],
                [round(r**0.5, 4) for r in _randoms(rng, n)],  # skewed high: P(>= 0.85) ~ 28%
                rng.choices(TIERS, cum_weights=tier_weights, k=n),
                # older signals are more often closed
                [r > age * 0.4 for r, age in zip(_randoms(rng, n), ages, strict=True)],
                rng.choices(NOTES, k=n),
                created,
                created,
                strict=True,
            )
        )  # fmt: skip

    return make


# The signal items of the signals just loaded, as sql/signals/publish_notification.sql
# writes one at publishing: one id per signal, one row per tier channel that may see it.
PUBLISH_LOADED_SIGNALS = """
WITH item AS (
    SELECT id AS signal_id, tier, created_at, nextval('notifications_id_seq') AS id,
           'New ' || direction || ' signal: ' || symbol AS title,
           'A ' || direction || ' signal on ' || symbol || ' is in your feed.' AS body
    FROM signals
    WHERE id > $1
)
INSERT INTO signal_notifications (audience, id, signal_id, title, body, created_at)
SELECT audience, item.id, item.signal_id, item.title, item.body, item.created_at
FROM item
CROSS JOIN LATERAL unnest(enum_range(item.tier, NULL)) AS audience
"""


def _notification_maker(now: datetime, rng: random.Random, users: list[int]) -> Make:
    """Rows of one chunk, drawn in bulk per kind (C-level loops, not per row)."""

    def rows(kind: str, n: int) -> list[Row]:
        messages = rng.choices(SYSTEM_MESSAGES if kind == "system" else BILLING_MESSAGES, k=n)
        return list(
            zip(
                rng.choices(users, k=n),
                itertools.repeat(kind),
                [title for title, _ in messages],
                [body for _, body in messages],
                itertools.repeat(None),
                [r < 0.7 for r in _randoms(rng, n)],
                [now - age for age in _ages(rng, n, 180)],
            )
        )

    def make(_start: int, n: int) -> list[Row]:
        billing = sum(r < 0.7 for r in _randoms(rng, n))
        return rows("billing", billing) + rows("system", n - billing)

    return make


async def _fast_session(conn: asyncpg.Connection) -> bool:
    """Skip foreign-key triggers for this session when allowed (superuser): the seed links
    rows only to ids it has just read back, so the checks could not fail. True if skipped."""
    await conn.execute("SET maintenance_work_mem = '512MB'")
    try:
        await conn.execute("SET session_replication_role = replica")
    except asyncpg.InsufficientPrivilegeError:
        return False
    return True


@contextlib.asynccontextmanager
async def _indexes_rebuilt_after(
    conn: asyncpg.Connection, incoming: dict[str, int]
) -> AsyncIterator[list[str]]:
    """Bulk-load practice: for each table about to (at least) double, drop its secondary
    non-unique indexes and rebuild them from their own definitions afterwards (one sort
    per index instead of millions of random insertions). Unique and primary-key indexes
    stay: they enforce rules. The rebuild runs even when the load fails."""
    dropped: list[tuple[str, str]] = []
    for table, rows in incoming.items():
        existing = await conn.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM " + table + " LIMIT $1) t", rows + 1
        )
        if rows < BULK_MIN_ROWS or existing > rows:
            continue
        for name, definition in await conn.fetch(
            "SELECT c.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x"
            " JOIN pg_class c ON c.oid = x.indexrelid"
            " WHERE x.indrelid = $1::regclass AND NOT x.indisunique AND NOT x.indisprimary",
            table,
        ):
            await conn.execute(f'DROP INDEX "{name}"')
            dropped.append((name, definition))
    try:
        yield [name for name, _ in dropped]
    finally:
        for _name, definition in dropped:
            await conn.execute(definition)


async def _max_id(conn: asyncpg.Connection, table: str) -> int:
    return int(await conn.fetchval(f"SELECT coalesce(max(id), 0) FROM {table}"))


async def _load_users(
    conn: asyncpg.Connection, count: int, now: datetime, rng: random.Random, report: Report
) -> tuple[int, list[asyncpg.Record]]:
    password_hash = await hash_password(SEED_PASSWORD)
    before = await _max_id(conn, "users")
    tag = secrets.token_hex(3)  # keeps emails unique across seed runs
    maker = _user_maker(now, rng, tag, password_hash)
    await _copy(conn, "users", USER_COLUMNS, _chunks(count, maker), report)
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
    ages = _ages(rng, len(paying), 180)
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

    before = await _max_id(conn, "subscriptions")
    subs = await _copy(
        conn, "subscriptions", SUBSCRIPTION_COLUMNS,
        _chunks(len(paying), make_subscriptions), report,
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

    paid = await _copy(conn, "payments", PAYMENT_COLUMNS, payments(), report)
    return subs, paid


async def _load_signals(
    conn: asyncpg.Connection, count: int, now: datetime, rng: random.Random, report: Report
) -> None:
    before = await _max_id(conn, "signals")
    await _copy(conn, "signals", SIGNAL_COLUMNS, _chunks(count, _signal_maker(now, rng)), report)
    await conn.execute(PUBLISH_LOADED_SIGNALS, before)


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
        maker = _notification_maker(now, rng, active)
        counts.notifications = await _copy(
            conn, "notifications", NOTIFICATION_COLUMNS, _chunks(notifications, maker), report
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
            await _fast_session(conn)
            incoming = {
                "users": users,
                "subscriptions": users // 3,
                "payments": users,
                "signals": signals,
                "signal_notifications": signals,
                "notifications": notifications,
            }
            async with _indexes_rebuilt_after(conn, incoming) as dropped:
                await _load_all(conn, counts, users, signals, notifications, now, rng, report)
                if dropped:
                    bar.add_task(f"rebuilding {len(dropped)} indexes", total=None)
            # COPY under session_replication_role = replica fired no triggers.
            await conn.execute(load_queries(SQL_DIR)["admin.recount_users"].sql)
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
