"""Bodies of /api/admin/analytics and /api/admin/revenue."""

from __future__ import annotations

from datetime import datetime

import msgspec


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
