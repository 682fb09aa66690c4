"""/api/auth: register, login, logout, me."""

from __future__ import annotations

from litestar import Response, get, post
from litestar.exceptions import ClientException
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody

from alpine_api.auth import queries
from alpine_api.auth.current import UserRequest
from alpine_api.auth.passwords import hash_password, verify_password
from alpine_api.auth.revocation import revoke
from alpine_api.auth.schemas import (
    CurrentUser,
    LoginRequest,
    RegisterRequest,
    TokenResponse,
)
from alpine_api.caching import record_response
from alpine_api.http.openapi import ERRORS_OPT, PUBLIC
from alpine_api.services import AnyRequest, services

LOGIN_FAILED = "Incorrect email or password"


class Conflict(ClientException):
    status_code = 409


@post(
    "/api/auth/register",
    tags=["auth"],
    summary="Create a starter account",
    opt={PUBLIC: True, ERRORS_OPT: (409,)},
)
async def register(request: AnyRequest, data: JSONBody[RegisterRequest]) -> Response[CurrentUser]:
    password_hash = await hash_password(data.password)
    try:
        user = await queries.register(
            services(request).db,
            email=data.email,
            password_hash=password_hash,
            full_name=data.full_name,
        )
    except queries.EmailTaken:
        raise Conflict(detail="An account with this email already exists") from None
    return Response(user, status_code=201)


@post(
    "/api/auth/login",
    status_code=200,
    tags=["auth"],
    summary="Exchange email and password for a token",
    opt={PUBLIC: True, ERRORS_OPT: (401,)},
)
async def login(request: AnyRequest, data: JSONBody[LoginRequest]) -> Response[TokenResponse]:
    svc = services(request)
    account = await queries.credentials(svc.db, email=data.email)
    # Unknown email, wrong password and inactive account: the same answer, after the
    # same work (a hash verification runs in every case).
    matches, needs_rehash = await verify_password(
        account.password_hash if account else None, data.password
    )
    if account is None or not matches or not account.is_active:
        raise ClientException(
            status_code=401, detail=LOGIN_FAILED, headers={"WWW-Authenticate": "Bearer"}
        )
    if needs_rehash:
        new_hash = await hash_password(data.password)
        await queries.update_password_hash(svc.db, user_id=account.user_id, password_hash=new_hash)
    token, _claims = svc.tokens.issue(account.user_id)
    return Response(
        TokenResponse(access_token=token, expires_in=svc.settings.jwt_ttl_seconds),
        headers={"Cache-Control": "no-store"},
    )


@post("/api/auth/logout", status_code=204, tags=["auth"], summary="Revoke the presented token")
async def logout(request: UserRequest) -> None:
    await revoke(services(request), request.auth.claims)


@get(
    "/api/auth/me",
    tags=["auth"],
    summary="The authenticated user (cached 300 s)",
    responses={200: ResponseSpec(CurrentUser, description="The user", generate_examples=False)},
)
async def me(request: UserRequest) -> Response[bytes]:
    gate = request.auth.gate
    return record_response(gate.record if gate is not None else None, request.user)


route_handlers = [register, login, logout, me]
