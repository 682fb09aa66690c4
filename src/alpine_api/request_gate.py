"""The request gate: rate limiting and the auth lookups of every /api request, in one
Redis round trip (redis/gate.lua).

For each /api request it
1. verifies the bearer token's signature (cached; see tokens.py), if there is one;
2. picks the client: the user id for a valid token, else the client IP (the socket peer,
   or X-Forwarded-For when the peer is a trusted proxy); login/register share a stricter
   per-IP policy (see rate_limits.py);
3. runs the gate script: the user's revocation state and cached record, which
   auth.current then uses without another round trip, and the sliding-window decision
   under the policy of the tier that record names;
4. when the script could not vouch for the token (revoked, user inactive, or not known
   to Redis), counts the request in a second call: against the user once PostgreSQL has
   vouched for them, else against the client IP, so a refused token never uses up its
   owner's quota (and, on a cluster, no script touches two clients' slots);
5. answers 429 when over the limit, else calls the app and adds the rate-limit headers.

Cached GETs (FAST_ROUTES) are answered by the gate itself when it can: the same script
call also returns the current cached response for this request (the user's own entry, or
their tier's entry on a single Redis, where the tier is the last one seen for the user
and is checked against the record that comes back). A hit is then one Redis round trip
and no handler at all; the gzip form stored with the entry is sent as is. Anything else
(a miss, a tier change, an inactive user) goes on to the handler, which computes.

Redis unreachable: requests pass (counted in rate_limit_unavailable_total) or, with
ALPINE_RATE_LIMIT_FAIL_OPEN=false, get 503; auth falls back to PostgreSQL either way.
The redis client's short timeout bounds how long a request can wait on a dead Redis.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from alpine_api.auth.current import (
    CLAIMS,
    CURRENT_USER,
    GATE_RESULT,
    USER_ID,
    load_user,
)
from alpine_api.auth.schemas import decode_record
from alpine_api.caching import ME, PROFILE, SIGNALS, CachePolicy, entry_location
from alpine_api.db import DatabaseUnavailable
from alpine_api.http.query import query_problem
from alpine_api.metrics import CACHE_HITS
from alpine_api.rate_limits import DEFAULT, ClientAddress, Limits, Policy
from alpine_api.redis import keys
from alpine_api.redis.client import REDIS_ERRORS
from alpine_api.redis.gate import UNKNOWN, GateResult
from alpine_api.services import Services
from alpine_api.tokens import Claims

# Cached GET routes the gate may answer from Redis directly (see the module docstring).
FAST_ROUTES: dict[str, CachePolicy] = {
    "/api/auth/me": ME,
    "/api/users/profile": PROFILE,
    "/api/signals/subscribed": SIGNALS,
}
_FAST_HITS = {policy.name: CACHE_HITS.labels(cache=policy.name) for policy in FAST_ROUTES.values()}
TIER_HINTS_MAX = 100_000


def _accepts_gzip(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            return b"gzip" in value
    return False


async def _send_hit(send: Send, body: bytes, gz: bool, headers: list[tuple[bytes, bytes]]) -> None:
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 200,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-cache", b"HIT"),
            (b"vary", b"Accept-Encoding"),
            *([(b"content-encoding", b"gzip")] if gz else []),
            *headers,
        ],
    }
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(start)
    await send(end)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token else None
    return None


async def _send_error(
    send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]]
) -> None:
    body = msgspec.json.encode({"status_code": status, "detail": detail})
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
    }
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(start)
    await send(end)


def _ip_limiter(client: ClientAddress, scope: Scope, policy: Policy) -> str:
    return keys.limiter(keys.ip_tag(client.of(scope)), policy.name)


async def _count_user_request(
    svc: Services,
    scope: Scope,
    claims: Claims,
    result: GateResult,
    limits: Limits,
    client: ClientAddress,
) -> tuple[Policy, GateResult]:
    """The policy a token's request counts under and the decision. The gate script has
    counted it when it could vouch for the token; else PostgreSQL decides here (as
    auth.current would, which then reuses the answer): a user it vouches for is counted
    under their tier, a refused token against the client IP, as an anonymous request."""
    if result.policy > 0:
        return limits.tiers[result.policy - 1], result
    state = scope["state"]
    user = None
    if result.policy == UNKNOWN:
        try:
            user = await load_user(svc, claims, result)
        except DatabaseUnavailable:
            pass  # nobody vouches for the token: counted per IP; the handler answers 503
        else:
            if user is None:
                del state[CLAIMS]
    else:
        del state[CLAIMS]  # refused: wherever a user is needed, the answer is 401
    if user is None:
        policy = limits.anonymous
        return policy, await svc.gate.check(_ip_limiter(client, scope, policy), policy.args)
    state[CURRENT_USER] = user
    state[USER_ID] = user.id
    policy = limits.of_tier(user.tier)
    user_limiter = keys.limiter(keys.user_tag(user.id), DEFAULT)
    return policy, await svc.gate.check(user_limiter, policy.args)


def request_gate(app: ASGIApp) -> ASGIApp:
    """Litestar middleware factory (app-level `middleware=[request_gate]`)."""
    prepared: dict[str, Any] = {}
    tier_hints: dict[int, str] = {}  # user id -> tier last seen in their record

    async def gate(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not scope["path"].startswith("/api/"):
            await app(scope, receive, send)
            return
        svc: Services = scope["litestar_app"].state.services
        if not prepared:
            prepared["limits"] = Limits(svc.settings)
            prepared["client"] = ClientAddress(svc.settings.trusted_proxies)
        limits: Limits = prepared["limits"]
        state = scope["state"]
        token = _bearer(scope)
        claims = svc.tokens.verify(token) if token else None
        if claims is not None:
            state[CLAIMS] = claims
        route_policy = limits.routes.get(scope["path"])
        # A route's own policy counts per IP; any other request per user when known.
        user_id = claims.user_id if claims is not None and route_policy is None else None
        policy = route_policy or limits.anonymous
        limiting = svc.settings.rate_limit_enabled
        if not limiting and user_id is None:
            await app(scope, receive, send)
            return
        if user_id is not None:
            limiter_key, limit_args = (
                keys.limiter(keys.user_tag(user_id), DEFAULT),
                limits.tier_args,
            )
        else:
            limiter_key, limit_args = _ip_limiter(prepared["client"], scope, policy), policy.args
        fast, cached, tier_hint = None, None, ""
        if user_id is not None and scope["method"] == "GET" and svc.settings.cache_enabled:
            fast = FAST_ROUTES.get(scope["path"])
            if fast is not None and query_problem(scope) is not None:
                fast = None  # the handler answers 400: never a cached body for such a query
            if fast is not None and fast is not ME:
                # A tier's entries live in their own slot: only on a single Redis.
                if fast.scope == "tier" and not svc.settings.redis_cluster:
                    tier_hint = tier_hints.get(user_id, "")
                if fast.scope == "user" or tier_hint:
                    path, query = scope["path"], scope["query_string"]
                    tag, variant = entry_location(fast, user_id, tier_hint, path, query)
                    cached = (keys.generation(tag), keys.cache_entry(tag, variant))
        try:
            result = counted = await svc.gate.check(
                limiter_key,
                limit_args if limiting else (),
                user_id=user_id,
                jti=claims.jti if claims is not None and user_id else "",
                cached=cached,
                gzip=cached is not None and _accepts_gzip(scope),
            )
            if user_id is not None:
                state[GATE_RESULT] = result
                if limiting:
                    assert claims is not None
                    policy, counted = await _count_user_request(
                        svc, scope, claims, result, limits, prepared["client"]
                    )
        except REDIS_ERRORS:
            if limiting:
                policy.unavailable.inc()
                if not svc.settings.rate_limit_fail_open:
                    await _send_error(
                        send, 503, "Rate limiting unavailable", [(b"retry-after", b"1")]
                    )
                    return
            await app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = []
        if limiting:
            policy.requests.inc()
            headers = policy.headers(counted.remaining, counted.reset_ms)
            if not counted.allowed:
                policy.exceeded.inc()
                retry_after = str(max(1, math.ceil(counted.reset_ms / 1000))).encode()
                await _send_error(
                    send, 429, policy.detail, [*headers, (b"retry-after", retry_after)]
                )
                return
        if fast is not None and result.record is not None and result.revoked == 0:
            user = decode_record(result.record)
            if len(tier_hints) >= TIER_HINTS_MAX:
                tier_hints.clear()
            tier_hints[user.id] = user.tier
            if user.is_active:
                if fast is ME:
                    body, gz = result.record, False
                elif result.cached is not None and (fast.scope != "tier" or user.tier == tier_hint):
                    body, gz = result.cached, result.cached_gzip
                else:
                    body, gz = b"", False
                if body:
                    state[USER_ID] = user.id
                    _FAST_HITS[fast.name].inc()
                    await _send_hit(send, body, gz, headers)
                    return
        if not headers:
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await app(scope, receive, send_with_headers)

    return gate
