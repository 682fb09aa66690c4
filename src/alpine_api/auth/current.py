"""Who is calling: the current user of a request, and the admin guard.

The request gate (alpine_api.request_gate) has already verified the token's signature
and, in the same Redis round trip as the rate-limit decision, fetched the user's
revocation state and cached record. This module turns that into a CurrentUser, going to
PostgreSQL only when Redis could not answer: when Redis is down, restarted empty or
evicted the keys, the answer comes from the database, never from a guess.

Redis knows revocations by token id only. A deactivation refuses every token issued
before it (users.tokens_valid_after), ids unknown, so while such tokens may still be
unexpired the user's revocations are not marked complete in Redis: their requests are
checked against PostgreSQL (one primary-key query) until the last of them has expired.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from alpine_api.auth import queries
from alpine_api.auth.schemas import CurrentUser, decode_record
from alpine_api.redis.client import REDIS_ERRORS
from alpine_api.redis.gate import GateResult
from alpine_api.services import Services, services_of
from alpine_api.tokens import LEEWAY_SECONDS, Claims

log = logging.getLogger(__name__)

USER_RECORD_TTL_SECONDS = 300
WWW_AUTHENTICATE = {"WWW-Authenticate": "Bearer"}

# Keys of the ASGI scope state shared with the gate and the access log.
CLAIMS = "auth.claims"
GATE_RESULT = "auth.gate"
CURRENT_USER = "auth.user"
USER_ID = "user_id"


def unauthorized(detail: str = "Invalid or missing access token") -> NotAuthorizedException:
    return NotAuthorizedException(detail=detail, headers=WWW_AUTHENTICATE)


async def load_user(svc: Services, claims: Claims, gate: GateResult | None) -> CurrentUser | None:
    """The user behind valid claims, or None when revoked, unknown or inactive."""
    if gate is not None and gate.revoked == 1:
        return None
    if gate is not None and gate.revoked == 0 and gate.record is not None:
        user = decode_record(gate.record)
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


async def current_user(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser:
    """The request's user, resolved once per request; 401 when there is none."""
    state = connection.scope["state"]
    user: CurrentUser | None = state.get(CURRENT_USER)
    if user is not None:
        return user
    claims: Claims | None = state.get(CLAIMS)
    if claims is None:
        raise unauthorized()
    user = await load_user(services_of(connection.app.state), claims, state.get(GATE_RESULT))
    if user is None:
        raise unauthorized()
    state[CURRENT_USER] = user
    state[USER_ID] = user.id
    return user


async def user_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    """Litestar guard for routes that take input: 401 before any parameter or body of an
    anonymous request is parsed (guards run first)."""
    await current_user(connection)


async def admin_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    """Litestar guard for admin routes: 401 without a valid user, 403 for non-admins."""
    user = await current_user(connection)
    if not user.is_admin:
        raise PermissionDeniedException(detail="Administrator access required")
