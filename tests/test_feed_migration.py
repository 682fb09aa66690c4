"""Moving a database with per-user signal notifications (the model before derived feeds)
to derived signal notifications, and back: every feed keeps every notification with its
read state, and shows none twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import psycopg
import pytest
from yoyo import get_backend, read_migrations

from alpine_api.config import to_migration_url
from alpine_api.db import load_queries
from alpine_api.pagination import FIRST_PAGE
from alpine_api.resources import MIGRATIONS_DIR, SQL_DIR
from tests.test_migrations import MIGRATION_IDS, empty_database, migrate

__all__ = ["empty_database"]  # the fixture, used by name

LIST = load_queries(SQL_DIR)["notifications.list"].sql
LAST_OLD_MIGRATION = "0013_user_counts"
# The publishing statement of the old model (one row per active user at or above the
# tier), over the users that existed when the signal was published.
OLD_FAN_OUT = """
INSERT INTO notifications (user_id, kind, title, body, signal_id, created_at)
SELECT id, 'signal', 'New ' || %(tier)s || ' signal', 'Body', %(signal)s, %(at)s
FROM users WHERE is_active AND tier >= %(tier)s::tier AND created_at < %(at)s ORDER BY id
"""
START = datetime(2026, 1, 1, tzinfo=UTC)
USERS = [  # email, tier at publishing, signed up (days after START), active
    ("s@example.com", "starter", 0, True),
    ("p@example.com", "pro", 0, True),
    ("e@example.com", "elite", 0, True),
    ("late@example.com", "elite", 15, True),
    ("off@example.com", "pro", 0, False),
]
SIGNALS = [("starter", 1), ("pro", 2), ("elite", 3), ("starter", 10), ("pro", 20)]  # tier, day
# One feed entry: (signal id or own row id, kind, read).
Entry = tuple[int | None, str, bool]


def apply_old_schema(url: str) -> None:
    backend = get_backend(to_migration_url(url))
    try:
        migrations = read_migrations(str(MIGRATIONS_DIR))
        old = [m for m in backend.to_apply(migrations) if m.id <= LAST_OLD_MIGRATION]
        with backend.lock():
            backend.apply_migrations(migrations.__class__(old))
    finally:
        backend.connection.close()


def arrange_old_data(url: str) -> dict[str, int]:
    """Users, signals published the old way (some rows read, a billing row, a signal row
    older than its user's account as old seeds made), then one downgrade."""
    ids: dict[str, int] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for email, tier, day, active in USERS:
            row = conn.execute(
                "INSERT INTO users (email, password_hash, tier, is_active, created_at)"
                " VALUES (%s, 'x', %s, %s, %s) RETURNING id",
                (email, tier, active, START + timedelta(days=day)),
            ).fetchone()
            assert row
            ids[email] = row[0]
        for n, (tier, day) in enumerate(SIGNALS):
            at = START + timedelta(days=day)
            row = conn.execute(
                "INSERT INTO signals (symbol, direction, entry_price, target_price, stop_loss,"
                " confidence, tier, created_at) VALUES ('AAPL', 'long', 100, 110, 95, 0.5, %s,"
                " %s) RETURNING id",
                (tier, at),
            ).fetchone()
            assert row
            conn.execute(OLD_FAN_OUT, {"tier": tier, "signal": row[0], "at": at})
            if n < 3:  # the first signals were read by their first two recipients
                conn.execute(
                    "UPDATE notifications SET is_read = true WHERE id IN (SELECT id FROM"
                    " notifications WHERE signal_id = %s ORDER BY user_id LIMIT 2)",
                    (row[0],),
                )
        conn.execute(
            "INSERT INTO notifications (user_id, kind, title, body, signal_id, is_read,"
            " created_at) SELECT %s, 'signal', 'Old', 'Body', id, true, created_at"
            " FROM signals WHERE created_at < %s LIMIT 1",
            (ids["late@example.com"], START + timedelta(days=15)),
        )
        conn.execute(
            "INSERT INTO notifications (user_id, kind, title, body, created_at)"
            " VALUES (%s, 'billing', 'Paid', 'Thanks', %s)",
            (ids["p@example.com"], START + timedelta(days=5)),
        )
        conn.execute("UPDATE users SET tier = 'pro' WHERE id = %s", (ids["e@example.com"],))
    return ids


def old_feeds(url: str) -> dict[int, list[Entry]]:
    """Each user's feed in the old model, restricted to what the derived model shows: own
    rows, and signal rows of signals the user's current tier can see."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT n.user_id, CASE WHEN n.kind = 'signal' THEN n.signal_id ELSE n.id END,"
            " n.kind, n.is_read FROM notifications n JOIN users u ON u.id = n.user_id"
            " LEFT JOIN signals s ON s.id = n.signal_id"
            " WHERE s.id IS NULL OR s.tier <= u.tier ORDER BY 1, 2"
        ).fetchall()
    feeds: dict[int, list[Entry]] = {}
    for user_id, key, kind, is_read in rows:
        feeds.setdefault(user_id, []).append((key, kind, is_read))
    return feeds


async def new_feeds(url: str) -> dict[int, list[Entry]]:
    """Each user's feed read through the service's own list query."""
    conn = await asyncpg.connect(url)
    try:
        feeds: dict[int, list[Entry]] = {}
        for user in await conn.fetch("SELECT id, tier, created_at FROM users ORDER BY id"):
            items: list[Any] = await conn.fetch(
                LIST, user["id"], user["tier"], user["created_at"],
                FIRST_PAGE.created_at, FIRST_PAGE.id, 100,
            )  # fmt: skip
            ids = [i["id"] for i in items]
            assert len(ids) == len(set(ids)), items  # unique ids in one feed
            entries = sorted(
                (i["signal_id"] if i["kind"] == "signal" else i["id"], i["kind"], i["is_read"])
                for i in items
            )
            if entries:
                feeds[user["id"]] = entries
        return feeds
    finally:
        await conn.close()


def assert_same_feeds(
    feeds: dict[int, list[Entry]], expected: dict[int, list[Entry]], *, inactive: int
) -> None:
    """Equal feeds, except that an inactive user (whom the old fan-out skipped) may now
    also have the signals published while they were inactive."""
    assert {k: v for k, v in feeds.items() if k != inactive} == {
        k: v for k, v in expected.items() if k != inactive
    }
    assert set(feeds[inactive]) >= set(expected.get(inactive, []))
    assert len(feeds[inactive]) > len(expected.get(inactive, []))


@pytest.fixture
def old_database(empty_database: str) -> Iterator[tuple[str, dict[str, int]]]:
    apply_old_schema(empty_database)
    yield empty_database, arrange_old_data(empty_database)


async def test_migration_keeps_every_feed_and_rolls_back(
    old_database: tuple[str, dict[str, int]],
) -> None:
    url, ids = old_database
    before = old_feeds(url)
    assert sum(e[2] for f in before.values() for e in f) >= 4  # some were read

    result = migrate(url, "apply")
    assert result.returncode == 0, result.stderr
    assert_same_feeds(await new_feeds(url), before, inactive=ids["off@example.com"])
    with psycopg.connect(url) as conn:
        # Only the row the derived feed cannot show stays per user: the old signal row
        # of an account that is younger than the signal.
        kept = conn.execute("SELECT user_id FROM notifications WHERE kind = 'signal'").fetchall()
        assert kept == [(ids["late@example.com"],)]
        # The downgraded user's read mark on a hidden elite signal is kept for an upgrade.
        conn.execute("UPDATE users SET tier = 'elite' WHERE id = %s", (ids["e@example.com"],))
        conn.commit()
    restored = await new_feeds(url)
    elite = [e for e in restored[ids["e@example.com"]] if e[0] == 3]
    assert elite == [(3, "signal", True)]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE users SET tier = 'pro' WHERE id = %s", (ids["e@example.com"],))

    # Roll back everything after the old schema (later migrations of other areas too).
    newer = [m for m in MIGRATION_IDS if m > LAST_OLD_MIGRATION]
    result = migrate(url, "rollback", "--count", str(len(newer)))
    assert result.returncode == 0, result.stderr
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('signal_notifications')").fetchone() == (None,)
    # Back to per-user rows: every feed as before.
    assert_same_feeds(old_feeds(url), before, inactive=ids["off@example.com"])
    assert migrate(url, "apply").returncode == 0
