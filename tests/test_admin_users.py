"""GET /api/admin/users and PATCH /api/admin/users/{id}; the admin guard."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from tests.support import bearer, insert_user, pages

Client = AsyncTestClient  # type: ignore[type-arg]


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
    assert (await client.get("/api/admin/users", headers=user)).status_code == 200


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
