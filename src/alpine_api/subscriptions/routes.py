"""Subscriptions: plans, the active subscription, subscribe and cancel.

Subscribing to the plan already active is a 409 (see queries.py for the transactions).
After either write the user's cached records are invalidated, so /me, /profile and
/subscribed reflect the new tier on the very next request.
"""

from __future__ import annotations

from litestar import Router, delete, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import JSONBody

from alpine_api.auth.current import UserRequest
from alpine_api.caching import invalidate_user
from alpine_api.config import TIERS, Settings
from alpine_api.http.openapi import ERRORS_OPT, PUBLIC
from alpine_api.services import AnyRequest, services
from alpine_api.subscriptions import queries
from alpine_api.subscriptions.schemas import Plan, SubscribeRequest, Subscription

CURRENCY = "USD"
NO_SUBSCRIPTION = "No active subscription"


def plans_of(settings: Settings) -> list[Plan]:
    prices = {
        "starter": settings.plan_price_starter_cents,
        "pro": settings.plan_price_pro_cents,
        "elite": settings.plan_price_elite_cents,
    }
    return [Plan(tier, tier.capitalize(), prices[tier], CURRENCY) for tier in TIERS]


@get("/plans", summary="The plans and their monthly prices", opt={PUBLIC: True})
async def list_plans(request: AnyRequest) -> list[Plan]:
    return plans_of(services(request).settings)


@get("/me", summary="The caller's active subscription", opt={ERRORS_OPT: (404,)})
async def my_subscription(request: UserRequest) -> Subscription:
    user = request.user
    subscription = await queries.active(services(request).db, user_id=user.id)
    if subscription is None:
        raise NotFoundException(detail=NO_SUBSCRIPTION)
    return subscription


@post(
    "",
    status_code=201,
    summary="Subscribe to a plan (replaces the active one)",
    opt={ERRORS_OPT: (409,)},
)
async def subscribe(request: UserRequest, data: JSONBody[SubscribeRequest]) -> Subscription:
    svc, user_id = services(request), request.user.id
    plan = next(p for p in plans_of(svc.settings) if p.tier == data.tier)
    try:
        subscription = await queries.subscribe(svc.db, user_id=user_id, plan=plan)
    except queries.AlreadySubscribed:
        detail = f"Already subscribed to the {plan.tier} plan"
        raise HTTPException(status_code=409, detail=detail) from None
    await invalidate_user(svc, user_id)
    return subscription


# Litestar's DELETE answers 204 with no body by default.
@delete("/me", summary="Cancel the active subscription (back to starter)", opt={ERRORS_OPT: (404,)})
async def cancel(request: UserRequest) -> None:
    svc, user_id = services(request), request.user.id
    if await queries.cancel(svc.db, user_id=user_id) is None:
        raise NotFoundException(detail=NO_SUBSCRIPTION)
    await invalidate_user(svc, user_id)


router = Router(
    "/api/subscriptions",
    route_handlers=[list_plans, my_subscription, subscribe, cancel],
    tags=["subscriptions"],
)
