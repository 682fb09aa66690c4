"""The notification feed's SQL (sql/notifications/), as typed functions.

A user's feed is their own `billing`/`system` rows plus the signal items of their current
tier's channel published after they signed up, so every feed query takes a `FeedOwner`.
`add_billing` runs inside the caller's transaction (subscribe and cancel).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from alpine_api.db import Database, Executor
from alpine_api.notifications.schemas import Notification
from alpine_api.pagination import Page, PageRequest, make_page


class FeedOwner(NamedTuple):
    """Whose feed: their own rows, and their tier's channel since they signed up."""

    user_id: int
    tier: str
    signed_up_at: datetime


def _notification(row: Any) -> Notification:
    return Notification(**row)


async def list_feed(
    db: Executor, *, owner: FeedOwner, unread_only: bool, page: PageRequest
) -> Page[Notification]:
    """One page of the feed, newest first; with `unread_only`, only what is unread."""
    query = "notifications.list_unread" if unread_only else "notifications.list"
    after = page.after
    rows = await db.fetch(
        query, owner.user_id, owner.tier, owner.signed_up_at, after.created_at, after.id, page.fetch
    )
    return make_page(rows, page, _notification)


async def unread_count(db: Executor, *, owner: FeedOwner) -> int:
    count: int = await db.fetchval(
        "notifications.unread_count", owner.user_id, owner.tier, owner.signed_up_at
    )
    return count


async def mark_read(db: Executor, *, owner: FeedOwner, notification_id: int) -> bool:
    """Marks one item of the feed read (idempotent); False when it is not in the feed."""
    found = await db.fetchval(
        "notifications.mark_read", notification_id, owner.user_id, owner.tier, owner.signed_up_at
    )
    return found is not None


async def mark_all_read(db: Database, *, owner: FeedOwner) -> int:
    """Counts what is unread, then moves the read-all watermark to the transaction's start:
    O(1) writes whatever the number of notifications. Returns the count."""
    async with db.transaction() as tx:
        count = await unread_count(tx, owner=owner)
        await tx.execute("notifications.mark_all_read", owner.user_id)
    return count


async def add_billing(db: Executor, *, user_id: int, title: str, body: str) -> None:
    await db.execute("notifications.insert_billing", user_id, title, body)
