"""GET /api/admin/analytics and /api/admin/revenue (admins only, cached).

Each figure set is one SQL statement (see queries.py), read from the replica when one is
configured and served through the admin statistics cache (TTL from
ALPINE_ADMIN_CACHE_TTL_SECONDS, 300 s by default).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from litestar import Response, Router, get

from alpine_api.admin import queries
from alpine_api.admin.schemas import Analytics, Revenue
from alpine_api.auth.current import UserRequest, admin_guard
from alpine_api.caching import ADMIN_ANALYTICS, ADMIN_REVENUE, CachePolicy, cached_json
from alpine_api.db import Reader
from alpine_api.services import services

T = TypeVar("T")


async def _statistics(
    request: UserRequest, policy: CachePolicy, query: Callable[[Reader], Awaitable[T]]
) -> Response[bytes]:
    """The figures of one single-statement query, through the admin statistics cache."""
    db = services(request).reads  # the read replica when configured: minutes-old is fine
    return await cached_json(request, policy, request.user, lambda: query(db))


@get("/analytics", summary="User counts: totals, new today / this week / this month, tiers")
async def analytics(request: UserRequest) -> Response[Analytics]:
    return await _statistics(request, ADMIN_ANALYTICS, queries.analytics)  # type: ignore[return-value]


@get("/revenue", summary="Revenue per period, active subscriptions and MRR per tier")
async def revenue(request: UserRequest) -> Response[Revenue]:
    return await _statistics(request, ADMIN_REVENUE, queries.revenue)  # type: ignore[return-value]


router = Router(
    "/api/admin",
    route_handlers=[analytics, revenue],
    guards=[admin_guard],
    tags=["admin"],
)
