"""GET /api/admin/analytics and /api/admin/revenue (admins only, cached).

Each figure set comes from ONE SQL statement (sql/admin/analytics.sql,
sql/admin/revenue.sql) using aggregate FILTER clauses; `generated_at` is the database's
time of that statement. Served through the admin statistics cache (TTL from
ALPINE_ADMIN_CACHE_TTL_SECONDS, 300 s by default).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Request, Response, Router, get

from alpine_api.auth.current import admin_guard, current_user
from alpine_api.caching import ADMIN_ANALYTICS, ADMIN_REVENUE, cached_json
from alpine_api.services import services


class TierCounts(msgspec.Struct):
    starter: int
    pro: int
    elite: int


class Analytics(msgspec.Struct):
    total_users: int
    active_users: int
    new_users_today: int
    new_users_this_week: int
    new_users_this_month: int
    tiers: TierCounts
    generated_at: datetime


class TierRevenue(msgspec.Struct):
    active_subscriptions: int
    mrr_cents: int


class RevenueTiers(msgspec.Struct):
    starter: TierRevenue
    pro: TierRevenue
    elite: TierRevenue


class Revenue(msgspec.Struct):
    total_revenue_cents: int
    revenue_today_cents: int
    revenue_this_week_cents: int
    revenue_this_month_cents: int
    active_subscriptions: int
    mrr_cents: int
    tiers: RevenueTiers
    generated_at: datetime


@get("/analytics", summary="User counts: totals, new today / this week / this month, tiers")
async def analytics(request: Request[Any, Any, Any]) -> Response[Analytics]:
    admin = await current_user(request)
    db = services(request).db

    async def compute() -> Analytics:
        row = await db.fetchrow("admin.analytics")
        assert row is not None  # an aggregate without GROUP BY always yields one row
        return Analytics(
            total_users=row["total_users"],
            active_users=row["active_users"],
            new_users_today=row["new_users_today"],
            new_users_this_week=row["new_users_this_week"],
            new_users_this_month=row["new_users_this_month"],
            tiers=TierCounts(starter=row["starter"], pro=row["pro"], elite=row["elite"]),
            generated_at=row["generated_at"],
        )

    return await cached_json(request, ADMIN_ANALYTICS, admin, compute)  # type: ignore[return-value]


@get("/revenue", summary="Revenue per period, active subscriptions and MRR per tier")
async def revenue(request: Request[Any, Any, Any]) -> Response[Revenue]:
    admin = await current_user(request)
    db = services(request).db

    async def compute() -> Revenue:
        row = await db.fetchrow("admin.revenue")
        assert row is not None
        return Revenue(
            total_revenue_cents=row["total_revenue_cents"],
            revenue_today_cents=row["revenue_today_cents"],
            revenue_this_week_cents=row["revenue_this_week_cents"],
            revenue_this_month_cents=row["revenue_this_month_cents"],
            active_subscriptions=row["active_subscriptions"],
            mrr_cents=row["mrr_cents"],
            tiers=RevenueTiers(
                starter=TierRevenue(row["starter_count"], row["starter_mrr"]),
                pro=TierRevenue(row["pro_count"], row["pro_mrr"]),
                elite=TierRevenue(row["elite_count"], row["elite_mrr"]),
            ),
            generated_at=row["generated_at"],
        )

    return await cached_json(request, ADMIN_REVENUE, admin, compute)  # type: ignore[return-value]


router = Router(
    "/api/admin",
    route_handlers=[analytics, revenue],
    guards=[admin_guard],
    tags=["admin"],
)
