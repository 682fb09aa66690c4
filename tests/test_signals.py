"""Signals: the subscriber feed (tier visibility, filters, keyset pages), one signal, and the
admin list / create (with its notification) / patch."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from tests.support import bearer, insert_user, pages

Client = AsyncTestClient  # type: ignore[type-arg]

NEW_SIGNAL = {
    "symbol": "btc/usd",
    "direction": "long",
    "entry_price": 64000.5,
    "target_price": 70000,
    "stop_loss": 61000,
    "confidence": 0.9,
    "tier": "pro",
    "note": "Breakout",
}


async def insert_signal(
    db: asyncpg.Connection,
    symbol: str = "AAPL",
    *,
    tier: str = "starter",
    confidence: float = 0.5,
    is_active: bool = True,
    created_at: datetime | None = None,
) -> int:
    signal_id = await db.fetchval(
        "INSERT INTO signals (symbol, direction, entry_price, target_price, stop_loss,"
        " confidence, tier, is_active, created_at)"
        " VALUES ($1, 'long', 100, 110, 95, $2, $3, $4, coalesce($5, now()))"
        " RETURNING id",
        symbol,
        confidence,
        tier,
        is_active,
        created_at,
    )
    return int(signal_id)


async def test_subscribed_needs_a_user(client: Client) -> None:
    response = await client.get("/api/signals/subscribed")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_tier_visibility(client: Client, db: asyncpg.Connection) -> None:
    starter = bearer(await insert_user(db, "s@example.com", tier="starter"))
    pro = bearer(await insert_user(db, "p@example.com", tier="pro"))
    elite = bearer(await insert_user(db, "e@example.com", tier="elite"))
    ids = {tier: await insert_signal(db, tier=tier) for tier in ("starter", "pro", "elite")}
    await insert_signal(db, tier="starter", is_active=False)

    seen = {}
    for name, headers in (("starter", starter), ("pro", pro), ("elite", elite)):
        response = await client.get("/api/signals/subscribed", headers=headers)
        assert response.status_code == 200
        seen[name] = {item["id"] for item in response.json()["items"]}
    assert seen["starter"] == {ids["starter"]}
    assert seen["pro"] == {ids["starter"], ids["pro"]}
    assert seen["elite"] == set(ids.values())

    # One signal: visible at or below the tier, else 404 (never revealed).
    assert (await client.get(f"/api/signals/{ids['pro']}", headers=starter)).status_code == 404
    response = await client.get(f"/api/signals/{ids['pro']}", headers=pro)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == ids["pro"] and body["tier"] == "pro" and body["symbol"] == "AAPL"
    assert set(body) == {
        "id", "symbol", "direction", "entry_price", "target_price", "stop_loss",
        "confidence", "tier", "is_active", "note", "created_at",
    }  # fmt: skip
    assert (await client.get("/api/signals/999999", headers=elite)).status_code == 404


async def test_inactive_signal_is_not_found(client: Client, db: asyncpg.Connection) -> None:
    user = bearer(await insert_user(db, "e@example.com", tier="elite"))
    inactive = await insert_signal(db, is_active=False)
    assert (await client.get(f"/api/signals/{inactive}", headers=user)).status_code == 404


async def test_filters_confidence_and_symbol(client: Client, db: asyncpg.Connection) -> None:
    user = bearer(await insert_user(db, "e@example.com", tier="elite"))
    low = await insert_signal(db, "AAPL", confidence=0.2)
    high = await insert_signal(db, "AAPL", confidence=0.9)
    other = await insert_signal(db, "ETH/USD", confidence=0.95)

    async def ids(query: str) -> list[int]:
        response = await client.get(f"/api/signals/subscribed?{query}", headers=user)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids("min_confidence=0.85") == [other, high]
    assert await ids("symbol=aapl") == [high, low]  # normalised to upper case
    assert await ids("symbol=AAPL&min_confidence=0.5") == [high]
    assert await ids("symbol=eth/usd") == [other]
    assert await ids("symbol=MSFT") == []


async def test_keyset_pages_over_ties(client: Client, db: asyncpg.Connection) -> None:
    user = bearer(await insert_user(db, "e@example.com", tier="elite"))
    tied = datetime(2026, 3, 1, 12, tzinfo=UTC)
    created = [await insert_signal(db, created_at=tied) for _ in range(7)]
    older = await insert_signal(db, created_at=datetime(2026, 2, 1, tzinfo=UTC))
    newer = await insert_signal(db, created_at=datetime(2026, 4, 1, tzinfo=UTC))
    result = await pages(client, "/api/signals/subscribed?limit=3", user)
    assert [len(p) for p in result] == [3, 3, 3]
    flat = [i for page in result for i in page]
    assert flat == [newer, *sorted(created, reverse=True), older]  # ties: id descending
    # The symbol variant pages the same way.
    by_symbol = await pages(client, "/api/signals/subscribed?symbol=AAPL&limit=4", user)
    assert [i for page in by_symbol for i in page] == flat


async def test_bad_query_parameters_are_400(client: Client, db: asyncpg.Connection) -> None:
    user = bearer(await insert_user(db, "e@example.com", tier="elite"))
    cases = {
        "limit=0": "limit",
        "limit=101": "limit",
        "limit=ten": "limit",
        "cursor=not-a-cursor": "cursor",
        "min_confidence=high": "min_confidence",
        "min_confidence=1.5": "min_confidence",
        "symbol=BAD%20SYMBOL": "symbol",
        "symbol=" + "A" * 21: "symbol",
    }
    for query, field in cases.items():
        response = await client.get(f"/api/signals/subscribed?{query}", headers=user)
        assert response.status_code == 400, query
        assert field in response.text, (query, response.text)
        assert "Traceback" not in response.text


async def test_admin_routes_need_an_admin(client: Client, db: asyncpg.Connection) -> None:
    user = bearer(await insert_user(db, "u@example.com", tier="elite"))
    signal_id = await insert_signal(db)
    calls: list[tuple[str, str, Any]] = [
        ("GET", "/api/signals", None),
        ("POST", "/api/signals", NEW_SIGNAL),
        ("PATCH", f"/api/signals/{signal_id}", {"is_active": False}),
    ]
    for method, path, body in calls:
        assert (await client.request(method, path, json=body)).status_code == 401
        response = await client.request(method, path, json=body, headers=user)
        assert response.status_code == 403, (method, path)
    assert await db.fetchval("SELECT count(*) FROM signals") == 1
    assert await db.fetchval("SELECT is_active FROM signals") is True


async def test_create_writes_one_row_per_tier_channel_and_reaches_eligible_feeds(
    client: Client, db: asyncpg.Connection
) -> None:
    admin_id = await insert_user(db, "admin@example.com", is_admin=True, tier="starter")
    eligible = [
        await insert_user(db, "p1@example.com", tier="pro"),
        await insert_user(db, "e1@example.com", tier="elite"),
    ]
    starter = await insert_user(db, "s1@example.com", tier="starter")

    response = await client.post("/api/signals", json=NEW_SIGNAL, headers=bearer(admin_id))
    assert response.status_code == 201, response.text
    signal = response.json()
    assert signal["symbol"] == "BTC/USD" and signal["tier"] == "pro" and signal["is_active"]
    assert signal["note"] == "Breakout" and signal["entry_price"] == 64000.5
    assert await db.fetchval("SELECT created_by FROM signals") == admin_id
    # No row per user: one per tier channel that may see it (pro and elite), one id.
    assert await db.fetchval("SELECT count(*) FROM notifications") == 0
    rows = await db.fetch("SELECT audience::text, id, signal_id FROM signal_notifications")
    assert sorted(r["audience"] for r in rows) == ["elite", "pro"]
    assert len({r["id"] for r in rows}) == 1 and {r["signal_id"] for r in rows} == {signal["id"]}

    for user_id in eligible:
        items = (await client.get("/api/notifications", headers=bearer(user_id))).json()["items"]
        assert [(i["kind"], i["signal_id"], i["is_read"]) for i in items] == [
            ("signal", signal["id"], False)
        ]
        assert "BTC/USD" in items[0]["title"]
    mine = await client.get("/api/notifications", headers=bearer(starter))
    assert mine.json()["items"] == []

    # A starter signal: three channel rows, still none per user.
    starter_signal = {**NEW_SIGNAL, "tier": "starter", "symbol": "ETH/USD"}
    response = await client.post("/api/signals", json=starter_signal, headers=bearer(admin_id))
    assert response.status_code == 201
    count = await db.fetchval(
        "SELECT count(*) FROM signal_notifications WHERE signal_id = $1", response.json()["id"]
    )
    assert count == 3
    assert await db.fetchval("SELECT count(*) FROM notifications") == 0


async def test_new_signal_shows_on_the_very_next_read(
    client: Client, db: asyncpg.Connection
) -> None:
    admin = bearer(await insert_user(db, "admin@example.com", is_admin=True))
    user = bearer(await insert_user(db, "p@example.com", tier="pro"))
    first = await client.get("/api/signals/subscribed", headers=user)
    assert first.status_code == 200 and first.json()["items"] == []
    assert (await client.get("/api/signals/subscribed", headers=user)).json()["items"] == []
    created = await client.post("/api/signals", json=NEW_SIGNAL, headers=admin)
    assert created.status_code == 201
    after = await client.get("/api/signals/subscribed", headers=user)
    assert [item["id"] for item in after.json()["items"]] == [created.json()["id"]]

    patched = await client.patch(
        f"/api/signals/{created.json()['id']}", json={"is_active": False}, headers=admin
    )
    assert patched.status_code == 200
    assert (await client.get("/api/signals/subscribed", headers=user)).json()["items"] == []


async def test_create_rejects_bad_input_and_changes_nothing(
    client: Client, db: asyncpg.Connection
) -> None:
    admin = bearer(await insert_user(db, "admin@example.com", is_admin=True))
    await insert_user(db, "p@example.com", tier="pro")
    cases = {
        "surprise": {**NEW_SIGNAL, "surprise": 1},
        "symbol": {**NEW_SIGNAL, "symbol": "BTC USD"},
        "confidence": {**NEW_SIGNAL, "confidence": 1.01},
        "entry_price": {**NEW_SIGNAL, "entry_price": -5},
        "stop_loss": {**NEW_SIGNAL, "stop_loss": 0},
        "direction": {**NEW_SIGNAL, "direction": "sideways"},
        "tier": {**NEW_SIGNAL, "tier": "platinum"},
        "target_price": {k: v for k, v in NEW_SIGNAL.items() if k != "target_price"},
    }
    for field, body in cases.items():
        response = await client.post("/api/signals", json=body, headers=admin)
        assert response.status_code == 400, (field, response.text)
        assert field in response.text, (field, response.text)
    assert await db.fetchval("SELECT count(*) FROM signals") == 0
    assert await db.fetchval("SELECT count(*) FROM signal_notifications") == 0


async def test_patch_changes_only_given_fields(client: Client, db: asyncpg.Connection) -> None:
    admin = bearer(await insert_user(db, "admin@example.com", is_admin=True))
    signal_id = await insert_signal(db, confidence=0.4)
    await db.execute("UPDATE signals SET note = 'keep me' WHERE id = $1", signal_id)

    response = await client.patch(
        f"/api/signals/{signal_id}", json={"confidence": 0.8}, headers=admin
    )
    assert response.status_code == 200
    assert response.json()["confidence"] == 0.8 and response.json()["note"] == "keep me"
    response = await client.patch(f"/api/signals/{signal_id}", json={"note": None}, headers=admin)
    assert response.status_code == 200 and response.json()["note"] is None
    row = await db.fetchrow("SELECT confidence, note, is_active FROM signals")
    assert (row["confidence"], row["note"], row["is_active"]) == (0.8, None, True)

    for body, field in (({"confidence": 2}, "confidence"), ({"symbol": "X"}, "symbol")):
        response = await client.patch(f"/api/signals/{signal_id}", json=body, headers=admin)
        assert response.status_code == 400 and field in response.text
    assert await db.fetchval("SELECT confidence FROM signals") == 0.8
    missing = await client.patch("/api/signals/999999", json={"note": "x"}, headers=admin)
    assert missing.status_code == 404


async def test_admin_list_filters_and_pages(client: Client, db: asyncpg.Connection) -> None:
    admin = bearer(await insert_user(db, "admin@example.com", is_admin=True))
    tied = datetime(2026, 3, 1, tzinfo=UTC)
    active = [await insert_signal(db, "AAPL", tier="elite", created_at=tied) for _ in range(3)]
    inactive = [await insert_signal(db, "AAPL", is_active=False, created_at=tied) for _ in range(2)]
    other = await insert_signal(db, "MSFT", created_at=tied)

    everything = await pages(client, "/api/signals?limit=2", admin)
    assert [len(p) for p in everything] == [2, 2, 2]
    assert [i for p in everything for i in p] == sorted([*active, *inactive, other], reverse=True)

    async def ids(query: str) -> list[int]:
        return [i for p in await pages(client, f"/api/signals?{query}", admin) for i in p]

    assert await ids("is_active=false") == sorted(inactive, reverse=True)
    assert await ids("symbol=aapl&limit=1") == sorted([*active, *inactive], reverse=True)
    assert await ids("symbol=AAPL&is_active=true") == sorted(active, reverse=True)
    bad = await client.get("/api/signals?is_active=maybe", headers=admin)
    assert bad.status_code == 400 and "is_active" in bad.text
