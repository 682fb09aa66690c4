"""Helpers for tests/test_pooler.py: PostgreSQL's backends sampled, PgBouncer's clients
counted, a burst of uncached requests."""

from __future__ import annotations

import asyncio
from collections import Counter
from urllib.parse import urlsplit

import asyncpg
import httpx
import psycopg

from alpine_api.embedded_pgbouncer import EmbeddedPgBouncer


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


class Backends:
    """Samples PostgreSQL's backends of one database (over a direct connection)."""

    def __init__(self, admin_url: str, database: str) -> None:
        self.admin_url = admin_url
        self.database = database
        self.samples: list[int] = []
        self._stop = asyncio.Event()

    async def run(self) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            while not self._stop.is_set():
                self.samples.append(
                    await conn.fetchval(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = $1 AND backend_type = 'client backend'",
                        self.database,
                    )
                )
                await asyncio.sleep(0.05)
        finally:
            await conn.close()

    def stop(self) -> None:
        self._stop.set()


def pooler_clients(bouncer: EmbeddedPgBouncer, database: str) -> int:
    """Client connections PgBouncer holds for `database` (its console speaks only the
    simple query protocol, which psycopg's ClientCursor uses)."""
    with psycopg.connect(
        bouncer.url("pgbouncer"), autocommit=True, cursor_factory=psycopg.ClientCursor
    ) as conn:
        cursor = conn.execute("SHOW CLIENTS")
        names = [column.name for column in cursor.description or []]
        return sum(1 for row in cursor.fetchall() if row[names.index("database")] == database)


async def burst(urls: list[str], per_url: int, token: str) -> Counter[int]:
    """`per_url` concurrent GET /api/notifications (uncached: a query each) on every URL."""
    limits = httpx.Limits(max_connections=per_url * len(urls))
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=10, limits=limits, headers=headers) as http:
        calls = [http.get(f"{url}/api/notifications") for url in urls for _ in range(per_url)]
        return Counter(r.status_code for r in await asyncio.gather(*calls))
