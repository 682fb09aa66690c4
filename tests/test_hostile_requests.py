"""Hostile requests against real PostgreSQL and Valkey: query parameters that are unknown
or given twice, tokens whose `sub` is no row id, look-alike Unicode emails, and tokens that
must stay dead after a deactivation.
"""

from __future__ import annotations

import subprocess
import sys
import time

import asyncpg
import jwt
import msgspec
import psycopg
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from alpine_api.caching import SIGNALS, entry_location
from alpine_api.redis import keys
from alpine_api.redis.client import RedisServer
from alpine_api.redis.user_state import UserState
from alpine_api.resources import MIGRATIONS_DIR
from tests.support import DEFAULT_PASSWORD, JWT_SECRET, bearer, clean_env, insert_user

Client = AsyncTestClient[Litestar]


async def _signals(db: asyncpg.Connection, count: int) -> None:
    admin = await insert_user(db, "author@example.com", is_admin=True)
    for n in range(count):
        await db.execute(
            "INSERT INTO signals (symbol, direction, entry_price, target_price, stop_loss,"
            " confidence, tier, created_by) VALUES ($1, 'long', 10, 12, 9, 0.5, 'starter', $2)",
            f"SYM{n}",
            admin,
        )


async def test_unknown_or_repeated_query_parameters_are_400_everywhere(
    client: Client, db: asyncpg.Connection
) -> None:
    admin = bearer(await insert_user(db, "admin@example.com", is_admin=True))
    cases = [
        ("GET", "/api/signals/subscribed?limit=1&limit=2", "limit"),
        ("GET", "/api/signals/subscribed?bust=1", "bust"),
        ("GET", "/api/signals?symbol=A&symbol=B", "symbol"),
        ("GET", "/api/users/profile?bust=2", "bust"),
        ("GET", "/api/auth/me?bust=3", "bust"),
        ("GET", "/api/admin/analytics?bust=4", "bust"),
        ("GET", "/api/admin/users?tier=pro&is_active=true&tier=elite", "tier"),
        ("GET", "/api/notifications?unread=true&x=1", "x"),
        ("POST", "/api/notifications/read-all?all=1", "all"),
        ("GET", "/health?verbose=1", "verbose"),
    ]
    for method, url, name in cases:
        for _ in range(2):  # the second time, a cached answer could have been served
            response = await client.request(method, url, headers=admin)
            assert response.status_code == 400, (url, response.text)
            assert name in response.json()["detail"], url
    assert (await client.get("/api/signals?symbol=A&limit=3", headers=admin)).status_code == 200
    # Without a token, a user's route is a 401 before its query is looked at.
    assert (await client.get("/api/signals/subscribed?bust=1")).status_code == 401


async def test_repeated_parameters_cannot_poison_another_users_page(
    client: Client, db: asyncpg.Connection, redis: aioredis.Redis
) -> None:
    await _signals(db, 3)
    alice = bearer(await insert_user(db, "alice@example.com"))
    bob_id = await insert_user(db, "bob@example.com")
    bob = bearer(bob_id)
    path = "/api/signals/subscribed"
    assert (await client.get(f"{path}?limit=1&limit=2", headers=alice)).status_code == 400
    one = await client.get(f"{path}?limit=1", headers=bob)  # the gate now knows bob's tier
    assert len(one.json()["items"]) == 1
    # An entry under a repeated parameter's key (as stored before this was refused, or by
    # an older instance): the gate must not serve it.
    tag, variant = entry_location(SIGNALS, bob_id, "starter", path, b"limit=2&limit=1")
    generation = await redis.get(keys.generation(tag)) or b"0"
    poison = msgspec.json.encode({"items": [{"id": 1}, {"id": 2}], "next_cursor": None})
    await redis.hset(keys.cache_entry(tag, variant), mapping={"g": generation, "b": poison})
    for url in (f"{path}?limit=2&limit=1", f"{path}?limit=1&limit=2"):
        response = await client.get(url, headers=bob)
        assert response.status_code == 400, response.headers
        assert "x-cache" not in response.headers


BAD_SUBJECTS = ["9223372036854775808", "99999999999999999999999", "0", "-1", "1.5", "abc", " 1"]


async def test_tokens_whose_sub_is_no_row_id_are_401(
    client: Client, db: asyncpg.Connection
) -> None:
    await insert_user(db, "someone@example.com")
    now = int(time.time())
    for sub in BAD_SUBJECTS:
        claims = {"sub": sub, "jti": "6f1c1ad4-5a43-4c1d-9a53-0d8c4b1d7f10", "iat": now}
        token = jwt.encode({**claims, "exp": now + 600}, JWT_SECRET, algorithm="HS256")
        for url in ("/api/auth/me", "/api/signals/subscribed", "/api/users/profile"):
            response = await client.get(url, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, (sub, url, response.text)
            assert response.headers["www-authenticate"] == "Bearer"


def _wide(ascii_text: str) -> str:
    """The full-width forms (U+FF01..U+FF5E) of printable ASCII."""
    return ascii_text.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})


async def test_full_width_email_is_the_same_account(client: Client, db: asyncpg.Connection) -> None:
    await insert_user(db, "admin@example.com", is_admin=True)
    taken = await client.post(
        "/api/auth/register", json={"email": f"{_wide('ADMIN')}@example.com", "password": "p" * 12}
    )
    assert taken.status_code == 409
    login = await client.post(
        "/api/auth/login",
        json={"email": f"{_wide('ADMIN@EXAMPLE')}.com", "password": DEFAULT_PASSWORD},
    )
    assert login.status_code == 200
    created = await client.post(
        "/api/auth/register", json={"email": f"{_wide('Bob')}@Example.COM", "password": "p" * 12}
    )
    assert created.status_code == 201 and created.json()["email"] == "bob@example.com"
    # U+FE6B normalises to "@": the address it would make has two.
    bad = {"email": "a\ufe6bb@example.com", "password": "p" * 12}
    assert (await client.post("/api/auth/register", json=bad)).status_code == 400
    assert await db.fetchval("SELECT count(*) FROM users") == 2


def test_create_admin_normalises_the_email(database_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "alpine_api.cli", "create-admin", f"{_wide('ROOT')}@example.com"],
        env=clean_env(ALPINE_DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "admin root@example.com" in result.stdout
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT email FROM users WHERE is_admin").fetchall()
    assert rows == [("root@example.com",)]


async def _login(client: Client, email: str) -> dict[str, str]:
    response = await client.post(
        "/api/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_deactivation_revokes_every_earlier_token_for_good(
    client: Client, db: asyncpg.Connection, redis: aioredis.Redis
) -> None:
    admin = bearer(await insert_user(db, "admin@example.com", is_admin=True))
    user_id = await insert_user(db, "target@example.com")
    old = await _login(client, "target@example.com")
    assert (await client.get("/api/auth/me", headers=old)).headers["x-cache"] == "MISS"
    assert (await client.get("/api/auth/me", headers=old)).headers["x-cache"] == "HIT"
    url = f"/api/admin/users/{user_id}"
    assert (await client.patch(url, headers=admin, json={"is_active": False})).status_code == 200
    assert (await client.get("/api/auth/me", headers=old)).status_code == 401
    assert (await client.patch(url, headers=admin, json={"is_active": True})).status_code == 200
    for _ in range(2):  # the second time from the state the first one left in Redis
        for path in ("/api/auth/me", "/api/users/profile", "/api/signals/subscribed"):
            assert (await client.get(path, headers=old)).status_code == 401, path
    await redis.flushall()  # Redis restarted empty: PostgreSQL still says no
    assert (await client.get("/api/auth/me", headers=old)).status_code == 401
    new = await _login(client, "target@example.com")
    assert (await client.get("/api/auth/me", headers=new)).status_code == 200
    assert (await client.get("/api/auth/me", headers=old)).status_code == 401
    assert await db.fetchval("SELECT tokens_valid_after FROM users WHERE id = $1", user_id)


async def test_stored_emails_take_their_normalised_spelling_unless_taken(
    client: Client, db: asyncpg.Connection
) -> None:
    # Rows as the earlier code stored them: lower-cased, not normalised.
    await insert_user(db, "admin@example.com", is_admin=True)
    lookalike = await insert_user(db, f"{_wide('admin')}@example.com")
    bob = await insert_user(db, f"{_wide('bob')}@example.com")
    carl = await insert_user(db, f"{_wide('carl')}@example.com")
    carl_again = await insert_user(db, f"{_wide('carl')}@{_wide('e')}xample.com")
    before = dict(await db.fetch("SELECT id, email FROM users"))
    await db.execute((MIGRATIONS_DIR / "0022_normalize_emails.sql").read_text())
    after = dict(await db.fetch("SELECT id, email FROM users"))
    assert after[lookalike] == before[lookalike]  # admin@example.com is taken
    assert after[bob] == "bob@example.com" and after[carl] == "carl@example.com"
    assert after[carl_again] == before[carl_again]  # the older row took the address
    login = await client.post(
        "/api/auth/login",
        json={"email": f"{_wide('BOB')}@example.com", "password": DEFAULT_PASSWORD},
    )
    assert login.status_code == 200


async def test_a_revocation_load_older_than_a_write_is_not_marked_complete(
    redis: aioredis.Redis,
) -> None:
    state = UserState(RedisServer(redis))
    await redis.set(keys.generation(keys.user_tag(7)), 5)
    # PostgreSQL was read at generation 4; a deactivation has bumped it since.
    await state.add_revocations(7, [("jti-1", 1)], complete_at=b"4", ttl_ms=60_000)
    assert await redis.hgetall(keys.revoked(7)) == {b"jti-1": b"1"}
    await state.add_revocations(7, [], complete_at=b"5", ttl_ms=60_000)
    assert await redis.hget(keys.revoked(7), "_synced") == b"1"
