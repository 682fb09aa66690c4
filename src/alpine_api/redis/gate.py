"""The per-request Redis round trip: rate-limit decision plus the auth lookups."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence
from typing import NamedTuple

from alpine_api.redis import keys
from alpine_api.redis.cache import CacheRead, Lookup
from alpine_api.redis.client import RedisServer

# GateResult.policy for a user's request that was not counted (see gate.lua).
REFUSED = 0  # the token is revoked or the user inactive
UNKNOWN = -1  # Redis cannot tell: no cached record or incomplete revocations


class GateResult(NamedTuple):
    policy: int  # number (from 1) of the limit pair counted under, else REFUSED / UNKNOWN
    allowed: bool
    remaining: int
    reset_ms: int
    revoked: int  # -1 unknown (ask PostgreSQL), 0 not revoked, 1 revoked
    record: bytes | None  # the user's cached record, when asked for and present
    generation: bytes  # the user's generation when the record was read
    # The cached-response lookup asked for (its token is this call's nonce), and the
    # number of the (entry, lock) pair it concerns (see gate.lua); None when not asked
    # or not made (token refused or unknown, request over the limit).
    cache: CacheRead | None
    cache_pair: int


class Gate:
    def __init__(self, redis: RedisServer) -> None:
        self._script = redis.script("gate")
        # Unique per request across workers and instances, and all of one length (16
        # characters): how the script spots retries among a client's last admissions.
        self._prefix = secrets.token_hex(4)
        self._counter = itertools.count()

    async def check(
        self,
        limiter_key: str,
        limits: Sequence[int],
        *,
        user_id: int | None = None,
        jti: str = "",
        cached: Sequence[str] = (),
        gzip: bool = False,
        lock_ms: int = 0,
    ) -> GateResult:
        """One EVALSHA. `limits`: flat (limit, window ms) pairs, empty to skip limiting;
        without `user_id` the first pair applies, with it (which adds the auth lookups)
        one pair per tier, starter first, and the user's cached record picks it.
        `cached` (a namespace's generation key, then (entry, lock) key pairs: one, or one
        per tier; in the user's slot on a cluster) adds a cached-response lookup that
        on a miss takes the compute lock for `lock_ms`, with this call's nonce as its token.
        Raises when Redis does not answer."""
        nonce = f"{self._prefix}{next(self._counter) & 0xFFFFFFFF:08x}"
        if user_id is None:
            script_keys = [limiter_key]
        else:
            script_keys = [
                limiter_key,
                keys.revoked(user_id),
                keys.user_record(user_id),
                keys.generation(keys.user_tag(user_id)),
            ]
            script_keys += cached
        reply = await self._script(
            keys=script_keys, args=[nonce, jti, f"{'z' if gzip else 'b'}{lock_ms}", *limits]
        )
        policy, allowed, remaining, reset_ms, revoked, record, generation = reply[:7]
        body, body_gzip, lookup, cache_generation, pair = reply[7:]
        cache = None
        if lookup:
            cache = CacheRead(
                Lookup(lookup), body or None, cache_generation, nonce, bool(body_gzip)
            )
        return GateResult(
            int(policy),
            bool(allowed),
            int(remaining),
            int(reset_ms),
            int(revoked),
            record or None,
            generation,
            cache,
            int(pair),
        )
