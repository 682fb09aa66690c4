"""The operator endpoints' SQL (sql/health/), as typed functions."""

from __future__ import annotations

from alpine_api.db import Executor


async def ping(db: Executor) -> None:
    """Raise unless a pooled connection runs a statement (`DatabaseUnavailable`, or the
    pool's own error)."""
    await db.fetchval("health.ping")
