"""The response cache's part in the request gate's one Redis call (redis/gate.lua).

For the routes in GATE_ROUTES the gate's script also looks the response up: a current
entry is sent by the gate itself (one round trip, no handler); on a miss the same call
takes the compute lock for this request and returns the generation to store under, and
the lookup is handed on to `cached_json` in the scope state, which computes and writes
without reading again (two round trips in all).

Not looked up by the gate, so `cached_json` reads the entry itself (cache_get.lua, one
round trip more): tier-scoped entries on a cluster (their hash tag is the namespace's,
not the user's, and one script call touches one slot); requests whose user Redis cannot
vouch for (no cached record yet: PostgreSQL decides first); routes not in GATE_ROUTES
(the admin statistics, which need the admin check of a handler).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from alpine_api.caching.policies import (
    ME,
    PROFILE,
    SIGNALS,
    CachePolicy,
    count,
    entry_variants,
)
from alpine_api.config import TIERS
from alpine_api.redis import keys
from alpine_api.redis.cache import CacheRead, Lookup
from alpine_api.redis.gate import GateResult

# Cached GET routes whose lookup the gate makes (see the module docstring).
GATE_ROUTES: dict[str, CachePolicy] = {
    "/api/auth/me": ME,
    "/api/users/profile": PROFILE,
    "/api/signals/subscribed": SIGNALS,
}
LOCK_MS = 5000  # the compute lock's lifetime: a computer that dies frees it this late
HANDED_ON = "cache.lookup"  # scope state: the gate's lookup, for cached_json


@dataclass(frozen=True, slots=True)
class GateLookup:
    """The entry (or, tier-scoped, one entry per tier) the gate call looks up."""

    tag: str
    variants: tuple[str, ...]

    def keys(self) -> list[str]:
        """gate.lua's KEYS[5..]: the generation, then an (entry, lock) pair per variant."""
        found = [keys.generation(self.tag)]
        for variant in self.variants:
            found += [keys.cache_entry(self.tag, variant), keys.cache_lock(self.tag, variant)]
        return found


class HandedOn(NamedTuple):
    """The gate's lookup of one entry, as cached_json takes it over."""

    tag: str
    variant: str
    read: CacheRead


def gate_lookup(
    policy: CachePolicy, user_id: int, path: str, query_string: bytes, *, cluster: bool
) -> GateLookup | None:
    """What the gate call should look up for a GATE_ROUTES GET; None for /me (answered
    from the user's record) and for tier-scoped entries on a cluster."""
    if policy is ME or (policy.scope == "tier" and cluster):
        return None
    # One entry per tier, in the order of gate.lua's TIERS (config.TIERS).
    return GateLookup(*entry_variants(policy, user_id, TIERS, path, query_string))


def hand_on(state: MutableMapping[str, Any], lookup: GateLookup, result: GateResult) -> None:
    """Leave a missed lookup (the lock taken, or another caller computing) for cached_json."""
    if result.cache is not None and result.cache.state is not Lookup.HIT:
        variant = lookup.variants[result.cache_pair - 1]
        state[HANDED_ON] = HandedOn(lookup.tag, variant, result.cache)


def gate_answer(policy: CachePolicy, result: GateResult) -> tuple[bytes, bool] | None:
    """The body the gate sends for a GATE_ROUTES GET, and whether it is gzip; None when
    the handler must answer. Only for a user the script vouched for (policy > 0: token
    not revoked, record present, user active), whose record picked the tier's entry."""
    if result.policy <= 0:
        return None
    if policy is ME:
        body, gz = result.record, False
    elif result.cache is not None and result.cache.state is Lookup.HIT:
        body, gz = result.cache.body, result.cache.gzip
    else:
        return None
    if not body:
        return None
    count(policy, hit=True)
    return body, gz
