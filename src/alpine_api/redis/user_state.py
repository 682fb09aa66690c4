"""A user's authentication state in Redis: their cached record and revoked tokens."""

from __future__ import annotations

from alpine_api.redis import keys
from alpine_api.redis.client import RedisServer


class UserState:
    def __init__(self, redis: RedisServer) -> None:
        self._commands = redis.commands
        self._record_set = redis.script("record_set")
        self._revoke = redis.script("revoke")

    async def store_record(self, user_id: int, record: bytes, generation: bytes, ttl: int) -> bool:
        """Cache the record unless the user changed since `generation` was read."""
        generation_key = keys.generation(keys.user_tag(user_id))
        stored = await self._record_set(
            keys=[generation_key, keys.user_record(user_id)], args=[generation, record, ttl]
        )
        return bool(stored)

    async def add_revocations(
        self,
        user_id: int,
        entries: list[tuple[str, int]],
        *,
        complete_at: bytes | None,
        ttl_ms: int,
    ) -> None:
        """Record (jti, expires_ms) pairs. `complete_at`: they are PostgreSQL's whole set,
        read when the user's generation was this; the hash is marked complete only if it
        still is."""
        generation_key = keys.generation(keys.user_tag(user_id))
        args: list[str | bytes | int] = [b"" if complete_at is None else complete_at, ttl_ms]
        for jti, expires_ms in entries:
            args += [jti, expires_ms]
        await self._revoke(keys=[keys.revoked(user_id), generation_key], args=args)

    async def forget(self, user_id: int) -> None:
        """After a write to the user: drop their cached record and make every cached
        response of theirs stale (one round trip)."""
        async with self._commands.pipeline(transaction=False) as pipe:
            pipe.delete(keys.user_record(user_id))
            pipe.incr(keys.generation(keys.user_tag(user_id)))
            await pipe.execute()

    async def forget_revocations(self, user_id: int) -> None:
        """Drop what Redis knew of the user's revocations: the next check asks PostgreSQL."""
        await self._commands.delete(keys.revoked(user_id))
