"""Cached JSON responses: served from the entry, or computed once, sent and stored.

A handler answers through `cached_json(request, POLICY, user, compute)`. The cache key is
the policy's namespace plus its scope (the user's id, the user's tier, or nothing for
global entries) plus the path and the sorted query string: everything the response
depends on.

- gzip once: a computed body of GZIP_MIN_BYTES or more is compressed once, at GZIP_LEVEL,
  stored beside the body and sent as stored: to the client of the miss that computed it
  and on every hit, by the gate or here. Litestar's compression leaves these responses as
  they are (ScopeState.is_cached, the flag its own response cache sets for the same
  reason); a response computed without the cache (switched off, Redis down) is
  compressed by Litestar like any other.
- Stampede protection: on a miss, one caller takes a short lock in the lookup (the gate's
  call, or cache_get.lua) and computes; the others poll for its result (a few ms apart)
  and compute themselves only if it never comes. A lock rather than probabilistic early
  refresh because the contract needs "computed once" for concurrent misses, not just
  fewer recomputations.
- The write (cache_set.lua) runs after the response is sent, in a task nothing waits
  for: a failed write is counted in redis_cache_errors_total, and the lock it would have
  released expires. It stores the body only under the generation the lookup saw, so a
  computation that raced with a write (see invalidation.py) is never stored.
- Redis unreachable: the response is computed and served; the failure is counted.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.utils.scope.state import ScopeState

from alpine_api.caching.gate import HANDED_ON, LOCK_MS, HandedOn
from alpine_api.caching.policies import ME, CachePolicy, Viewer, count, entry_location
from alpine_api.http.raw import accepts_gzip
from alpine_api.metrics import CACHE_ERRORS
from alpine_api.redis.cache import CacheRead, Lookup
from alpine_api.redis.client import REDIS_ERRORS
from alpine_api.services import Services, services

GZIP_MIN_BYTES = 1000  # the contract's compression threshold
# Level 6: compressed once per entry and sent on every hit until it expires, so bytes
# sent count more than the one compression (BENCHMARKS.md, "gzip level of cached bodies").
GZIP_LEVEL = 6
WAIT_SECONDS = 3.0
POLL_SECONDS = 0.005
_ABANDONED = b"-"  # a generation no entry has: writing under it only releases the lock
_writes: set[asyncio.Task[None]] = set()  # held until done: the loop keeps weak references


def json_response(
    body: bytes, *, hit: bool, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response[bytes]:
    return Response(
        body,
        status_code=status_code,
        media_type=MediaType.JSON,
        headers={"X-Cache": "HIT" if hit else "MISS", **(headers or {})},
    )


def record_response(record: bytes | None, user: object) -> Response[bytes]:
    """GET /api/auth/me from the handler: the user's cached record when the gate read one
    (it is this very body), else the user PostgreSQL returned."""
    count(ME, hit=record is not None)
    if record is not None:
        return json_response(record, hit=True)
    return json_response(msgspec.json.encode(user), hit=False)


def gzipped(body: bytes) -> bytes:
    """The gzip form stored next to a body worth compressing; b"" for a smaller one."""
    return gzip.compress(body, compresslevel=GZIP_LEVEL) if len(body) >= GZIP_MIN_BYTES else b""


def _as_stored(
    request: Request[Any, Any, Any], content: bytes, *, gz: bool, hit: bool
) -> Response[bytes]:
    """A response sent as the cache stores it (`gz`: `content` is the gzip form), never
    compressed again on the way out."""
    ScopeState.from_scope(request.scope).is_cached = True
    headers = {"Vary": "Accept-Encoding", **({"Content-Encoding": "gzip"} if gz else {})}
    return json_response(content, hit=hit, headers=headers)


async def cached_json(
    request: Request[Any, Any, Any],
    policy: CachePolicy,
    user: Viewer,
    compute: Callable[[], Awaitable[Any]],
) -> Response[bytes]:
    """Serve the cached JSON body for this request, or compute, send and store it."""
    svc = services(request)
    if not svc.settings.cache_enabled:
        return json_response(msgspec.json.encode(await compute()), hit=False)
    scope = request.scope
    tag, variant = entry_location(
        policy, user.id, user.tier, scope["path"], scope.get("query_string", b"")
    )
    try:
        read = _handed_on(scope["state"], tag, variant)
        if read is None:
            read = await svc.cache.read(tag, variant, LOCK_MS, gzip=accepts_gzip(request.scope))
        if read.state is Lookup.WAIT:
            read = await _wait(svc, request, tag, variant, read)
    except REDIS_ERRORS:
        CACHE_ERRORS.inc()
        count(policy, hit=False)
        return json_response(msgspec.json.encode(await compute()), hit=False)
    if read.state is Lookup.HIT and read.body is not None:
        count(policy, hit=True)
        return _as_stored(request, read.body, gz=read.gzip, hit=True)
    count(policy, hit=False)
    ttl_ms = (policy.ttl_seconds or svc.settings.admin_cache_ttl_seconds) * 1000
    try:
        body = msgspec.json.encode(await compute())
    except BaseException:
        _store_later(svc, tag, variant, read._replace(generation=_ABANDONED), b"", b"", ttl_ms)
        raise
    gz = gzipped(body)
    _store_later(svc, tag, variant, read, body, gz, ttl_ms)
    if gz and accepts_gzip(request.scope):
        return _as_stored(request, gz, gz=True, hit=False)
    return _as_stored(request, body, gz=False, hit=False)


def _handed_on(state: dict[str, Any], tag: str, variant: str) -> CacheRead | None:
    """The gate's lookup of this very entry, if it made one (see caching.gate)."""
    handed: HandedOn | None = state.pop(HANDED_ON, None)
    if handed is None or (handed.tag, handed.variant) != (tag, variant):
        return None
    return handed.read


async def _wait(
    svc: Services, request: Request[Any, Any, Any], tag: str, variant: str, read: CacheRead
) -> CacheRead:
    """Poll while another caller computes; become the computer if it gives up."""
    wants_gzip = accepts_gzip(request.scope)
    deadline = time.monotonic() + WAIT_SECONDS
    while read.state is Lookup.WAIT and time.monotonic() < deadline:
        await asyncio.sleep(POLL_SECONDS)
        read = await svc.cache.read(tag, variant, LOCK_MS, gzip=wants_gzip)
    return read


def _store_later(
    svc: Services, tag: str, variant: str, read: CacheRead, body: bytes, gz: bytes, ttl_ms: int
) -> None:
    """Write the entry in a task of its own when this caller holds the lock."""
    if read.state is not Lookup.COMPUTE:
        return
    task = asyncio.create_task(_store(svc, tag, variant, read, body, gz, ttl_ms))
    _writes.add(task)
    task.add_done_callback(_writes.discard)


async def _store(
    svc: Services, tag: str, variant: str, read: CacheRead, body: bytes, gz: bytes, ttl_ms: int
) -> None:
    try:
        await svc.cache.write(tag, variant, read, body, gz, ttl_ms)
    except REDIS_ERRORS:
        CACHE_ERRORS.inc()
