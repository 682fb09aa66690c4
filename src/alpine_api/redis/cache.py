"""Cached response bodies in Redis, with generations and a compute lock (see the .lua files)."""

from __future__ import annotations

import itertools
import os
import secrets
from enum import IntEnum
from typing import NamedTuple

from alpine_api.redis import keys
from alpine_api.redis.client import RedisServer


class Lookup(IntEnum):
    HIT = 1
    COMPUTE = 2  # miss; this caller holds the lock
    WAIT = 3  # miss; another caller is computing


class CacheRead(NamedTuple):
    state: Lookup
    body: bytes | None
    generation: bytes
    token: str  # names the caller that may hold the compute lock
    gzip: bool = False  # `body` is the stored gzip form


class CacheStore:
    def __init__(self, redis: RedisServer) -> None:
        self._client = redis.commands
        self._get = redis.script("cache_get")
        self._set = redis.script("cache_set")
        # Lock tokens: unique across workers and instances, cheap to make.
        self._token_prefix = f"{os.getpid()}.{secrets.token_hex(4)}."
        self._tokens = itertools.count()

    @staticmethod
    def _keys(tag: str, variant: str) -> list[str]:
        return [keys.generation(tag), keys.cache_entry(tag, variant), keys.cache_lock(tag, variant)]

    async def read(self, tag: str, variant: str, lock_ms: int, *, gzip: bool) -> CacheRead:
        """The entry (its gzip form when `gzip` and stored), or the lock, or WAIT."""
        token = f"{self._token_prefix}{next(self._tokens)}"
        state, body, generation, body_gzip = await self._get(
            keys=self._keys(tag, variant), args=[lock_ms, token, "z" if gzip else "b"]
        )
        return CacheRead(Lookup(int(state)), body or None, generation, token, bool(body_gzip))

    async def write(
        self, tag: str, variant: str, read: CacheRead, body: bytes, gz: bytes, ttl_ms: int
    ) -> bool:
        """Store `body` (and its gzip form, empty when not worth it) under the generation
        `read` saw and release the lock `read` took; False when a write moved the
        generation meanwhile."""
        stored = await self._set(
            keys=self._keys(tag, variant), args=[read.generation, body, ttl_ms, read.token, gz]
        )
        return bool(stored)

    async def bump(self, *tags: str) -> None:
        """Make every entry of these namespaces stale (one round trip per call)."""
        async with self._client.pipeline(transaction=False) as pipe:
            for tag in tags:
                pipe.incr(keys.generation(tag))
            await pipe.execute()
