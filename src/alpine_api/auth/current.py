"""Who is calling: the request's identity, and the two guards.

The request gate (alpine_api.request_gate) verifies the bearer token's signature and, in
the same Redis round trip as the rate-limit decision, fetches the user's revocation state
and cached record. It leaves the connection's `auth` (TokenAuth: the claims and that
answer) and, when Redis vouched for the user, its `user` (a CurrentUser). The
`authenticated` guard completes the user from PostgreSQL when Redis could not answer:
when Redis is down, restarted empty or evicted the keys, the answer comes from the
database, never from a guess. Handlers read `request.user`, typed by `UserRequest`.

Every route behind `authenticated` needs a user except those that declare themselves
public (`http.openapi.PUBLIC`); the OpenAPI document reads the same flag. A valid token
on a public route still names its user, who is counted for it (request_gate).

Redis knows revocations by token id only. A deactivation refuses every token issued
before it (users.tokens_valid_after), ids unknown, so while such tokens may still be
unexpired the user's revocations are not marked complete in Redis: their requests are
checked against PostgreSQL (one primary-key query) until the last of them has expired.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, TypeAlias

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from alpine_api.auth import queries
from alpine_api.auth.schemas import CurrentUser, decode_record
from alpine_api.http.openapi import is_public
from alpine_api.redis.client import REDIS_ERRORS
from alpine_api.redis.gate import GateResult
from alpine_api.services import Services, services_of
from alpine_api.tokens import LEEWAY_SECONDS, Claims

log = logging.getLogger(__name__)

USER_RECORD_TTL_SECONDS = 300
WWW_AUTHENTICATE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True, slots=True)
class TokenAuth:
    """A request's verified bearer token (the connection's `auth`) and what the gate's
    Redis call said of it: None when Redis was not asked or did not answer."""

    claims: Claims
    gate: GateResult | None = None


# The request of a route behind `authenticated`: `request.user` is the caller.
UserRequest: TypeAlias = Request[CurrentUser, TokenAuth, Any]


def unauthorized() -> NotAuthorizedException:
    return NotAuthorizedException(
        detail="Invalid or missing access token", headers=WWW_AUTHENTICATE
    )


def cached_user(gate: GateResult) -> CurrentUser | None:
    """The record Redis returned for a token it knows is not revoked, active or not;
    None when Redis could not vouch for the token."""
    if gate.revoked != 0 or gate.record is None:
        return None
    return decode_record(gate.record)


async def load_user(svc: Services, claims: Claims, gate: GateResult | None) -> CurrentUser | None:
    """The user behind valid claims, or None when revoked, unknown or inactive."""
    if gate is not None and gate.revoked == 1:
        return None
    if gate is not None and (user := cached_user(gate)) is not None:
        return user if user.is_active else None
    # Tokens issued before a deactivation can live this long after it.
    cutoff_window = svc.settings.jwt_ttl_seconds + 2 * LEEWAY_SECONDS
    check = await queries.check_token(svc.db, claims=claims, cutoff_window=cutoff_window)
    if check is None or check.revoked:
        return None
    user = check.user
    if gate is not None:  # Redis answered but lacked something: fill it in for next time
        await _refill(svc, claims.user_id, user, gate, complete=not check.cutoff_pending)
    return user if user.is_active else None


async def _refill(
    svc: Services, user_id: int, user: CurrentUser, gate: GateResult, *, complete: bool
) -> None:
    """Cache the record; load the revocations too when Redis may vouch for them alone."""
    from alpine_api.auth.revocation import sync_revocations

    try:
        record = msgspec.json.encode(user)
        await svc.user_state.store_record(user_id, record, gate.generation, USER_RECORD_TTL_SECONDS)
        if gate.revoked == -1 and complete:
            await sync_revocations(svc, user_id, gate.generation)
    except REDIS_ERRORS as exc:
        log.warning("could not refill the auth cache for user %s: %s", user_id, type(exc).__name__)


async def authenticated(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Every route but the public ones: 401 unless the request has a user, settled before
    any parameter or body of the request is parsed (guards run first)."""
    scope = connection.scope
    if "user" in scope or is_public(handler):
        return
    auth: TokenAuth | None = scope.get("auth")
    if auth is None:
        raise unauthorized()
    svc = services_of(connection.app.state)
    user = await load_user(svc, auth.claims, auth.gate)
    if user is None:
        raise unauthorized()
    scope["user"] = user


async def admin_guard(
    connection: ASGIConnection[CurrentUser, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    """Admin routes (after `authenticated`): 403 for users who are not admins."""
    if not connection.user.is_admin:
        raise PermissionDeniedException(detail="Administrator access required")
