"""The subscriptions' SQL (sql/subscriptions/), as typed functions.

Subscribing is one transaction: lock the user's row (so one user's changes run one at a
time), refuse the tier already active, cancel the previous active subscription, insert the
new one, record the payment of its first month, set the user's tier and leave a `billing`
notification. The unique partial index subscriptions_one_active_per_user makes a second
active subscription impossible even if the lock were bypassed; its violation is refused
the same way. Canceling, under the same lock, sets the tier back to starter.
"""

from __future__ import annotations

import asyncpg

from alpine_api.config import Tier
from alpine_api.db import Database, Executor
from alpine_api.notifications.queries import add_billing
from alpine_api.subscriptions.schemas import Plan, Subscription


class AlreadySubscribed(Exception):
    """The plan asked for is the user's active one."""


async def active(db: Executor, *, user_id: int) -> Subscription | None:
    row = await db.fetchrow("subscriptions.get_active", user_id)
    return None if row is None else Subscription(**row)


async def subscribe(db: Database, *, user_id: int, plan: Plan) -> Subscription:
    """The new active subscription; AlreadySubscribed when `plan` is the active one."""
    try:
        async with db.transaction() as tx:
            await tx.fetchrow("subscriptions.lock_user", user_id)
            current = await active(tx, user_id=user_id)
            if current is not None and current.tier == plan.tier:
                raise AlreadySubscribed(plan.tier)
            await tx.execute("subscriptions.cancel_active", user_id)
            row = await tx.fetchrow(
                "subscriptions.insert", user_id, plan.tier, plan.price_cents, plan.currency
            )
            assert row is not None
            await tx.execute(
                "subscriptions.record_payment", user_id, row["id"], plan.price_cents, plan.currency
            )
            await tx.execute("subscriptions.set_user_tier", user_id, plan.tier)
            await add_billing(
                tx,
                user_id=user_id,
                title=f"Subscribed to {plan.name}",
                body=f"Your {plan.name} plan is active: {plan.price_cents / 100:.2f} "
                f"{plan.currency} per month.",
            )
    except asyncpg.UniqueViolationError:
        raise AlreadySubscribed(plan.tier) from None
    return Subscription(**row)


async def cancel(db: Database, *, user_id: int) -> Tier | None:
    """Cancels the active subscription (the user is back on starter): its tier, or None
    when there was none (nothing changes)."""
    async with db.transaction() as tx:
        await tx.fetchrow("subscriptions.lock_user", user_id)
        canceled = await tx.fetchrow("subscriptions.cancel_active", user_id)
        if canceled is None:
            return None
        await tx.execute("subscriptions.set_user_tier", user_id, "starter")
        tier: Tier = canceled["tier"]
        name = tier.capitalize()
        await add_billing(
            tx,
            user_id=user_id,
            title=f"{name} plan canceled",
            body=f"Your {name} plan is canceled; your account is back on the Starter tier.",
        )
    return tier
