"""GET /api/admin/analytics and /api/admin/revenue (admins only, cached).

Each figure set comes from ONE SQL statement (sql/admin/analytics.sql,
sql/admin/revenue.sql) using aggregate FILTER clauses; `generated_at` is the database's
time of that statement. Served through the admin statistics cache (TTL from
ALPINE_ADMIN_CACHE_TTL_SECONDS, 300 s by default).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response, Router, get

from alpine_api.auth.current import admin_guard, current_user
from alpine_api.caching import ADMIN_ANALYTICS, ADMIN_REVENUE, CachePolicy, cached_json
from alpine_api.config import TIERS
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


T = TypeVar("T")


def analytics_from_row(row: Any) -> Analytics:
    tiers = TierCounts(**{tier: row[tier] for tier in TIERS})
    return Analytics(**{k: v for k, v in row.items() if k not in TIERS}, tiers=tiers)


def revenue_from_row(row: Any) -> Revenue:
    per_tier = {
        tier: TierRevenue(row[f"{tier}_subscriptions"], row[f"{tier}_mrr_cents"]) for tier in TIERS
    }
    scalars = {k: v for k, v in row.items() if not k.startswith(TIERS)}
    return Revenue(**scalars, tiers=RevenueTiers(**per_tier))


async def _statistics(
    request: Request[Any, Any, Any],
    policy: CachePolicy,
    query: str,
    build: Callable[[Any], T],
) -> Response[bytes]:
    """The figures of one single-statement query, through the admin statistics cache."""
    admin = await current_user(request)
    db = services(request).reads  # the read replica when configured: minutes-old is fine

    async def compute() -> T:
        row = await db.fetchrow(query)
        assert row is not None  # an aggregate without GROUP BY always yields one row
        return build(row)

    return await cached_json(request, policy, admin, compute)


@get("/analytics", summary="User counts: totals, new today / this week / this month, tiers")
async def analytics(request: Request[Any, Any, Any]) -> Response[Analytics]:
    return await _statistics(  # type: ignore[return-value]
        request, ADMIN_ANALYTICS, "admin.analytics", analytics_from_row
    )


@get("/revenue", summary="Revenue per period, active subscriptions and MRR per tier")
async def revenue(request: Request[Any, Any, Any]) -> Response[Revenue]:
    return await _statistics(  # type: ignore[return-value]
        request, ADMIN_REVENUE, "admin.revenue", revenue_from_row
    )


router = Router(
    "/api/admin",
    route_handlers=[analytics, revenue],
    guards=[admin_guard],
    tags=["admin"],
)
