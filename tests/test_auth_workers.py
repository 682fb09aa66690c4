"""Revocation and deactivation across two Granian workers, through a Redis outage and
an empty restart: a revoked token is never accepted again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import httpx

from alpine_api.embedded import EmbeddedValkey
from tests.support import DEFAULT_PASSWORD, bearer, insert_user


async def _statuses(http: httpx.AsyncClient, token: str, n: int = 20) -> set[int]:
    headers = {"Authorization": f"Bearer {token}"}
    answers = await asyncio.gather(*(http.get("/api/auth/me", headers=headers) for _ in range(n)))
    return {a.status_code for a in answers}


async def test_revoked_token_stays_revoked_on_every_worker_through_redis_faults(
    serve,
    database_url: str,
    db: asyncpg.Connection,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    admin = bearer(await insert_user(db, "admin@example.com", is_admin=True))
    user_id = await insert_user(db, "walker@example.com")
    valkey = EmbeddedValkey(tmp_path / "valkey")
    valkey.start()
    try:
        server = serve(workers=2, ALPINE_REDIS_URL=valkey.url)
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            login = {"email": "walker@example.com", "password": DEFAULT_PASSWORD}
            revoked = (await http.post("/api/auth/login", json=login)).json()["access_token"]
            kept = (await http.post("/api/auth/login", json=login)).json()["access_token"]
            assert await _statuses(http, revoked) == {200}  # both workers cached the user
            logout = await http.post(
                "/api/auth/logout", headers={"Authorization": f"Bearer {revoked}"}
            )
            assert logout.status_code == 204
            assert await _statuses(http, revoked) == {401}
            assert await _statuses(http, kept) == {200}

            valkey.stop()  # outage: checks go to PostgreSQL
            assert await _statuses(http, revoked) == {401}
            assert await _statuses(http, kept) == {200}

            valkey.start()  # back, empty
            assert await _statuses(http, revoked) == {401}
            assert await _statuses(http, kept) == {200}

            deactivate = await http.patch(
                f"/api/admin/users/{user_id}", headers=admin, json={"is_active": False}
            )
            assert deactivate.status_code == 200
            assert await _statuses(http, kept) == {401}
    finally:
        valkey.stop()
