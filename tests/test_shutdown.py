"""SIGTERM to `serve`: the request in flight finishes, then the worker closes its pools."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import asyncpg
import httpx

from tests.support import bearer, insert_user


async def _wait_for_lock_wait(database_url: str) -> None:
    """Until some backend waits on a lock (the request's UPDATE behind the test's lock)."""
    conn = await asyncpg.connect(database_url)
    try:
        async with asyncio.timeout(10):
            while True:  # PostgreSQL has no event for "a backend started waiting"
                waiting = await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                if waiting:
                    return
                await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def test_sigterm_lets_the_request_in_flight_finish(
    serve: Any, db: asyncpg.Connection, database_url: str
) -> None:
    user_id = await insert_user(db, "slow@example.com", full_name="Before")
    server = serve(workers=1)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        assert (await client.get("/api/users/profile", headers=bearer(user_id))).status_code == 200
        lock = db.transaction()
        await lock.start()
        await db.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user_id)
        request = asyncio.create_task(
            client.patch("/api/users/profile", json={"full_name": "After"}, headers=bearer(user_id))
        )
        await _wait_for_lock_wait(database_url)
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(1.0)
        assert not request.done()  # still waiting for the row, and the server waits for it
        assert server.proc.poll() is None
        await lock.rollback()
        response = await request
    assert response.status_code == 200
    assert response.json()["full_name"] == "After"
    code = await asyncio.to_thread(server.proc.wait, 20)
    assert code == 0, server.logs()
    assert await db.fetchval("SELECT full_name FROM users WHERE id = $1", user_id) == "After"
    logs = server.logs()
    finished = logs.index("PATCH /api/users/profile 200")
    assert logs.index("worker stopped: database pool and Redis client closed") > finished
