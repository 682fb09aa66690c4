"""Notifications: the caller's feed (optionally unread only), unread count, mark one or all read.

A feed is the user's own `billing`/`system` rows plus the signal items of their current
tier's channel published after they signed up (derived when read: publishing writes no
row per user). Read state is per user: a read-all watermark plus per-item marks (see the
SQL files under sql/notifications/). An item that is not in the caller's feed is "not
found": its existence is never revealed.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Response, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import QueryParameter

from alpine_api.auth.current import UserRequest
from alpine_api.notifications import queries
from alpine_api.notifications.queries import FeedOwner
from alpine_api.notifications.schemas import Notification, ReadAll, UnreadCount
from alpine_api.pagination import Page, PageRequest, RowId, provide_page
from alpine_api.services import services


def _owner(request: UserRequest) -> FeedOwner:
    user = request.user
    return FeedOwner(user_id=user.id, tier=user.tier, signed_up_at=user.created_at)


@get("", summary="The caller's notifications, newest first")
async def list_notifications(
    request: UserRequest,
    page: NamedDependency[PageRequest],
    unread: Annotated[bool, QueryParameter(description="only unread")] = False,
) -> Page[Notification]:
    owner = _owner(request)
    return await queries.list_feed(services(request).db, owner=owner, unread_only=unread, page=page)


@get("/unread-count", summary="How many of the caller's notifications are unread")
async def unread_count(request: UserRequest) -> UnreadCount:
    owner = _owner(request)
    return UnreadCount(unread=await queries.unread_count(services(request).db, owner=owner))


@post("/{notification_id:int}/read", status_code=204, summary="Mark one notification read")
async def mark_read(request: UserRequest, notification_id: RowId) -> Response[None]:
    owner = _owner(request)
    found = await queries.mark_read(
        services(request).db, owner=owner, notification_id=notification_id
    )
    if not found:
        raise NotFoundException(detail="Notification not found")
    return Response(None, status_code=204)


@post("/read-all", status_code=200, summary="Mark all of the caller's notifications read")
async def mark_all_read(request: UserRequest) -> ReadAll:
    owner = _owner(request)
    return ReadAll(updated=await queries.mark_all_read(services(request).db, owner=owner))


router = Router(
    "/api/notifications",
    route_handlers=[list_notifications, unread_count, mark_read, mark_all_read],
    dependencies={"page": provide_page},
    tags=["notifications"],
)
