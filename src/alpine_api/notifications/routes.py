"""Notifications: the caller's feed (optionally unread only), unread count, mark one or all read.

A feed is the user's own `billing`/`system` rows plus the signal items of their current
tier's channel published after they signed up (derived when read: publishing writes no
row per user). Read state is per user: a read-all watermark plus per-item marks (see the
SQL files under sql/notifications/). An item that is not in the caller's feed is "not
found": its existence is never revealed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import QueryParameter

from alpine_api.auth.current import current_user, user_guard
from alpine_api.pagination import Page, PageRequest, RowId, make_page, provide_page
from alpine_api.services import services


class Notification(msgspec.Struct):
    id: int
    kind: Literal["signal", "billing", "system"]
    title: str
    body: str
    signal_id: int | None
    is_read: bool
    created_at: datetime


class UnreadCount(msgspec.Struct):
    unread: int


class ReadAll(msgspec.Struct):
    updated: int


def to_notification(row: Any) -> Notification:
    return Notification(**row)


@get("", summary="The caller's notifications, newest first")
async def list_notifications(
    request: Request[Any, Any, Any],
    page: NamedDependency[PageRequest],
    unread: Annotated[bool, QueryParameter(description="only unread")] = False,
) -> Page[Notification]:
    user = await current_user(request)
    query = "notifications.list_unread" if unread else "notifications.list"
    after = page.after
    rows = await services(request).db.fetch(
        query, user.id, user.tier, user.created_at, after.created_at, after.id, page.fetch
    )
    return make_page(rows, page, to_notification)


@get("/unread-count", summary="How many of the caller's notifications are unread")
async def unread_count(request: Request[Any, Any, Any]) -> UnreadCount:
    user = await current_user(request)
    count = await services(request).db.fetchval(
        "notifications.unread_count", user.id, user.tier, user.created_at
    )
    return UnreadCount(unread=count)


@post("/{notification_id:int}/read", status_code=204, summary="Mark one notification read")
async def mark_read(request: Request[Any, Any, Any], notification_id: RowId) -> Response[None]:
    user = await current_user(request)
    found = await services(request).db.fetchval(
        "notifications.mark_read", notification_id, user.id, user.tier, user.created_at
    )
    if found is None:
        raise NotFoundException(detail="Notification not found")
    return Response(None, status_code=204)


@post("/read-all", status_code=200, summary="Mark all of the caller's notifications read")
async def mark_all_read(request: Request[Any, Any, Any]) -> ReadAll:
    """Counts what is unread, then moves the watermark to the transaction's start: O(1)
    writes whatever the number of notifications."""
    user = await current_user(request)
    async with services(request).db.transaction() as tx:
        count = await tx.fetchval("notifications.unread_count", user.id, user.tier, user.created_at)
        await tx.execute("notifications.mark_all_read", user.id)
    return ReadAll(updated=count)


router = Router(
    "/api/notifications",
    route_handlers=[list_notifications, unread_count, mark_read, mark_all_read],
    dependencies={"page": provide_page},
    guards=[user_guard],
    tags=["notifications"],
)
