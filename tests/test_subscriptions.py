"""Plans, the active subscription, subscribe (payment, tier change, one active at most,
even under concurrency) and cancel."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from tests.support import bearer, insert_user

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_plans_for_anyone(client: Client) -> None:
    response = await client.get("/api/subscriptions/plans")
    assert response.status_code == 200
    assert response.json() == [
        {"tier": "starter", "name": "Starter", "price_cents": 1900, "currency": "USD"},
        {"tier": "pro", "name": "Pro", "price_cents": 4900, "currency": "USD"},
        {"tier": "elite", "name": "Elite", "price_cents": 14900, "currency": "USD"},
    ]


async def test_needs_a_user(client: Client) -> None:
    for method, path, body in [
        ("GET", "/api/subscriptions/me", None),
        ("POST", "/api/subscriptions", {"tier": "pro"}),
        ("DELETE", "/api/subscriptions/me", None),
    ]:
        response = await client.request(method, path, json=body)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


async def test_subscribe_upgrade_and_cancel(client: Client, db: asyncpg.Connection) -> None:
    user_id = await insert_user(db, "me@example.com")
    me = bearer(user_id)
    assert (await client.get("/api/subscriptions/me", headers=me)).status_code == 404
    # Warm the caches that depend on the tier: they must not serve the old tier afterwards.
    assert (await client.get("/api/auth/me", headers=me)).json()["tier"] == "starter"
    assert (await client.get("/api/users/profile", headers=me)).json()["subscription"] is None

    response = await client.post("/api/subscriptions", json={"tier": "pro"}, headers=me)
    assert response.status_code == 201, response.text
    pro = response.json()
    assert pro["tier"] == "pro" and pro["status"] == "active" and pro["canceled_at"] is None
    assert pro["price_cents"] == 4900 and pro["currency"] == "USD"
    assert pro["current_period_end"] > pro["started_at"]
    assert (await client.get("/api/subscriptions/me", headers=me)).json() == pro
    assert (await client.get("/api/auth/me", headers=me)).json()["tier"] == "pro"
    profile = (await client.get("/api/users/profile", headers=me)).json()
    assert profile["tier"] == "pro" and profile["subscription"]["id"] == pro["id"]

    again = await client.post("/api/subscriptions", json={"tier": "pro"}, headers=me)
    assert again.status_code == 409 and again.json()["status_code"] == 409

    elite = await client.post("/api/subscriptions", json={"tier": "elite"}, headers=me)
    assert elite.status_code == 201
    rows = await db.fetch("SELECT tier::text, status, canceled_at FROM subscriptions ORDER BY id")
    assert [(r["tier"], r["status"]) for r in rows] == [("pro", "canceled"), ("elite", "active")]
    assert rows[0]["canceled_at"] is not None
    payments = await db.fetch("SELECT amount_cents, currency, user_id FROM payments ORDER BY id")
    assert [(p["amount_cents"], p["currency"]) for p in payments] == [(4900, "USD"), (14900, "USD")]
    assert await db.fetchval("SELECT tier::text FROM users WHERE id = $1", user_id) == "elite"
    billing = await db.fetchval("SELECT count(*) FROM notifications WHERE kind = 'billing'")
    assert billing == 2

    canceled = await client.delete("/api/subscriptions/me", headers=me)
    assert canceled.status_code == 204
    assert await db.fetchval("SELECT tier::text FROM users WHERE id = $1", user_id) == "starter"
    assert await db.fetchval("SELECT count(*) FROM subscriptions WHERE status = 'active'") == 0
    assert (await client.get("/api/subscriptions/me", headers=me)).status_code == 404
    assert (await client.get("/api/auth/me", headers=me)).json()["tier"] == "starter"
    assert (await client.delete("/api/subscriptions/me", headers=me)).status_code == 404


async def test_tier_change_shows_on_subscribed_at_once(
    client: Client, db: asyncpg.Connection
) -> None:
    me = bearer(await insert_user(db, "me@example.com"))
    pro_signal = await db.fetchval(
        "INSERT INTO signals (symbol, direction, entry_price, target_price, stop_loss,"
        " confidence, tier) VALUES ('AAPL', 'long', 1, 2, 0.5, 0.9, 'pro') RETURNING id"
    )
    assert (await client.get("/api/signals/subscribed", headers=me)).json()["items"] == []
    assert (await client.post("/api/subscriptions", json={"tier": "pro"}, headers=me)).is_success
    items = (await client.get("/api/signals/subscribed", headers=me)).json()["items"]
    assert [i["id"] for i in items] == [pro_signal]
    assert (await client.delete("/api/subscriptions/me", headers=me)).status_code == 204
    assert (await client.get("/api/signals/subscribed", headers=me)).json()["items"] == []


async def test_bad_input_is_400_and_changes_nothing(client: Client, db: asyncpg.Connection) -> None:
    me = bearer(await insert_user(db, "me@example.com"))
    for body, field in [
        ({"tier": "platinum"}, "tier"),
        ({}, "tier"),
        ({"tier": "pro", "coupon": "FREE"}, "coupon"),
    ]:
        response = await client.post("/api/subscriptions", json=body, headers=me)
        assert response.status_code == 400 and field in response.text, body
    assert await db.fetchval("SELECT count(*) FROM subscriptions") == 0
    assert await db.fetchval("SELECT count(*) FROM payments") == 0


async def test_concurrent_subscribes_leave_one_active(
    client: Client, db: asyncpg.Connection
) -> None:
    user_id = await insert_user(db, "me@example.com")
    me = bearer(user_id)
    responses = await asyncio.gather(
        *(client.post("/api/subscriptions", json={"tier": "elite"}, headers=me) for _ in range(10))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 9, codes
    assert await db.fetchval("SELECT count(*) FROM subscriptions") == 1
    assert await db.fetchval("SELECT count(*) FROM payments") == 1

    # Mixed tiers at once: every request is served one after the other; one active remains.
    tiers = ["pro", "starter", "elite", "pro", "starter", "pro"]
    responses = await asyncio.gather(
        *(client.post("/api/subscriptions", json={"tier": t}, headers=me) for t in tiers)
    )
    assert {r.status_code for r in responses} <= {201, 409}
    active = await db.fetch(
        "SELECT tier::text FROM subscriptions WHERE user_id = $1 AND status = 'active'", user_id
    )
    assert len(active) == 1
    assert await db.fetchval("SELECT tier::text FROM users WHERE id = $1", user_id) == active[0][0]
    created = sum(r.status_code == 201 for r in responses) + 1
    assert await db.fetchval("SELECT count(*) FROM payments") == created


async def test_the_constraint_refuses_a_second_active_subscription(db: asyncpg.Connection) -> None:
    user_id = await insert_user(db, "me@example.com")
    insert = (
        "INSERT INTO subscriptions (user_id, tier, price_cents, current_period_end)"
        " VALUES ($1, 'pro', 4900, now() + interval '1 month')"
    )
    await db.execute(insert, user_id)
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute(insert, user_id)
