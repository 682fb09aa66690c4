"""The seed's SQL (named files under sql/), as typed functions over its connection.

The seed loads with COPY on one plain asyncpg connection, not the service's pool, so
these run the files' SQL on that connection; the service prepares the same files at its
start-up, which checks them.
"""

from __future__ import annotations

from functools import cache

import asyncpg

from alpine_api.db import Queries, load_queries
from alpine_api.resources import SQL_DIR


@cache
def _queries() -> Queries:
    return load_queries(SQL_DIR)


async def publish_loaded_signals(conn: asyncpg.Connection, *, after_id: int) -> None:
    """Write the feed notifications of the signals whose id is above `after_id`."""
    await conn.execute(_queries()["signals.publish_loaded"].sql, after_id)


async def recount_users(conn: asyncpg.Connection) -> None:
    """Bring every user_counts row to the true count (COPY fired no triggers)."""
    await conn.execute(_queries()["admin.recount_users"].sql)
