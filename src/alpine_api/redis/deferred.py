"""Redis writes that must not be lost: invalidations and revocations.

When Redis does not answer, such a write is kept and retried in the background until
it succeeds or stops mattering (older than `horizon`: every cached entry and token it
concerns has expired by then). The request that made it does not wait and does not fail:
PostgreSQL already holds the truth, and readers that miss Redis ask PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from alpine_api.redis.client import REDIS_ERRORS

log = logging.getLogger(__name__)

RETRY_INTERVAL_SECONDS = 0.5

Write = Callable[..., Awaitable[Any]]


class DeferredWrites:
    def __init__(self, horizon_seconds: float) -> None:
        self.horizon_seconds = horizon_seconds
        self._pending: list[tuple[float, Write, tuple[Any, ...], dict[str, Any]]] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def run(self, write: Write, *args: Any, **kwargs: Any) -> bool:
        """Run `write` now; if Redis fails, keep it for retry. True when it ran now."""
        try:
            await write(*args, **kwargs)
        except REDIS_ERRORS as exc:
            log.warning("redis write deferred (%s); retrying in the background", type(exc).__name__)
            self._pending.append((time.monotonic(), write, args, kwargs))
            if self._task is None or self._task.done():
                self._task = asyncio.create_task(self._retry())
            return False
        return True

    async def _retry(self) -> None:
        while self._pending:
            await asyncio.sleep(RETRY_INTERVAL_SECONDS)
            now = time.monotonic()
            batch, self._pending = self._pending, []  # writes deferred meanwhile go on after
            for item in batch:
                since, write, args, kwargs = item
                if now - since > self.horizon_seconds:
                    continue
                try:
                    await write(*args, **kwargs)
                except REDIS_ERRORS:
                    self._pending.append(item)
                except Exception:  # a write that cannot succeed must not block the others
                    log.exception("deferred redis write failed for good")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
