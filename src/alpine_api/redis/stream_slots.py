"""Per-user open-stream slots, shared by every worker and instance.

A slot is a member of the user's sorted set whose score is its lease expiry. The worker
holding a stream renews the lease while the stream is open and removes the member when
it ends; a crashed worker's slots expire after one lease.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from alpine_api.redis import keys
from alpine_api.redis.client import RedisServer

LEASE_MS = 30_000


def _now_ms() -> int:
    return int(time.time() * 1000)


class StreamSlots:
    def __init__(self, redis: RedisServer, limit: int) -> None:
        self._take = redis.script("stream_slots")
        self._redis = redis.commands
        self.limit = limit

    async def take(self, user_id: int, member: str) -> bool:
        taken = await self._take(
            keys=[keys.stream_slots(user_id)], args=[_now_ms(), LEASE_MS, self.limit, member]
        )
        return bool(taken)

    async def renew(self, held: Iterable[tuple[int, str]]) -> None:
        """Extend the leases of the slots this worker holds (re-adding any Redis lost)."""
        expires = _now_ms() + LEASE_MS
        pipe = self._redis.pipeline(transaction=False)
        for user_id, member in held:
            pipe.zadd(keys.stream_slots(user_id), {member: expires})
            pipe.pexpire(keys.stream_slots(user_id), LEASE_MS)
        await pipe.execute()

    async def give_back(self, user_id: int, member: str) -> None:
        await self._redis.zrem(keys.stream_slots(user_id), member)
