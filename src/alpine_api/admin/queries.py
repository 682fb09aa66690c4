"""The admin statistics' SQL (sql/admin/), as typed functions.

Each figure set comes from ONE statement using aggregate FILTER clauses; `generated_at`
is the database's time of that statement. Both accept lag, so callers may pass the read
replica (ReplicaReads).
"""

from __future__ import annotations

from typing import Any

from alpine_api.admin.schemas import Analytics, Revenue, RevenueTiers, TierCounts, TierRevenue
from alpine_api.config import TIERS
from alpine_api.db import Reader


def _analytics(row: Any) -> Analytics:
    tiers = TierCounts(**{tier: row[tier] for tier in TIERS})
    return Analytics(**{k: v for k, v in row.items() if k not in TIERS}, tiers=tiers)


def _revenue(row: Any) -> Revenue:
    per_tier = {
        tier: TierRevenue(row[f"{tier}_subscriptions"], row[f"{tier}_mrr_cents"]) for tier in TIERS
    }
    scalars = {k: v for k, v in row.items() if not k.startswith(TIERS)}
    return Revenue(**scalars, tiers=RevenueTiers(**per_tier))


async def _one_row(db: Reader, query: str) -> Any:
    row = await db.fetchrow(query)
    assert row is not None  # an aggregate without GROUP BY always yields one row
    return row


async def analytics(db: Reader) -> Analytics:
    """User counts: totals, new today / this week / this month, per tier."""
    return _analytics(await _one_row(db, "admin.analytics"))


async def revenue(db: Reader) -> Revenue:
    """Revenue per period, active subscriptions and MRR per tier."""
    return _revenue(await _one_row(db, "admin.revenue"))
