"""The per-request Redis round trip: rate-limit decision plus the auth lookups, and the
grouped decisions of per-IP clients (see Gate.admit)."""

from __future__ import annotations

import asyncio
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

# The most requests one grouped call decides: gate.lua keeps a call's admitted count in
# four hex digits next to its nonce.
MAX_GROUP = 0xFFFF


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


class Grant(NamedTuple):
    """A call's decision for `count` requests: the first `admitted` of them are let in."""

    admitted: int
    remaining: int
    reset_ms: int


class Decision(NamedTuple):
    """One request's share of a grouped decision."""

    allowed: bool
    remaining: int
    reset_ms: int


class Gate:
    def __init__(self, redis: RedisServer) -> None:
        self._script = redis.script("gate")
        # Unique per call across workers and instances, and all of one length (16
        # characters): how the script spots retries among a client's last admissions.
        self._prefix = secrets.token_hex(4)
        self._counter = itertools.count()
        # Limiter keys with a grouped call in flight -> the requests waiting for the next.
        self._waiting: dict[str, list[asyncio.Future[Decision]]] = {}
        self._calls: set[asyncio.Task[None]] = set()

    def _nonce(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFF:08x}"

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
        """One EVALSHA for one request. `limits`: flat (limit, window ms) pairs, empty to
        skip limiting; without `user_id` the first pair applies, with it (which adds the
        auth lookups) one pair per tier, starter first, and the user's cached record picks
        it. `cached` (a namespace's generation key, then (entry, lock) key pairs: one, or
        one per tier; in the user's slot on a cluster) adds a cached-response lookup that
        on a miss takes the compute lock for `lock_ms`, with this call's nonce as its token.
        Raises when Redis does not answer."""
        nonce = self._nonce()
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
            keys=script_keys,
            args=[nonce, jti, f"{'z' if gzip else 'b'}{lock_ms}", 1, *limits],
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

    async def take(
        self, limiter_key: str, limits: Sequence[int], count: int, nonce: str = ""
    ) -> Grant:
        """One EVALSHA deciding `count` requests of one client at once (`limits`: one
        (limit, window ms) pair). `nonce` names the call; a retry must reuse it."""
        reply = await self._script(
            keys=[limiter_key], args=[nonce or self._nonce(), "", "b", count, *limits]
        )
        return Grant(int(reply[1]), int(reply[2]), int(reply[3]))

    async def admit(self, limiter_key: str, limits: Sequence[int]) -> Decision:
        """Decide one request of the client of `limiter_key` (a per-IP key: its limits
        never change), with at most one call per key in flight in this worker.

        A request that finds no call in flight for its key is decided alone, at once.
        Requests arriving meanwhile wait; when the call returns, the next call decides all
        of them together (Redis admits as many as there is room for, atomically) and they
        are let in in arrival order. A client sending many concurrent requests thus costs
        a round trip per group instead of per request; every admission is still Redis's."""
        waiting = self._waiting.get(limiter_key)
        if waiting is not None:
            future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
            waiting.append(future)
            return await future
        self._waiting[limiter_key] = []
        try:
            grant = await self.take(limiter_key, limits, 1)
        finally:
            self._next_group(limiter_key, limits)
        return Decision(grant.admitted > 0, grant.remaining, grant.reset_ms)

    def _next_group(self, limiter_key: str, limits: Sequence[int]) -> None:
        """The call for `limiter_key` returned: start one for the requests that waited."""
        waiting = [f for f in self._waiting.pop(limiter_key) if not f.done()]
        if not waiting:
            return
        self._waiting[limiter_key] = waiting[MAX_GROUP:]
        call = asyncio.create_task(self._decide_group(limiter_key, limits, waiting[:MAX_GROUP]))
        self._calls.add(call)  # held until done: the loop keeps only weak references
        call.add_done_callback(self._calls.discard)

    async def _decide_group(
        self, limiter_key: str, limits: Sequence[int], group: list[asyncio.Future[Decision]]
    ) -> None:
        try:
            grant = await self.take(limiter_key, limits, len(group))
        except asyncio.CancelledError:
            for future in group:
                future.cancel()
            raise
        except Exception as exc:  # Redis failed: each request falls back on its own
            for future in group:
                if not future.done():
                    future.set_exception(exc)
        else:
            # The i-th admitted request sees what was left after it, as if decided alone.
            last = grant.remaining + grant.admitted - 1
            for i, future in enumerate(group):
                if not future.done():
                    admitted = i < grant.admitted
                    future.set_result(
                        Decision(admitted, last - i if admitted else 0, grant.reset_ms)
                    )
        finally:
            self._next_group(limiter_key, limits)
