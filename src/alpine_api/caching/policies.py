"""What the response cache keeps, for whom and for how long, and its hit / miss counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple, Protocol

from alpine_api.metrics import CACHE_HITS, CACHE_MISSES
from alpine_api.redis import keys


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
POLICIES = (SIGNALS, PROFILE, ADMIN_ANALYTICS, ADMIN_REVENUE, ME)

_HITS = {policy.name: CACHE_HITS.labels(cache=policy.name) for policy in POLICIES}
_MISSES = {policy.name: CACHE_MISSES.labels(cache=policy.name) for policy in POLICIES}


def count(policy: CachePolicy, *, hit: bool) -> None:
    """Count one response of `policy`'s cache: `redis_cache_hits_total` or `_misses_total`."""
    (_HITS if hit else _MISSES)[policy.name].inc()


def entry_variants(
    policy: CachePolicy, user_id: int, tiers: Sequence[str], path: str, query_string: bytes
) -> tuple[str, tuple[str, ...]]:
    """(hash tag, variants) of this request's entry: everything it depends on. A
    tier-scoped policy has one variant per tier in `tiers`, the others one."""
    query = query_string.decode("latin-1")
    resource = f"{path}?{'&'.join(sorted(query.split('&'))) if query else ''}"
    if policy.scope == "user":
        return keys.user_tag(user_id), (f"{policy.name}:{resource}",)
    if policy.scope == "tier":
        return keys.namespace_tag(policy.name), tuple(f"{tier}:{resource}" for tier in tiers)
    return keys.namespace_tag(policy.name), (f":{resource}",)


def entry_location(
    policy: CachePolicy, user_id: int, tier: str, path: str, query_string: bytes
) -> tuple[str, str]:
    """(hash tag, variant) of the entry for this request, as seen by a user of `tier`."""
    tag, (variant,) = entry_variants(policy, user_id, (tier,), path, query_string)
    return tag, variant
