"""The request gate: rate limiting and the auth lookups of every /api request, in one
Redis round trip (redis/gate.lua).

For each /api request it
1. verifies the bearer token's signature (cached; see tokens.py), if there is one: a
   public route (http.openapi.PUBLIC) needs no token, but one that comes with a valid
   token counts against its user, as every authenticated request does;
2. picks the client: the user id for a valid token, else the client IP (the socket peer,
   or X-Forwarded-For when the peer is a trusted proxy); login/register share a stricter
   per-IP policy (see rate_limits.py);
3. runs the gate script: the user's revocation state and cached record, and the
   sliding-window decision under the policy of the tier that record names; the token and
   that answer become the connection's `auth` (auth.current.TokenAuth), the record its
   `user` when Redis vouches for it, so that no one looks again;
4. when the script could not vouch for the token (revoked, user inactive, or not known
   to Redis), counts the request in a second call: against the user once PostgreSQL has
   vouched for them, else against the client IP, so a refused token never uses up its
   owner's quota (and, on a cluster, no script touches two clients' slots);
5. answers 429 when over the limit, else calls the app and adds the rate-limit headers.

A request counted per client IP (steps 2 and 4) needs no auth lookups, only a decision:
concurrent ones from one IP share a call (redis/gate.py Gate.admit), so a client that
sends many requests at once costs a round trip per group, not per request.

Cached GETs (caching.GATE_ROUTES) are answered by the gate itself when it can: the same
script call also looks up the cached response for this request (the user's own entry, or
on a single Redis the entry of the tier their record names). A hit is then one Redis
round trip and no handler at all; the gzip form stored with the entry is sent as is. On
a miss the call has also taken the compute lock, and the lookup is handed on to the
handler's caching.cached_json, which computes and stores without reading again (see
caching/gate.py).

Redis unreachable: requests pass (counted in rate_limit_unavailable_total) or, with
ALPINE_RATE_LIMIT_FAIL_OPEN=false, get 503; auth falls back to PostgreSQL either way.
The redis client's short timeout bounds how long a request can wait on a dead Redis.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from alpine_api.auth.current import TokenAuth, cached_user, load_user
from alpine_api.caching import GATE_ROUTES, CachePolicy, gate_answer, gate_lookup, hand_on
from alpine_api.caching.gate import LOCK_MS, GateLookup
from alpine_api.config import Settings
from alpine_api.db import DatabaseUnavailable
from alpine_api.http.query import query_problem
from alpine_api.http.raw import accepts_gzip, bearer_token, send_error, send_json
from alpine_api.rate_limits import ClientAddress, Limits, Policy
from alpine_api.redis import keys
from alpine_api.redis.client import REDIS_ERRORS
from alpine_api.redis.gate import UNKNOWN, Decision, GateResult
from alpine_api.services import Services
from alpine_api.tokens import Claims


async def _send_hit(send: Send, body: bytes, gz: bool, headers: list[tuple[bytes, bytes]]) -> None:
    hit = [(b"x-cache", b"HIT"), (b"vary", b"Accept-Encoding")]
    await send_json(
        send, 200, body, [*hit, *([(b"content-encoding", b"gzip")] if gz else []), *headers]
    )


async def _count_user_request(
    svc: Services,
    scope: Scope,
    claims: Claims,
    result: GateResult,
    limits: Limits,
    client: ClientAddress,
) -> tuple[Policy, GateResult | Decision]:
    """The policy a token's request counts under and the decision. The gate script has
    counted it when it could vouch for the token; else PostgreSQL decides here (as
    auth.current would, which then reuses the answer): a user it vouches for is counted
    under their tier, a refused token against the client IP, as an anonymous request."""
    if result.policy > 0:
        return limits.tiers[result.policy - 1], result
    user = None
    if result.policy == UNKNOWN:
        try:
            user = await load_user(svc, claims, result)
        except DatabaseUnavailable:
            pass  # nobody vouches for the token: counted per IP; the guard answers 503
        else:
            if user is None:
                scope["auth"] = None
    else:
        scope["auth"] = None  # refused: wherever a user is needed, the answer is 401
    if user is None:
        policy = limits.anonymous
        return policy, await svc.gate.admit(client.limiter(scope, policy), policy.args)
    scope["user"] = user
    policy = limits.of_tier(user.tier)
    return policy, await svc.gate.check(keys.user_limiter(user.id), policy.args)


@dataclass(slots=True)
class _Plan:
    """How one request is counted, and the cached entry it may be answered from."""

    claims: Claims | None
    user_id: int | None  # None: counted per client IP
    policy: Policy
    limiter: str
    limit_args: tuple[int, ...]
    fast: CachePolicy | None = None  # a GATE_ROUTES route the gate may answer itself
    lookup: GateLookup | None = None  # the cached response to look up with the check


def request_gate(settings: Settings) -> Callable[[ASGIApp], ASGIApp]:
    """The gate as app-level Litestar middleware. Its policies and client-address rules are
    built here, when the app is created, so a bad setting fails start-up (ConfigError)."""
    gate = _Gate(settings, Limits(settings), ClientAddress(settings.trusted_proxies))

    def wrap(app: ASGIApp) -> ASGIApp:
        async def gated(scope: Scope, receive: Receive, send: Send) -> None:
            await gate.handle(app, scope, receive, send)

        return gated

    return wrap


async def _run_with_headers(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, headers: list[tuple[bytes, bytes]]
) -> None:
    if not headers:
        await app(scope, receive, send)
        return

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *headers]
        await send(message)

    await app(scope, receive, send_with_headers)


class _Gate:
    """One app's gate, shared by every route (Litestar builds the middleware per route)."""

    def __init__(self, settings: Settings, limits: Limits, client: ClientAddress) -> None:
        self.settings = settings
        self.limiting = settings.rate_limit_enabled
        self.limits = limits
        self.client = client

    async def handle(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not scope["path"].startswith("/api/"):
            await app(scope, receive, send)
            return
        svc: Services = scope["litestar_app"].state.services
        plan = self._plan(svc, scope)
        if plan is None:  # nothing to count and no user to look up
            await app(scope, receive, send)
            return
        try:
            result, counted = await self._check(svc, scope, plan)
        except REDIS_ERRORS:
            await self._without_redis(app, plan.policy, scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = []
        if self.limiting:
            policy = plan.policy
            policy.requests.inc()
            headers = policy.headers(counted.remaining, counted.reset_ms)
            if not counted.allowed:
                policy.exceeded.inc()
                retry_after = str(max(1, math.ceil(counted.reset_ms / 1000))).encode()
                await send_error(
                    send, 429, policy.detail, [*headers, (b"retry-after", retry_after)]
                )
                return
        if (
            plan.fast is not None
            and result is not None
            and await _send_cached(send, plan, result, headers)
        ):
            return
        await _run_with_headers(app, scope, receive, send, headers)

    def _plan(self, svc: Services, scope: HTTPScope) -> _Plan | None:
        """Decide the client and the policy; None when the request needs no gate call."""
        token = bearer_token(scope)
        claims = svc.tokens.verify(token) if token else None
        if claims is not None:
            scope["auth"] = TokenAuth(claims)
        route_policy = self.limits.routes.get(scope["path"])
        # A route's own policy counts per IP; any other request per user when known.
        user_id = claims.user_id if claims is not None and route_policy is None else None
        if not self.limiting and user_id is None:
            return None
        policy = route_policy or self.limits.anonymous
        if user_id is None:
            return _Plan(claims, None, policy, self.client.limiter(scope, policy), policy.args)
        plan = _Plan(claims, user_id, policy, keys.user_limiter(user_id), self.limits.tier_args)
        if scope["method"] == "GET" and self.settings.cache_enabled:
            self._find_cached(scope, plan, user_id)
        return plan

    def _find_cached(self, scope: HTTPScope, plan: _Plan, user_id: int) -> None:
        """For a GATE_ROUTES GET, the cached response the gate call should look up too."""
        fast = GATE_ROUTES.get(scope["path"])
        if fast is None or query_problem(scope) is not None:
            return  # the handler answers 400: never a cached body for such a query
        plan.fast = fast
        plan.lookup = gate_lookup(
            fast,
            user_id,
            scope["path"],
            scope["query_string"],
            cluster=self.settings.redis_cluster,
        )

    async def _check(
        self, svc: Services, scope: Scope, plan: _Plan
    ) -> tuple[GateResult | None, GateResult | Decision]:
        """The gate script's result (None for a request counted per IP, which needs no
        lookups), and the decision the request is counted under (the same, unless the
        script could not vouch for the token: see _count_user_request)."""
        claims, user_id = plan.claims, plan.user_id
        if user_id is None:
            return None, await svc.gate.admit(plan.limiter, plan.limit_args)
        counted: GateResult | Decision
        result = counted = await svc.gate.check(
            plan.limiter,
            plan.limit_args if self.limiting else (),
            user_id=user_id,
            jti=claims.jti if claims is not None else "",
            cached=plan.lookup.keys() if plan.lookup is not None else (),
            gzip=plan.lookup is not None and accepts_gzip(scope),
            lock_ms=LOCK_MS,
        )
        if plan.lookup is not None:
            hand_on(scope["state"], plan.lookup, result)
        assert claims is not None
        scope["auth"] = TokenAuth(claims, result)
        if (user := cached_user(result)) is not None and user.is_active:
            scope["user"] = user  # Redis vouched: no one else needs to look
        if self.limiting:
            plan.policy, counted = await _count_user_request(
                svc, scope, claims, result, self.limits, self.client
            )
        return result, counted

    async def _without_redis(
        self, app: ASGIApp, policy: Policy, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Redis failed: pass the request on, or 503 when rate limiting must not fail open."""
        if self.limiting:
            policy.unavailable.inc()
            if not self.settings.rate_limit_fail_open:
                await send_error(send, 503, "Rate limiting unavailable", [(b"retry-after", b"1")])
                return
        await app(scope, receive, send)


async def _send_cached(
    send: Send, plan: _Plan, result: GateResult, headers: list[tuple[bytes, bytes]]
) -> bool:
    """Answer a GATE_ROUTES GET from what the gate call returned; False on a miss."""
    answer = None if plan.fast is None else gate_answer(plan.fast, result)
    if answer is None:
        return False
    await _send_hit(send, *answer, headers)
    return True
