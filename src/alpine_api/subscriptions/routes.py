"""Subscriptions: plans, the active subscription, subscribe and cancel.

Subscribing is one transaction: lock the user's row (so one user's changes run one at a
time), refuse the tier already active (409), cancel the previous active subscription,
insert the new one, record the payment of its first month, set the user's tier and leave
a `billing` notification. The unique partial index subscriptions_one_active_per_user
makes a second active subscription impossible even if the lock were bypassed; its
violation is answered 409 as well. Canceling sets the tier back to starter. After either
write the user's cached records are invalidated, so /me, /profile and /subscribed
reflect the new tier on the very next request.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar import Request, Response, Router, delete, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import JSONBody

from alpine_api.auth.current import current_user, user_guard
from alpine_api.caching import invalidate_user
from alpine_api.config import TIERS, Settings
from alpine_api.http.openapi import ERRORS_OPT
from alpine_api.services import services
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


def _already_active(tier: str) -> HTTPException:
    return HTTPException(status_code=409, detail=f"Already subscribed to the {tier} plan")


@get("/plans", summary="The plans and their monthly prices")
async def list_plans(request: Request[Any, Any, Any]) -> list[Plan]:
    return plans_of(services(request).settings)


@get("/me", summary="The caller's active subscription", opt={ERRORS_OPT: (404,)})
async def my_subscription(request: Request[Any, Any, Any]) -> Subscription:
    user = await current_user(request)
    row = await services(request).db.fetchrow("subscriptions.get_active", user.id)
    if row is None:
        raise NotFoundException(detail=NO_SUBSCRIPTION)
    return Subscription(**row)


@post(
    "",
    status_code=201,
    summary="Subscribe to a plan (replaces the active one)",
    guards=[user_guard],
    opt={ERRORS_OPT: (409,)},
)
async def subscribe(
    request: Request[Any, Any, Any], data: JSONBody[SubscribeRequest]
) -> Subscription:
    user = await current_user(request)
    svc = services(request)
    plan = next(p for p in plans_of(svc.settings) if p.tier == data.tier)
    try:
        async with svc.db.transaction() as tx:
            await tx.fetchrow("subscriptions.lock_user", user.id)
            current = await tx.fetchrow("subscriptions.get_active", user.id)
            if current is not None and current["tier"] == plan.tier:
                raise _already_active(plan.tier)
            await tx.execute("subscriptions.cancel_active", user.id)
            row = await tx.fetchrow(
                "subscriptions.insert", user.id, plan.tier, plan.price_cents, plan.currency
            )
            assert row is not None
            await tx.execute(
                "subscriptions.record_payment", user.id, row["id"], plan.price_cents, plan.currency
            )
            await tx.execute("subscriptions.set_user_tier", user.id, plan.tier)
            await tx.execute(
                "notifications.insert_billing",
                user.id,
                f"Subscribed to {plan.name}",
                f"Your {plan.name} plan is active: {plan.price_cents / 100:.2f} "
                f"{plan.currency} per month.",
            )
    except asyncpg.UniqueViolationError:
        raise _already_active(plan.tier) from None
    await invalidate_user(svc, user.id)
    return Subscription(**row)


@delete(
    "/me",
    status_code=204,
    summary="Cancel the active subscription (back to starter)",
    opt={ERRORS_OPT: (404,)},
)
async def cancel(request: Request[Any, Any, Any]) -> Response[None]:
    user = await current_user(request)
    svc = services(request)
    async with svc.db.transaction() as tx:
        await tx.fetchrow("subscriptions.lock_user", user.id)
        canceled = await tx.fetchrow("subscriptions.cancel_active", user.id)
        if canceled is None:
            raise NotFoundException(detail=NO_SUBSCRIPTION)
        await tx.execute("subscriptions.set_user_tier", user.id, "starter")
        name = str(canceled["tier"]).capitalize()
        await tx.execute(
            "notifications.insert_billing",
            user.id,
            f"{name} plan canceled",
            f"Your {name} plan is canceled; your account is back on the Starter tier.",
        )
    await invalidate_user(svc, user.id)
    return Response(None, status_code=204)


router = Router(
    "/api/subscriptions",
    route_handlers=[list_plans, my_subscription, subscribe, cancel],
    tags=["subscriptions"],
)
