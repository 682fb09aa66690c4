"""Notifications: the caller's feed (own rows and derived signal items, unread filter,
keyset pages), unread count, mark one / all read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from alpine_api.config import TIERS
from alpine_api.db import load_queries
from alpine_api.resources import SQL_DIR
from tests.support import bearer, insert_user, pages

Client = AsyncTestClient  # type: ignore[type-arg]
PUBLISH = load_queries(SQL_DIR)["signals.publish_notification"].sql


async def notify(
    db: asyncpg.Connection,
    user_id: int,
    *,
    is_read: bool = False,
    created_at: datetime | None = None,
) -> int:
    notification_id = await db.fetchval(
        "INSERT INTO notifications (user_id, kind, title, body, is_read, created_at)"
        " VALUES ($1, 'system', 'Hello', 'Body', $2, coalesce($3, now())) RETURNING id",
        user_id,
        is_read,
        created_at,
    )
    return int(notification_id)


async def publish(db: asyncpg.Connection, tier: str, created_at: datetime) -> int:
    """A signal as POST /api/signals publishes it; returns its notification's id."""
    signal_id = await db.fetchval(
        "INSERT INTO signals (symbol, direction, entry_price, target_price, stop_loss,"
        " confidence, tier, created_at) VALUES ('AAPL', 'long', 100, 110, 95, 0.5, $1, $2)"
        " RETURNING id",
        tier,
        created_at,
    )
    await db.execute(PUBLISH, signal_id, tier, f"New {tier} signal", "Body")
    item = await db.fetchval(
        "SELECT id FROM signal_notifications WHERE signal_id = $1 LIMIT 1", signal_id
    )
    return int(item)


async def signed_up(db: asyncpg.Connection, email: str, at: datetime, tier: str) -> int:
    user_id = await insert_user(db, email, tier=tier)
    await db.execute("UPDATE users SET created_at = $2 WHERE id = $1", user_id, at)
    return user_id


async def feed(client: Client, user_id: int, query: str = "") -> list[dict[str, object]]:
    response = await client.get(f"/api/notifications?limit=100{query}", headers=bearer(user_id))
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def unread_count(client: Client, user_id: int) -> int:
    response = await client.get("/api/notifications/unread-count", headers=bearer(user_id))
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"unread"}
    return int(response.json()["unread"])


async def test_needs_a_user(client: Client) -> None:
    for method, path in [
        ("GET", "/api/notifications"),
        ("GET", "/api/notifications/unread-count"),
        ("POST", "/api/notifications/1/read"),
        ("POST", "/api/notifications/read-all"),
    ]:
        response = await client.request(method, path)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


async def test_lists_only_own_newest_first_over_ties(
    client: Client, db: asyncpg.Connection
) -> None:
    me = await insert_user(db, "me@example.com")
    other = await insert_user(db, "other@example.com")
    tied = datetime(2026, 5, 1, tzinfo=UTC)
    mine = [await notify(db, me, created_at=tied, is_read=i % 2 == 0) for i in range(5)]
    newest = await notify(db, me, created_at=datetime(2026, 6, 1, tzinfo=UTC))
    await notify(db, other)

    result = await pages(client, "/api/notifications?limit=2", bearer(me))
    assert [len(p) for p in result] == [2, 2, 2]
    assert [i for p in result for i in p] == [newest, *sorted(mine, reverse=True)]

    unread = await pages(client, "/api/notifications?unread=true&limit=1", bearer(me))
    expected = [newest, *sorted(mine[1::2], reverse=True)]
    assert [i for p in unread for i in p] == expected

    response = await client.get("/api/notifications?limit=1", headers=bearer(me))
    item = response.json()["items"][0]
    assert set(item) == {"id", "kind", "title", "body", "signal_id", "is_read", "created_at"}
    assert item["kind"] == "system" and item["signal_id"] is None and item["is_read"] is False


async def test_bad_parameters_are_400(client: Client, db: asyncpg.Connection) -> None:
    me = bearer(await insert_user(db, "me@example.com"))
    for query, field in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("cursor=%%%", "cursor"),
        ("unread=perhaps", "unread"),
    ]:
        response = await client.get(f"/api/notifications?{query}", headers=me)
        assert response.status_code == 400 and field in response.text, query


async def test_mark_read_is_idempotent_and_private(client: Client, db: asyncpg.Connection) -> None:
    me = await insert_user(db, "me@example.com")
    other = await insert_user(db, "other@example.com")
    mine = await notify(db, me)
    theirs = await notify(db, other)

    for _ in range(2):
        response = await client.post(f"/api/notifications/{mine}/read", headers=bearer(me))
        assert response.status_code == 204 and response.content == b""
    assert await db.fetchval("SELECT is_read FROM notifications WHERE id = $1", mine) is True

    response = await client.post(f"/api/notifications/{theirs}/read", headers=bearer(me))
    assert response.status_code == 404
    assert await db.fetchval("SELECT is_read FROM notifications WHERE id = $1", theirs) is False
    missing = await client.post("/api/notifications/999999/read", headers=bearer(me))
    assert missing.status_code == 404
    bad = await client.post("/api/notifications/0/read", headers=bearer(me))
    assert bad.status_code == 400


async def test_read_all_counts_only_own_unread(client: Client, db: asyncpg.Connection) -> None:
    me = await insert_user(db, "me@example.com")
    other = await insert_user(db, "other@example.com")
    for i in range(4):
        await notify(db, me, is_read=i == 0)
    await notify(db, other)

    assert await unread_count(client, me) == 3
    response = await client.post("/api/notifications/read-all", headers=bearer(me))
    assert response.status_code == 200 and response.json() == {"updated": 3}
    assert [item["is_read"] for item in await feed(client, me)] == [True] * 4
    assert await feed(client, me, "&unread=true") == []
    assert await unread_count(client, me) == 0
    assert await unread_count(client, other) == 1  # another user's state is untouched
    again = await client.post("/api/notifications/read-all", headers=bearer(me))
    assert again.json() == {"updated": 0}
    # One row written, whatever the number of notifications: the watermark.
    assert await db.fetchval("SELECT count(*) FROM notification_read_state") == 1


async def test_feed_derives_signal_items_by_current_tier_and_sign_up(
    client: Client, db: asyncpg.Connection, redis: Redis
) -> None:
    start = datetime.now(UTC) - timedelta(days=10)
    before_sign_up = await publish(db, "starter", start - timedelta(days=1))
    items = {tier: await publish(db, tier, start + timedelta(days=1)) for tier in TIERS}
    me = await signed_up(db, "me@example.com", start, "starter")
    pro = await signed_up(db, "pro@example.com", start, "pro")
    assert await db.fetchval("SELECT count(*) FROM notifications") == 0  # no per-user rows

    mine = await feed(client, me)
    assert [item["id"] for item in mine] == [items["starter"]]
    assert mine[0]["kind"] == "signal" and mine[0]["is_read"] is False
    assert mine[0]["signal_id"] is not None and before_sign_up not in {i["id"] for i in mine}
    assert {i["id"] for i in await feed(client, pro)} == {items["starter"], items["pro"]}
    assert await unread_count(client, pro) == 2

    # A signal the tier cannot see, or published before the account, is not the user's.
    for hidden in (items["pro"], before_sign_up):
        response = await client.post(f"/api/notifications/{hidden}/read", headers=bearer(me))
        assert response.status_code == 404
    assert await db.fetchval("SELECT count(*) FROM signal_notification_reads") == 0

    # The current tier decides: an upgrade shows the higher tier's earlier signals.
    await db.execute("UPDATE users SET tier = 'elite' WHERE id = $1", me)
    await redis.flushall()  # drop the cached user record, as a tier change through the API does
    assert {i["id"] for i in await feed(client, me)} == set(items.values())
    # A deactivated signal stays in the feed.
    await db.execute("UPDATE signals SET is_active = false")
    assert len(await feed(client, pro)) == 2


async def test_mark_read_and_read_all_over_signal_items(
    client: Client, db: asyncpg.Connection
) -> None:
    start = datetime.now(UTC) - timedelta(days=10)
    me = await signed_up(db, "me@example.com", start, "pro")
    other = await signed_up(db, "other@example.com", start, "pro")
    first = await publish(db, "starter", start + timedelta(days=1))
    second = await publish(db, "pro", start + timedelta(days=2))
    assert await unread_count(client, me) == 2

    for _ in range(2):
        response = await client.post(f"/api/notifications/{second}/read", headers=bearer(me))
        assert response.status_code == 204
    assert {i["id"]: i["is_read"] for i in await feed(client, me)} == {first: False, second: True}
    assert [i["id"] for i in await feed(client, me, "&unread=true")] == [first]
    assert await unread_count(client, me) == 1
    assert await unread_count(client, other) == 2  # read state is per user

    response = await client.post("/api/notifications/read-all", headers=bearer(me))
    assert response.json() == {"updated": 1}
    assert await unread_count(client, me) == 0
    # A signal published after read-all is unread.
    later = await publish(db, "pro", datetime.now(UTC) + timedelta(seconds=1))
    assert [i["id"] for i in await feed(client, me, "&unread=true")] == [later]
    assert await unread_count(client, me) == 1


async def test_pages_mix_own_rows_and_signal_items_at_page_boundaries(
    client: Client, db: asyncpg.Connection
) -> None:
    start = datetime.now(UTC) - timedelta(days=30)
    me = await signed_up(db, "me@example.com", start, "pro")
    expected: list[tuple[datetime, int]] = []
    tied = start + timedelta(days=5)
    for day in range(1, 13):
        at = tied if day % 4 == 0 else start + timedelta(days=day, hours=day % 3)
        if day % 2:
            expected.append((at, await publish(db, "pro" if day % 3 else "starter", at)))
        else:
            expected.append((at, await notify(db, me, created_at=at, is_read=day % 4 == 0)))
    await publish(db, "elite", start + timedelta(days=3))  # not the user's tier
    newest_first = [i for _, i in sorted(expected, reverse=True)]
    assert len(set(newest_first)) == 12  # ids unique across both sources

    for limit in (1, 2, 5):
        result = await pages(client, f"/api/notifications?limit={limit}", bearer(me))
        assert [i for p in result for i in p] == newest_first, limit
    flagged = {r["id"] for r in await db.fetch("SELECT id FROM notifications WHERE is_read")}
    assert flagged
    unread = await pages(client, "/api/notifications?unread=true&limit=3", bearer(me))
    assert [i for p in unread for i in p] == [i for i in newest_first if i not in flagged]
