"""Logout: revoking one access token, durably, for every worker and instance.

PostgreSQL is the record (revoked_tokens); Redis is the fast path the request gate
reads. A revocation is written to PostgreSQL first, then to Redis. If Redis cannot
take it, the write is retried in the background (redis/deferred.py, DeferredWrites)
and, until then, any worker that finds the user's Redis hash incomplete asks
PostgreSQL. A revoked token is therefore never accepted: not on another worker, not
while Redis is down, not after Redis restarts empty.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from alpine_api.auth import queries
from alpine_api.db import Database, DatabaseUnavailable
from alpine_api.services import Services
from alpine_api.tokens import LEEWAY_SECONDS, Claims


def _hash_ttl_ms(svc: Services) -> int:
    # Long enough to outlive every token it lists; when it expires the next check
    # reloads it from PostgreSQL, which is always correct.
    return (svc.settings.jwt_ttl_seconds + LEEWAY_SECONDS) * 1000


async def push_revocations(
    svc: Services, user_id: int, entries: list[tuple[str, int]], *, generation: bytes | None
) -> None:
    """Write (jti, expires_ms) pairs to the user's Redis hash; raises on Redis errors.
    With `generation`, the pairs are PostgreSQL's complete set, read after the user's
    generation was `generation` (see redis/revoke.lua)."""
    await svc.user_state.add_revocations(
        user_id, entries, complete_at=generation, ttl_ms=_hash_ttl_ms(svc)
    )


async def sync_revocations(svc: Services, user_id: int, generation: bytes) -> None:
    """Load the user's unexpired revocations from PostgreSQL and mark the hash complete,
    unless a write to the user (a deactivation) came after `generation` was read."""
    entries = await queries.list_revoked(svc.db, user_id=user_id)
    await push_revocations(svc, user_id, entries, generation=generation)


async def revoke(svc: Services, claims: Claims) -> None:
    expires_at = datetime.fromtimestamp(claims.exp + LEEWAY_SECONDS, tz=UTC)
    await queries.revoke_token(
        svc.db, jti=claims.jti, user_id=claims.user_id, expires_at=expires_at
    )
    entry = (claims.jti, (claims.exp + LEEWAY_SECONDS) * 1000)
    await svc.deferred.run(push_revocations, svc, claims.user_id, [entry], generation=None)


async def revoke_all(svc: Services, user_id: int) -> None:
    """After a deactivation (PostgreSQL already refuses the user's earlier tokens): Redis
    forgets that it knew the user's revocations, so their tokens are checked against
    PostgreSQL until the earlier ones have expired (see auth.current)."""
    await svc.deferred.run(svc.user_state.forget_revocations, user_id)


PURGE_INTERVAL_SECONDS = 600


async def purge_expired_revocations(db: Database) -> None:
    """Background task of each worker: drop revocations of tokens expired long ago."""
    while True:
        await asyncio.sleep(PURGE_INTERVAL_SECONDS)
        try:
            await queries.purge_expired_revocations(db)
        except DatabaseUnavailable:
            continue  # the next round will do it
