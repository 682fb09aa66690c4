"""Response caching in Redis, scoped so nobody receives a response computed for someone else.

A handler answers through `cached_json(request, POLICY, user, compute)`. The cache key is
the policy's namespace plus its scope (the user's id, the user's tier, or nothing for
global entries) plus the path and the sorted query string: everything the response
depends on. Bodies are cached uncompressed and served as the stored bytes (compression,
when the client accepts it, happens afterwards for every response alike).

- Stampede protection: on a miss, one caller takes a short lock in the same script call
  and computes; the others poll for its result (a few ms apart) and compute themselves
  only if it never comes. A lock rather than probabilistic early refresh because the
  contract needs "computed once" for concurrent misses, not just fewer recomputations.
- Invalidation: each namespace has a generation counter, stored entries remember the
  generation they were computed under, and writes bump it: one INCR, no key scans, and
  a computation that raced with a write is never stored (cache_set.lua checks).
- Redis unreachable: the response is computed and served; the failure is counted.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, NamedTuple, Protocol

import msgspec
from litestar import MediaType, Request, Response

from alpine_api.metrics import CACHE_ERRORS, CACHE_HITS, CACHE_MISSES
from alpine_api.redis import keys
from alpine_api.redis.cache import CacheRead, Lookup
from alpine_api.redis.client import REDIS_ERRORS
from alpine_api.services import Services, services

LOCK_MS = 5000
GZIP_MIN_BYTES = 1000  # the contract's compression threshold
WAIT_SECONDS = 3.0
POLL_SECONDS = 0.005
_ABANDONED = b"-"  # a generation no entry has: writing under it only releases the lock


class Viewer(Protocol):
    """Whom a response is computed for: what a user- or tier-scoped key is made of
    (auth.schemas.CurrentUser is one). A protocol, so caching sits below auth."""

    @property
    def id(self) -> int: ...

    @property
    def tier(self) -> str: ...


class CachePolicy(NamedTuple):
    name: str  # namespace and the `cache` label of the hit/miss metrics
    scope: Literal["user", "tier", "global"]
    ttl_seconds: int | None  # None: the admin statistics TTL from settings


SIGNALS = CachePolicy("signals", "tier", 60)
PROFILE = CachePolicy("profile", "user", 300)
ADMIN_ANALYTICS = CachePolicy("admin_analytics", "global", None)
ADMIN_REVENUE = CachePolicy("admin_revenue", "global", None)
# GET /api/auth/me is served from the user's cached record (see auth.current), 300 s.
ME = CachePolicy("me", "user", 300)


def cache_header(hit: bool) -> dict[str, str]:
    return {"X-Cache": "HIT" if hit else "MISS"}


def json_response(body: bytes, *, hit: bool, status_code: int = 200) -> Response[bytes]:
    return Response(
        body, status_code=status_code, media_type=MediaType.JSON, headers=cache_header(hit)
    )


def entry_location(
    policy: CachePolicy, user_id: int, tier: str, path: str, query_string: bytes
) -> tuple[str, str]:
    """(hash tag, variant) of the entry for this request: everything it depends on."""
    query = query_string.decode("latin-1")
    canonical = "&".join(sorted(query.split("&"))) if query else ""
    if policy.scope == "user":
        tag, prefix = keys.user_tag(user_id), policy.name
    elif policy.scope == "tier":
        tag, prefix = keys.namespace_tag(policy.name), tier
    else:
        tag, prefix = keys.namespace_tag(policy.name), ""
    return tag, f"{prefix}:{path}?{canonical}"


def gzipped(body: bytes) -> bytes:
    """The gzip form stored next to a body worth compressing (served as is on a hit)."""
    return gzip.compress(body, compresslevel=6) if len(body) >= GZIP_MIN_BYTES else b""


async def cached_json(
    request: Request[Any, Any, Any],
    policy: CachePolicy,
    user: Viewer,
    compute: Callable[[], Awaitable[Any]],
) -> Response[bytes]:
    """Serve the cached JSON body for this request, or compute, store and serve it."""
    svc = services(request)
    if not svc.settings.cache_enabled:
        return json_response(msgspec.json.encode(await compute()), hit=False)
    tag, variant = entry_location(
        policy, user.id, user.tier, request.scope["path"], request.scope.get("query_string", b"")
    )
    ttl = policy.ttl_seconds or svc.settings.admin_cache_ttl_seconds
    try:
        read = await svc.cache.read(tag, variant, LOCK_MS)
        if read.state is Lookup.WAIT:
            read = await _wait(svc, tag, variant, read)
    except REDIS_ERRORS:
        CACHE_ERRORS.inc()
        CACHE_MISSES.labels(cache=policy.name).inc()
        return json_response(msgspec.json.encode(await compute()), hit=False)
    if read.state is Lookup.HIT and read.body is not None:
        CACHE_HITS.labels(cache=policy.name).inc()
        return json_response(read.body, hit=True)
    CACHE_MISSES.labels(cache=policy.name).inc()
    try:
        body = msgspec.json.encode(await compute())
    except BaseException:
        await _store(svc, tag, variant, read, _ABANDONED, b"", ttl)
        raise
    await _store(svc, tag, variant, read, read.generation, body, ttl)
    return json_response(body, hit=False)


async def _wait(svc: Services, tag: str, variant: str, read: CacheRead) -> CacheRead:
    """Poll while another caller computes; become the computer if it gives up."""
    deadline = time.monotonic() + WAIT_SECONDS
    while read.state is Lookup.WAIT and time.monotonic() < deadline:
        await asyncio.sleep(POLL_SECONDS)
        read = await svc.cache.read(tag, variant, LOCK_MS)
    return read


async def _store(
    svc: Services, tag: str, variant: str, read: CacheRead, generation: bytes, body: bytes, ttl: int
) -> None:
    if read.state is not Lookup.COMPUTE:
        return
    try:
        await svc.cache.write(
            tag, variant, read._replace(generation=generation), body, gzipped(body), ttl * 1000
        )
    except REDIS_ERRORS:
        CACHE_ERRORS.inc()


async def invalidate_user(svc: Services, user_id: int) -> None:
    """After a write that changes a user (profile, tier, activation, subscription):
    drops the cached record and makes every cached response of theirs stale."""
    await svc.deferred.run(svc.user_state.forget, user_id)


async def invalidate_signals(svc: Services) -> None:
    """After any signal write: every tier's cached signal pages become stale."""
    await svc.deferred.run(svc.cache.bump, keys.namespace_tag(SIGNALS.name))
