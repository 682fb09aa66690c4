"""The request gate: rate limiting and the auth lookups of every /api request, in one
Redis round trip (redis/gate.lua).

For each /api request it
1. verifies the bearer token's signature (cached; see auth.tokens), if there is one;
2. picks the policy (login/register share a stricter per-IP bucket, see POLICIES) and
   the client: the user id for a valid token, else the client IP (the socket peer, or
   X-Forwarded-For when the peer is a trusted proxy);
3. runs the gate script: the sliding-window decision and, for a user, their revocation
   state and cached record, which auth.current then uses without another round trip;
4. answers 429 when over the limit, else calls the app and adds the rate-limit headers.

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

import ipaddress
import math
from collections.abc import Iterable
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

from alpine_api.auth.current import CLAIMS, GATE_RESULT, USER_ID, decode_record
from alpine_api.caching import ME, PROFILE, SIGNALS, CachePolicy, entry_location
from alpine_api.config import RateSpec, Settings
from alpine_api.http.query import query_problem
from alpine_api.metrics import (
    CACHE_HITS,
    RATE_LIMIT_EXCEEDED,
    RATE_LIMIT_REQUESTS,
    RATE_LIMIT_UNAVAILABLE,
)
from alpine_api.redis import keys
from alpine_api.redis.client import REDIS_ERRORS
from alpine_api.services import Services

DEFAULT = "default"
AUTH = "auth"
# Per-route policies: path -> policy name. Paths not listed use DEFAULT.
# A policy here is counted per client IP, whatever token the request carries.
ROUTE_POLICIES: dict[str, str] = {
    "/api/auth/login": AUTH,
    "/api/auth/register": AUTH,
}


# Cached GET routes the gate may answer from Redis directly (see the module docstring).
FAST_ROUTES: dict[str, CachePolicy] = {
    "/api/auth/me": ME,
    "/api/users/profile": PROFILE,
    "/api/signals/subscribed": SIGNALS,
}
_FAST_HITS = {policy.name: CACHE_HITS.labels(cache=policy.name) for policy in FAST_ROUTES.values()}
TIER_HINTS_MAX = 100_000


class Policy:
    """A named limit with its metric children and constant header parts made once."""

    def __init__(self, name: str, spec: RateSpec) -> None:
        self.name = name
        self.limit = spec.limit
        self.window_ms = spec.window_seconds * 1000
        self.requests = RATE_LIMIT_REQUESTS.labels(policy=name)
        self.exceeded = RATE_LIMIT_EXCEEDED.labels(policy=name)
        self.unavailable = RATE_LIMIT_UNAVAILABLE.labels(policy=name)
        self.static_headers = [
            (b"x-ratelimit-limit", str(spec.limit).encode()),
            (b"ratelimit-policy", f'"{name}";q={spec.limit};w={spec.window_seconds}'.encode()),
        ]

    def headers(self, remaining: int, reset_ms: int) -> list[tuple[bytes, bytes]]:
        reset = str(max(1, math.ceil(reset_ms / 1000))).encode()
        return [
            *self.static_headers,
            (b"x-ratelimit-remaining", str(remaining).encode()),
            (b"x-ratelimit-reset", reset),
            (
                b"ratelimit",
                b'"' + self.name.encode() + b'";r=' + str(remaining).encode() + b";t=" + reset,
            ),
        ]


def build_policies(settings: Settings) -> dict[str, Policy]:
    return {
        DEFAULT: Policy(DEFAULT, settings.rate_limit),
        AUTH: Policy(AUTH, settings.auth_rate_limit),
    }


class ClientAddress:
    """The client IP: the socket peer, unless the peer is a trusted proxy."""

    def __init__(self, trusted: Iterable[str]) -> None:
        self.trusted = [ipaddress.ip_network(item, strict=False) for item in trusted]

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    def of(self, scope: Scope) -> str:
        client = scope.get("client")
        peer = client[0] if client else "unknown"
        if not self.trusted or not self._is_trusted(peer):
            return peer
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                hops = [hop.strip() for hop in value.decode("latin-1").split(",")]
                # The nearest hop that is not one of our proxies is the client.
                for hop in reversed(hops):
                    if hop and not self._is_trusted(hop):
                        return hop
        return peer


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
            prepared["policies"] = build_policies(svc.settings)
            prepared["client"] = ClientAddress(svc.settings.trusted_proxies)
        state = scope["state"]
        token = _bearer(scope)
        claims = svc.tokens.verify(token) if token else None
        if claims is not None:
            state[CLAIMS] = claims
        policy_name = ROUTE_POLICIES.get(scope["path"], DEFAULT)
        policy: Policy = prepared["policies"][policy_name]
        # A policy of ROUTE_POLICIES counts per IP; the default one per user when known.
        user_id = claims.user_id if claims is not None and policy_name == DEFAULT else None
        limiting = svc.settings.rate_limit_enabled
        if not limiting and user_id is None:
            await app(scope, receive, send)
            return
        client = keys.user_tag(user_id) if user_id else keys.ip_tag(prepared["client"].of(scope))
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
            result = await svc.gate.check(
                keys.rate_window(client, policy.name),
                policy.limit if limiting else 0,
                policy.window_ms,
                user_id=user_id,
                jti=claims.jti if claims is not None and user_id else "",
                cached=cached,
                gzip=cached is not None and _accepts_gzip(scope),
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
        if user_id is not None:
            state[GATE_RESULT] = result
        headers: list[tuple[bytes, bytes]] = []
        if limiting:
            policy.requests.inc()
            headers = policy.headers(result.remaining, result.reset_ms)
            if not result.allowed:
                policy.exceeded.inc()
                retry_after = str(max(1, math.ceil(result.reset_ms / 1000))).encode()
                detail = (
                    f"Rate limit exceeded: {policy.limit} requests per {policy.window_ms // 1000} s"
                )
                await _send_error(send, 429, detail, [*headers, (b"retry-after", retry_after)])
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
