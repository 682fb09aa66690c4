"""GET /api/admin/analytics and /api/admin/revenue: figures, period bounds, admin only."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import redis.asyncio as aioredis
from litestar.testing import AsyncTestClient

from alpine_api.db import load_queries
from alpine_api.resources import SQL_DIR
from tests.support import bearer, insert_user

Client = AsyncTestClient  # type: ignore[type-arg]


def period_starts() -> tuple[datetime, datetime, datetime]:
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return today, today - timedelta(days=today.weekday()), today.replace(day=1)


async def test_admin_only(client: Client, db: asyncpg.Connection) -> None:
    user = bearer(await insert_user(db, "u@example.com", tier="elite"))
    for path in ("/api/admin/analytics", "/api/admin/revenue"):
        anonymous = await client.get(path)
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
        assert (await client.get(path, headers=user)).status_code == 403


async def test_analytics_counts_every_figure(client: Client, db: asyncpg.Connection) -> None:
    admin = await insert_user(db, "admin@example.com", is_admin=True)
    today, week, month = period_starts()
    year_ago = today - timedelta(days=400)
    # (created_at, tier, active): one user per period boundary and tier mix
    users = [
        (today + timedelta(seconds=1), "pro", True),
        (today - timedelta(seconds=1), "elite", True),  # yesterday (maybe still this week)
        (week, "starter", False),  # exactly Monday 00:00 UTC: this week
        (week - timedelta(seconds=1), "pro", True),
        (month, "starter", True),  # exactly the 1st 00:00 UTC: this month
        (month - timedelta(seconds=1), "elite", False),
        (year_ago, "starter", True),
    ]
    for i, (created, tier, active) in enumerate(users):
        uid = await insert_user(db, f"u{i}@example.com", tier=tier, is_active=active)
        await db.execute("UPDATE users SET created_at = $2 WHERE id = $1", uid, created)
    await db.execute("UPDATE users SET created_at = $2 WHERE id = $1", admin, year_ago)

    response = await client.get("/api/admin/analytics", headers=bearer(admin))
    assert response.status_code == 200, response.text
    body = response.json()
    created = [c for c, _, _ in users] + [year_ago]
    assert body["total_users"] == 8
    assert body["active_users"] == 6
    assert body["new_users_today"] == sum(c >= today for c in created) == 1
    assert body["new_users_this_week"] == sum(c >= week for c in created)
    assert body["new_users_this_month"] == sum(c >= month for c in created)
    assert body["tiers"] == {"starter": 4, "pro": 2, "elite": 2}
    generated = datetime.fromisoformat(body["generated_at"])
    assert abs((generated - datetime.now(UTC)).total_seconds()) < 60


async def test_revenue_figures(
    client: Client, db: asyncpg.Connection, redis: aioredis.Redis
) -> None:
    admin = await insert_user(db, "admin@example.com", is_admin=True)
    empty = await client.get("/api/admin/revenue", headers=bearer(admin))
    assert empty.status_code == 200
    zero = {"active_subscriptions": 0, "mrr_cents": 0}
    assert empty.json()["tiers"] == {"starter": zero, "pro": zero, "elite": zero}
    assert empty.json()["total_revenue_cents"] == 0

    today, week, month = period_starts()
    plans = [("pro", 4900, "active"), ("pro", 4900, "active"), ("elite", 14900, "active"),
             ("starter", 1900, "canceled")]  # fmt: skip
    paid_at = [today + timedelta(seconds=1), week, month, today - timedelta(days=70)]
    for i, ((tier, price, status), paid) in enumerate(zip(plans, paid_at, strict=True)):
        uid = await insert_user(db, f"p{i}@example.com", tier=tier)
        sub = await db.fetchval(
            "INSERT INTO subscriptions (user_id, tier, status, price_cents, started_at,"
            " current_period_end, canceled_at) VALUES ($1, $2, $3, $4, $5, now() + interval"
            " '1 month', CASE WHEN $3 = 'canceled' THEN now() END) RETURNING id",
            uid, tier, status, price, paid - timedelta(seconds=1),
        )  # fmt: skip
        await db.execute(
            "INSERT INTO payments (user_id, subscription_id, amount_cents, created_at)"
            " VALUES ($1, $2, $3, $4)",
            uid, sub, price, paid,
        )  # fmt: skip

    # Admin statistics may be served from cache for up to 300 s: start from an empty one.
    await redis.flushall()
    response = await client.get("/api/admin/revenue", headers=bearer(admin))
    assert response.status_code == 200 and response.headers["x-cache"] == "MISS"
    body = response.json()
    amounts = [p for _, p, _ in plans]
    assert body["total_revenue_cents"] == sum(amounts)
    assert body["revenue_today_cents"] == sum(
        a for a, t in zip(amounts, paid_at, strict=True) if t >= today
    )
    assert body["revenue_this_week_cents"] == sum(
        a for a, t in zip(amounts, paid_at, strict=True) if t >= week
    )
    assert body["revenue_this_month_cents"] == sum(
        a for a, t in zip(amounts, paid_at, strict=True) if t >= month
    )
    assert body["active_subscriptions"] == 3
    assert body["mrr_cents"] == 4900 * 2 + 14900
    assert body["tiers"] == {
        "starter": {"active_subscriptions": 0, "mrr_cents": 0},
        "pro": {"active_subscriptions": 2, "mrr_cents": 9800},
        "elite": {"active_subscriptions": 1, "mrr_cents": 14900},
    }


async def test_user_counts_follow_every_kind_of_user_write(db: asyncpg.Connection) -> None:
    """The rollup behind analytics equals a count over users after inserts, tier and
    activity changes, back-dating, deletes, and a recount."""
    ids = [await insert_user(db, f"count{i}@example.com") for i in range(6)]
    await db.execute("UPDATE users SET tier = 'pro' WHERE id = $1", ids[0])
    await db.execute("UPDATE users SET is_active = false WHERE id = $1", ids[1])
    await db.execute(
        "UPDATE users SET created_at = now() - '40 days'::interval WHERE id = $1", ids[2]
    )
    await db.execute("UPDATE users SET full_name = 'no effect' WHERE id = $1", ids[3])
    await db.execute("DELETE FROM users WHERE id = $1", ids[4])

    async def rows(sql: str) -> list[tuple[object, ...]]:
        return sorted(tuple(r) for r in await db.fetch(sql))

    expected = (
        "SELECT (created_at AT TIME ZONE 'UTC')::date, tier, is_active, count(*)"
        " FROM users GROUP BY 1, 2, 3"
    )
    rollup = "SELECT day, tier, is_active, users FROM user_counts WHERE users > 0"
    assert await rows(rollup) == await rows(expected)
    await db.execute("UPDATE user_counts SET users = 0")  # as after a load without triggers
    await db.execute(load_queries(SQL_DIR)["admin.recount_users"].sql)
    assert await rows(rollup) == await rows(expected)


async def test_a_tier_change_takes_its_counter_rows_in_key_order(
    db: asyncpg.Connection, database_url: str
) -> None:
    """Every transaction locks counter rows in one order (day, tier, is_active), so tier
    changes running at once cannot deadlock on them: elite -> pro waits for the `pro`
    row before it touches the `elite` one."""
    user = await insert_user(db, "order@example.com", tier="elite")
    await insert_user(db, "other@example.com", tier="pro")
    row = "SELECT 1 FROM user_counts WHERE tier = $1 AND is_active FOR UPDATE"
    holder, changer, prober = [await asyncpg.connect(database_url) for _ in range(3)]
    try:
        async with holder.transaction():
            await holder.fetch(row, "pro")
            change = asyncio.create_task(
                changer.execute("UPDATE users SET tier = 'pro' WHERE id = $1", user)
            )
            waiting = "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1"
            for _ in range(500):  # until the change waits for the `pro` row
                if await prober.fetchval(waiting, changer.get_server_pid()):
                    break
                await asyncio.sleep(0.02)
            async with prober.transaction():
                assert await prober.fetch(f"{row} NOWAIT", "elite")  # not held by the change
        await asyncio.wait_for(change, 10)
    finally:
        for conn in (holder, changer, prober):
            await conn.close()
    counts = dict(await db.fetch("SELECT tier::text, users FROM user_counts WHERE is_active"))
    assert counts == {"pro": 2, "elite": 0}
