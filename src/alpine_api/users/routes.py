"""/api/users/profile (own) and /api/admin/users (`admin_router`, behind `admin_guard`)."""

from __future__ import annotations

import msgspec
from litestar import Response, Router, get, patch
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.openapi import ResponseSpec
from litestar.params import FromQuery, JSONBody

from alpine_api.auth.current import UserRequest, admin_guard
from alpine_api.auth.revocation import revoke_all
from alpine_api.auth.schemas import CurrentUser
from alpine_api.caching import PROFILE, cached_json, invalidate_user, json_response
from alpine_api.config import Tier
from alpine_api.http.openapi import ERRORS_OPT
from alpine_api.pagination import Page, PageRequest, RowId, provide_page
from alpine_api.services import AnyRequest, Services, services
from alpine_api.users import queries
from alpine_api.users.schemas import AdminUserUpdate, Profile, ProfileUpdate

LAST_ADMIN = "This change would leave no active admin"
# The handlers answer cached bytes; the document shows what those bytes are.
PROFILE_RESPONSE = ResponseSpec(Profile, description="The profile", generate_examples=False)


async def _profile(svc: Services, user_id: int) -> Profile:
    profile = await queries.profile(svc.db, user_id=user_id)
    if profile is None:
        raise NotFoundException()
    return profile


@get(
    "/api/users/profile",
    tags=["users"],
    summary="Own profile with the active subscription (cached 300 s)",
    responses={200: PROFILE_RESPONSE},
)
async def get_profile(request: UserRequest) -> Response[bytes]:
    user = request.user
    svc = services(request)
    return await cached_json(request, PROFILE, user, lambda: _profile(svc, user.id))


@patch(
    "/api/users/profile",
    tags=["users"],
    summary="Change own full name",
    responses={200: PROFILE_RESPONSE},
)
async def update_profile(request: UserRequest, data: JSONBody[ProfileUpdate]) -> Response[bytes]:
    user = request.user
    svc = services(request)
    await queries.update_profile(svc.db, user_id=user.id, full_name=data.full_name)
    await invalidate_user(svc, user.id)
    return json_response(msgspec.json.encode(await _profile(svc, user.id)), hit=False)


@patch(
    "/{user_id:int}",
    summary="Activate, deactivate, promote or demote a user",
    description="409 when the change would leave no active admin (the caller included).",
    opt={ERRORS_OPT: (409,)},
)
async def admin_update_user(
    request: AnyRequest, user_id: RowId, data: JSONBody[AdminUserUpdate]
) -> CurrentUser:
    svc = services(request)
    try:
        user = await queries.admin_update(
            svc.db, user_id=user_id, is_active=data.is_active, is_admin=data.is_admin
        )
    except queries.LastAdmin:
        raise HTTPException(status_code=409, detail=LAST_ADMIN) from None
    if user is None:
        raise NotFoundException(detail="No such user")
    if data.is_active is False:  # PostgreSQL now refuses every token issued before
        await revoke_all(svc, user_id)
    await invalidate_user(svc, user_id)
    return user


@get(
    "",
    dependencies={"page": provide_page},
    summary="All users, newest first, optionally by tier and activity",
)
async def admin_list_users(
    request: AnyRequest,
    page: NamedDependency[PageRequest],
    tier: FromQuery[Tier | None] = None,
    is_active: FromQuery[bool | None] = None,
) -> Page[CurrentUser]:
    # The read replica when configured: a listing may trail the primary by its replay lag.
    reads = services(request).reads
    return await queries.admin_list(reads, tier=tier, is_active=is_active, page=page)


route_handlers = [get_profile, update_profile]
admin_router = Router(
    "/api/admin/users",
    route_handlers=[admin_list_users, admin_update_user],
    guards=[admin_guard],
    tags=["admin"],
)
