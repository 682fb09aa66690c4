"""GET /api/admin/users and PATCH /api/admin/users/{id}; the admin guard."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
from litestar.testing import AsyncTestClient

from alpine_api.users.routes import LAST_ADMIN
from tests.support import UNLIMITED, bearer, insert_user, pages

Client = AsyncTestClient  # type: ignore[type-arg]
DEMOTE = {"is_admin": False}


async def test_admin_routes_need_an_admin(client: Client, db: asyncpg.Connection) -> None:
    user = bearer(await insert_user(db, "user@example.com"))
    for method, path in [("GET", "/api/admin/users"), ("PATCH", "/api/admin/users/1")]:
        body = {"json": {"is_active": False}} if method == "PATCH" else {}
        anonymous = await client.request(method, path, **body)
        forbidden = await client.request(method, path, headers=user, **body)
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
        assert forbidden.status_code == 403
        assert forbidden.json()["status_code"] == 403
    assert await db.fetchval("SELECT is_active FROM users WHERE id = 1") is True


async def test_listing_filters_and_pages_over_ties(client: Client, db: asyncpg.Connection) -> None:
    admin = bearer(await insert_user(db, "admin@example.com", is_admin=True))
    tiers = ["starter", "pro", "elite"]
    for i in range(12):
        await insert_user(db, f"u{i}@example.com", tier=tiers[i % 3], is_active=i % 4 != 0)
    await db.execute("UPDATE users SET created_at = '2026-01-01T00:00:00Z'")  # all tied
    everyone = await pages(client, "/api/admin/users?limit=5", admin)
    assert [len(p) for p in everyone] == [5, 5, 3]
    flat = [i for page in everyone for i in page]
    assert flat == sorted(flat, reverse=True)  # ties broken by id, newest first
    for query, sql in [
        ("tier=pro", "tier = 'pro'"),
        ("is_active=false", "NOT is_active"),
        ("tier=starter&is_active=true", "tier = 'starter' AND is_active"),
    ]:
        expected = [
            r["id"] for r in await db.fetch(f"SELECT id FROM users WHERE {sql} ORDER BY id DESC")
        ]
        got = [
            i
            for page in await pages(client, f"/api/admin/users?{query}&limit=2", admin)
            for i in page
        ]
        assert got == expected, query


async def test_listing_rejects_bad_parameters(client: Client, db: asyncpg.Connection) -> None:
    admin = bearer(await insert_user(db, "admin@example.com", is_admin=True))
    for query, field in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("tier=gold", "tier"),
        ("is_active=maybe", "is_active"),
        ("cursor=not-a-cursor", "cursor"),
    ]:
        response = await client.get(f"/api/admin/users?{query}", headers=admin)
        assert response.status_code == 400, query
        assert field in response.text, query


async def test_deactivation_fails_the_users_tokens_at_once(
    client: Client, db: asyncpg.Connection
) -> None:
    admin = bearer(await insert_user(db, "admin@example.com", is_admin=True))
    user_id = await insert_user(db, "target@example.com")
    user = bearer(user_id)
    assert (await client.get("/api/auth/me", headers=user)).status_code == 200  # now cached
    response = await client.patch(
        f"/api/admin/users/{user_id}", headers=admin, json={"is_active": False}
    )
    assert response.status_code == 200
    assert response.json()["is_active"] is False and response.json()["id"] == user_id
    assert (await client.get("/api/auth/me", headers=user)).status_code == 401
    assert await db.fetchval("SELECT is_active FROM users WHERE id = $1", user_id) is False
    promoted = await client.patch(
        f"/api/admin/users/{user_id}", headers=admin, json={"is_active": True, "is_admin": True}
    )
    assert promoted.json()["is_admin"] is True
    assert (await client.get("/api/admin/users", headers=user)).status_code == 401  # for good
    assert (await client.get("/api/admin/users", headers=bearer(user_id))).status_code == 200


async def test_patch_unknown_user_or_bad_body(client: Client, db: asyncpg.Connection) -> None:
    admin = bearer(await insert_user(db, "admin@example.com", is_admin=True))
    assert (
        await client.patch("/api/admin/users/999999", headers=admin, json={"is_admin": True})
    ).status_code == 404
    bad = await client.patch("/api/admin/users/1", headers=admin, json={"tier": "elite"})
    assert bad.status_code == 400 and "tier" in bad.text
    assert (await client.patch("/api/admin/users/abc", headers=admin, json={})).status_code in (
        400,
        404,
    )


async def test_the_last_active_admin_cannot_be_removed(
    client: Client, db: asyncpg.Connection
) -> None:
    admin_id = await insert_user(db, "admin@example.com", is_admin=True)
    admin = bearer(admin_id)
    await insert_user(db, "retired@example.com", is_admin=True, is_active=False)
    for change in (
        {"is_active": False},
        {"is_admin": False},
        {"is_admin": False, "is_active": True},
    ):
        response = await client.patch(f"/api/admin/users/{admin_id}", headers=admin, json=change)
        assert response.status_code == 409, change
        assert response.json() == {"status_code": 409, "detail": LAST_ADMIN}
    row = await db.fetchrow("SELECT is_active, is_admin FROM users WHERE id = $1", admin_id)
    assert tuple(row) == (True, True)
    # A change that keeps them an active admin is fine; so is stepping down once another
    # active admin exists.
    same = await client.patch(
        f"/api/admin/users/{admin_id}", headers=admin, json={"is_admin": True}
    )
    assert same.status_code == 200
    other = await insert_user(db, "second@example.com", is_admin=True)
    down = await client.patch(
        f"/api/admin/users/{admin_id}", headers=admin, json={"is_admin": False}
    )
    assert down.status_code == 200 and down.json()["is_admin"] is False
    last = await client.patch(
        f"/api/admin/users/{other}", headers=bearer(other), json={"is_active": False}
    )
    assert last.status_code == 409
    assert await db.fetchval("SELECT count(*) FROM users WHERE is_admin AND is_active") == 1


async def test_two_admins_demoting_each_other_at_once(serve: Any, db: asyncpg.Connection) -> None:
    """On a real server with two workers: of two crossed demotions, exactly one wins."""
    server = serve(workers=2, ALPINE_RATE_LIMIT=UNLIMITED)
    first = await insert_user(db, "first@example.com", is_admin=True)
    second = await insert_user(db, "second@example.com", is_admin=True)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        for _ in range(10):
            await db.execute("UPDATE users SET is_admin = true WHERE id IN ($1, $2)", first, second)
            answers = await asyncio.gather(
                http.patch(f"/api/admin/users/{second}", headers=bearer(first), json=DEMOTE),
                http.patch(f"/api/admin/users/{first}", headers=bearer(second), json=DEMOTE),
            )
            # The loser is refused by the lock (409), or, when the winner already committed,
            # by the admin guard (403: no longer an admin).
            codes = sorted(a.status_code for a in answers)
            assert codes in ([200, 403], [200, 409]), [a.text for a in answers]
            assert await db.fetchval("SELECT count(*) FROM users WHERE is_admin") == 1


async def test_an_admin_change_waits_for_a_concurrent_one_and_sees_it(
    serve: Any, db: asyncpg.Connection, database_url: str
) -> None:
    """Deterministic form of the race: another transaction demotes B while holding the
    admins' locks; A's own demotion must wait for it, then answer 409 (B is gone)."""
    server = serve(workers=1)
    first = await insert_user(db, "first@example.com", is_admin=True)
    second = await insert_user(db, "second@example.com", is_admin=True)
    other = await asyncpg.connect(database_url)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            async with other.transaction():
                await other.execute("SELECT id FROM users WHERE is_admin FOR UPDATE")
                await other.execute("UPDATE users SET is_admin = false WHERE id = $1", second)
                pending = asyncio.ensure_future(
                    http.patch(f"/api/admin/users/{first}", headers=bearer(first), json=DEMOTE)
                )
                await asyncio.sleep(1.0)
                assert not pending.done()  # waiting on the lock, not deciding on stale rows
            response = await pending
    finally:
        await other.close()
    assert response.status_code == 409, response.text
    assert await db.fetchval("SELECT is_admin FROM users WHERE id = $1", first) is True
