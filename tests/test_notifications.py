"""Notifications: the caller's own list (unread filter, keyset pages), mark one / all read."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from litestar.testing import AsyncTestClient

from tests.support import bearer, insert_user, pages

Client = AsyncTestClient  # type: ignore[type-arg]


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


async def test_needs_a_user(client: Client) -> None:
    for method, path in [
        ("GET", "/api/notifications"),
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

    response = await client.post("/api/notifications/read-all", headers=bearer(me))
    assert response.status_code == 200 and response.json() == {"updated": 3}
    assert await db.fetchval("SELECT count(*) FROM notifications WHERE NOT is_read") == 1
    again = await client.post("/api/notifications/read-all", headers=bearer(me))
    assert again.json() == {"updated": 0}
