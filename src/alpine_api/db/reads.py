"""Reads that may run on a streaming replica: `ReplicaReads`.

Only statements whose callers accept replication lag go through here (the admin
statistics, cached for minutes anyway, and the admin user listing). Everything a user
writes and then reads runs on the primary, so no read-after-write is ever stale.

Without a replica, or while it does not answer, these reads run on the primary. After a
failure the replica is left alone for `RETRY_AFTER_SECONDS`, so a dead replica costs one
read a connect timeout per interval rather than every read.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

import asyncpg

from alpine_api.config import Settings
from alpine_api.db.database import Database, DatabaseUnavailable, pool_options
from alpine_api.db.queries import Queries

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5.0


class Reader(Protocol):
    """What a read-only query function runs on: the pool, a transaction or ReplicaReads
    (the caller decides whether the read may trail the primary)."""

    async def fetch(self, name: str, *args: Any) -> list[asyncpg.Record]: ...

    async def fetchrow(self, name: str, *args: Any) -> asyncpg.Record | None: ...


async def connect_replica(settings: Settings, queries: Queries) -> Database | None:
    """A lazily filled pool on ALPINE_DATABASE_REPLICA_URL (None when unset): start-up
    neither waits for nor fails on the replica. Its statements are not prepared up
    front: the primary has checked the same files."""
    if not settings.database_replica_url:
        return None
    pool = await asyncpg.create_pool(
        settings.database_replica_url,
        min_size=0,
        max_size=settings.db_pool_max,
        timeout=settings.db_connect_timeout_seconds,
        command_timeout=settings.db_command_timeout_seconds,
        max_inactive_connection_lifetime=300,
        **pool_options(settings.database_pooler),
    )
    return Database(pool, queries, acquire_timeout=settings.db_connect_timeout_seconds + 1)


class ReplicaReads:
    def __init__(self, primary: Database, replica: Database | None) -> None:
        self.primary = primary
        self.replica = replica
        self._replica_down_until = 0.0

    def _target(self) -> Database | None:
        if self.replica is None or time.monotonic() < self._replica_down_until:
            return None
        return self.replica

    async def _run(self, method: str, name: str, args: tuple[Any, ...]) -> Any:
        replica = self._target()
        if replica is not None:
            try:
                return await getattr(replica, method)(name, *args)
            except DatabaseUnavailable as exc:
                self._replica_down_until = time.monotonic() + RETRY_AFTER_SECONDS
                log.warning("read replica unavailable (%s); reading from the primary", exc)
        return await getattr(self.primary, method)(name, *args)

    async def fetch(self, name: str, *args: Any) -> list[asyncpg.Record]:
        return await self._run("fetch", name, args)  # type: ignore[no-any-return]

    async def fetchrow(self, name: str, *args: Any) -> asyncpg.Record | None:
        return await self._run("fetchrow", name, args)  # type: ignore[no-any-return]

    async def close(self) -> None:
        if self.replica is not None:
            await self.replica.close()
