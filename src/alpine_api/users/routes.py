"""/api/users/profile (own) and /api/admin/users (admin)."""

from __future__ import annotations

import msgspec
from litestar import Response, get, patch
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.openapi import ResponseSpec
from litestar.params import FromQuery, JSONBody

from alpine_api.auth.current import (
    CurrentUser,
    admin_guard,
    current_user,
    record_from_row,
    user_guard,
)
from alpine_api.auth.revocation import revoke_all
from alpine_api.caching import PROFILE, cached_json, invalidate_user, json_response
from alpine_api.config import Tier
from alpine_api.http.openapi import ERRORS_OPT
from alpine_api.pagination import Page, PageRequest, RowId, make_page, provide_page
from alpine_api.services import AnyRequest, Services, services
from alpine_api.users.schemas import AdminUserUpdate, Profile, ProfileUpdate, profile_from_row

LAST_ADMIN = "This change would leave no active admin"
# The handlers answer cached bytes; the document shows what those bytes are.
PROFILE_RESPONSE = ResponseSpec(Profile, description="The profile", generate_examples=False)


async def _profile(svc: Services, user_id: int) -> Profile:
    row = await svc.db.fetchrow("users.get_profile", user_id)
    if row is None:
        raise NotFoundException()
    return profile_from_row(row)


@get(
    "/api/users/profile",
    tags=["users"],
    summary="Own profile with the active subscription (cached 300 s)",
    responses={200: PROFILE_RESPONSE},
)
async def get_profile(request: AnyRequest) -> Response[bytes]:
    user = await current_user(request)
    svc = services(request)
    return await cached_json(request, PROFILE, user, lambda: _profile(svc, user.id))


@patch(
    "/api/users/profile",
    tags=["users"],
    summary="Change own full name",
    guards=[user_guard],
    responses={200: PROFILE_RESPONSE},
)
async def update_profile(request: AnyRequest, data: JSONBody[ProfileUpdate]) -> Response[bytes]:
    user = await current_user(request)
    svc = services(request)
    await svc.db.execute("users.update_profile", user.id, data.full_name)
    await invalidate_user(svc, user.id)
    return json_response(msgspec.json.encode(await _profile(svc, user.id)), hit=False)


@patch(
    "/api/admin/users/{user_id:int}",
    guards=[admin_guard],
    tags=["admin"],
    summary="Activate, deactivate, promote or demote a user",
    description="409 when the change would leave no active admin (the caller included).",
    opt={ERRORS_OPT: (409,)},
)
async def admin_update_user(
    request: AnyRequest, user_id: RowId, data: JSONBody[AdminUserUpdate]
) -> CurrentUser:
    svc = services(request)
    async with svc.db.transaction() as tx:
        # Locked until commit: a concurrent change of admins waits, then sees this one.
        admins = {row["id"] for row in await tx.fetch("users.lock_active_admins")}
        removes_admin = data.is_active is False or data.is_admin is False
        if removes_admin and admins == {user_id}:
            raise HTTPException(status_code=409, detail=LAST_ADMIN)
        row = await tx.fetchrow("users.admin_update", user_id, data.is_active, data.is_admin)
    if row is None:
        raise NotFoundException(detail="No such user")
    if data.is_active is False:  # PostgreSQL now refuses every token issued before
        await revoke_all(svc, user_id)
    await invalidate_user(svc, user_id)
    return record_from_row(row)


# (filter by tier?, filter by is_active?) -> the query that has an index for it
_ADMIN_LIST_QUERIES = {
    (False, False): "users.admin_list",
    (True, False): "users.admin_list_by_tier",
    (False, True): "users.admin_list_by_active",
    (True, True): "users.admin_list_by_tier_active",
}


@get(
    "/api/admin/users",
    guards=[admin_guard],
    dependencies={"page": provide_page},
    tags=["admin"],
    summary="All users, newest first, optionally by tier and activity",
)
async def admin_list_users(
    request: AnyRequest,
    page: NamedDependency[PageRequest],
    tier: FromQuery[Tier | None] = None,
    is_active: FromQuery[bool | None] = None,
) -> Page[CurrentUser]:
    query = _ADMIN_LIST_QUERIES[tier is not None, is_active is not None]
    filters = [value for value in (tier, is_active) if value is not None]
    # The read replica when configured: a listing may trail the primary by its replay lag.
    rows = await services(request).reads.fetch(
        query, *filters, page.after.created_at, page.after.id, page.fetch
    )
    return make_page(rows, page, record_from_row)


route_handlers = [get_profile, update_profile, admin_list_users, admin_update_user]
