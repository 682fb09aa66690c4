"""Notifications: the caller's own list (optionally unread only), mark one or all read.

Another user's notification is "not found": its existence is never revealed.
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
    rows = await services(request).db.fetch(query, user.id, after.created_at, after.id, page.fetch)
    return make_page(rows, page, to_notification)


@post("/{notification_id:int}/read", status_code=204, summary="Mark one notification read")
async def mark_read(request: Request[Any, Any, Any], notification_id: RowId) -> Response[None]:
    user = await current_user(request)
    found = await services(request).db.fetchval("notifications.mark_read", notification_id, user.id)
    if found is None:
        raise NotFoundException(detail="Notification not found")
    return Response(None, status_code=204)


@post("/read-all", status_code=200, summary="Mark all of the caller's notifications read")
async def mark_all_read(request: Request[Any, Any, Any]) -> ReadAll:
    user = await current_user(request)
    status = await services(request).db.execute("notifications.mark_all_read", user.id)
    return ReadAll(updated=int(status.rsplit(" ", 1)[-1]))


router = Router(
    "/api/notifications",
    route_handlers=[list_notifications, mark_read, mark_all_read],
    dependencies={"page": provide_page},
    guards=[user_guard],
    tags=["notifications"],
)
