"""Register, login, logout, /me and token checks against real PostgreSQL and Valkey."""

from __future__ import annotations

import time
import uuid

import asyncpg
import jwt
import pytest
import redis.asyncio as aioredis
from litestar.testing import AsyncTestClient

from tests.support import DEFAULT_PASSWORD, JWT_SECRET, insert_user, token_for

Client = AsyncTestClient  # type: ignore[type-arg]


async def _login(client: Client, email: str, password: str = DEFAULT_PASSWORD) -> str:
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_register_creates_a_starter_user(client: Client, db: asyncpg.Connection) -> None:
    response = await client.post(
        "/api/auth/register",
        json={"email": "Ada@Example.COM", "password": "long enough", "full_name": "Ada"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "ada@example.com"
    assert body["tier"] == "starter"
    assert body["is_active"] is True and body["is_admin"] is False
    assert set(body) == {"id", "email", "full_name", "tier", "is_active", "is_admin", "created_at"}
    assert body["created_at"].endswith("Z")
    row = await db.fetchrow("SELECT email, password_hash FROM users WHERE id = $1", body["id"])
    assert row["email"] == "ada@example.com"
    assert row["password_hash"].startswith("$argon2id$")


async def test_register_duplicate_email_in_other_case_is_409(
    client: Client, db: asyncpg.Connection
) -> None:
    await insert_user(db, "bob@example.com")
    response = await client.post(
        "/api/auth/register", json={"email": "BOB@example.com", "password": "long enough"}
    )
    assert response.status_code == 409
    assert response.json()["status_code"] == 409
    assert await db.fetchval("SELECT count(*) FROM users") == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "password": "long enough"}, "email"),
        ({"email": "a@example.com", "password": "short"}, "password"),
        ({"email": "a@example.com", "password": "x" * 129}, "password"),
        ({"email": "a@example.com", "password": "long enough", "role": "admin"}, "role"),
        ({"email": "a@example.com"}, "password"),
    ],
)
async def test_register_rejects_bad_input_naming_the_field(
    client: Client, db: asyncpg.Connection, payload: dict[str, str], field: str
) -> None:
    response = await client.post("/api/auth/register", json=payload)
    assert response.status_code == 400
    assert field in response.text
    assert await db.fetchval("SELECT count(*) FROM users") == 0


async def test_login_returns_a_bearer_token_and_accepts_any_email_case(
    client: Client, db: asyncpg.Connection
) -> None:
    user_id = await insert_user(db, "carol@example.com")
    response = await client.post(
        "/api/auth/login", json={"email": "CAROL@example.com", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    claims = jwt.decode(body["access_token"], JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == str(user_id)
    assert {"jti", "iat", "exp"} <= set(claims)


async def test_login_failures_are_identical(client: Client, db: asyncpg.Connection) -> None:
    await insert_user(db, "dave@example.com")
    await insert_user(db, "erin@example.com", is_active=False)
    answers = [
        await client.post("/api/auth/login", json={"email": e, "password": p})
        for e, p in [
            ("nobody@example.com", DEFAULT_PASSWORD),
            ("dave@example.com", "wrong password"),
            ("erin@example.com", DEFAULT_PASSWORD),
        ]
    ]
    assert {a.status_code for a in answers} == {401}
    assert len({a.text for a in answers}) == 1


async def test_login_rehashes_a_hash_with_old_parameters(
    client: Client, db: asyncpg.Connection
) -> None:
    user_id = await insert_user(db, "frank@example.com")  # cheap test parameters
    before = await db.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)
    await _login(client, "frank@example.com")
    after = await db.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)
    assert after != before and after.startswith("$argon2id$")
    await _login(client, "frank@example.com")  # the new hash verifies too


async def test_me_returns_the_user_and_is_cached(client: Client, db: asyncpg.Connection) -> None:
    user_id = await insert_user(db, "gina@example.com", full_name="Gina")
    token = await _login(client, "gina@example.com")
    first = await client.get("/api/auth/me", headers=_auth(token))
    second = await client.get("/api/auth/me", headers=_auth(token))
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert first.json()["id"] == user_id and first.json()["full_name"] == "Gina"
    assert first.headers["x-cache"] == "MISS"
    assert second.headers["x-cache"] == "HIT"


def _forge(payload: dict[str, object], key: str = JWT_SECRET, alg: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=alg)


async def test_bad_tokens_are_401_with_www_authenticate(
    client: Client, db: asyncpg.Connection
) -> None:
    user_id = await insert_user(db, "hank@example.com")
    now = int(time.time())
    good = {"sub": str(user_id), "jti": str(uuid.uuid4()), "iat": now, "exp": now + 600}
    valid = token_for(user_id)
    header, _payload, signature = valid.split(".")
    altered_payload = _forge({**good, "sub": str(user_id + 1)}).split(".")[1]
    tokens = {
        "missing": None,
        "malformed": "not.a.token",
        "alg none": jwt.encode(good, None, algorithm="none"),
        "wrong key": _forge(good, key="another-secret-" + "y" * 40),
        "altered payload": f"{header}.{altered_payload}.{signature}",
        "expired": _forge({**good, "iat": now - 7200, "exp": now - 3600}),
        "future iat": _forge({**good, "iat": now + 3600, "exp": now + 7200}),
        "no jti": _forge({k: v for k, v in good.items() if k != "jti"}),
        "unknown user": _forge({**good, "sub": "999999"}),
        "basic scheme": None,
    }
    for name, token in tokens.items():
        headers = {} if token is None else _auth(token)
        if name == "basic scheme":
            headers = {"Authorization": "Basic dXNlcjpwYXNz"}
        response = await client.get("/api/auth/me", headers=headers)
        assert response.status_code == 401, name
        assert response.headers["www-authenticate"] == "Bearer", name
        assert response.json()["status_code"] == 401
    assert (await client.get("/api/auth/me", headers=_auth(valid))).status_code == 200


async def test_inactive_user_token_is_401(client: Client, db: asyncpg.Connection) -> None:
    user_id = await insert_user(db, "ivy@example.com", is_active=False)
    response = await client.get("/api/auth/me", headers=_auth(token_for(user_id)))
    assert response.status_code == 401


async def test_logout_revokes_only_the_presented_token(
    client: Client, db: asyncpg.Connection
) -> None:
    await insert_user(db, "jack@example.com")
    first = await _login(client, "jack@example.com")
    second = await _login(client, "jack@example.com")
    assert (await client.get("/api/auth/me", headers=_auth(first))).status_code == 200
    response = await client.post("/api/auth/logout", headers=_auth(first))
    assert response.status_code == 204
    assert (await client.get("/api/auth/me", headers=_auth(first))).status_code == 401
    assert (await client.post("/api/auth/logout", headers=_auth(first))).status_code == 401
    assert (await client.get("/api/auth/me", headers=_auth(second))).status_code == 200
    jti = jwt.decode(first, JWT_SECRET, algorithms=["HS256"])["jti"]
    assert (
        await db.fetchval("SELECT count(*) FROM revoked_tokens WHERE jti = $1", uuid.UUID(jti)) == 1
    )


async def test_revocation_survives_redis_losing_everything(
    client: Client, db: asyncpg.Connection, redis: aioredis.Redis
) -> None:
    await insert_user(db, "kate@example.com")
    revoked = await _login(client, "kate@example.com")
    kept = await _login(client, "kate@example.com")
    assert (await client.post("/api/auth/logout", headers=_auth(revoked))).status_code == 204
    await redis.flushall()  # what a restart without persistence leaves
    assert (await client.get("/api/auth/me", headers=_auth(revoked))).status_code == 401
    assert (await client.get("/api/auth/me", headers=_auth(kept))).status_code == 200
    # The revocations were reloaded from PostgreSQL into Redis, marked complete.
    user_id = jwt.decode(kept, JWT_SECRET, algorithms=["HS256"])["sub"]
    assert await redis.hget(f"{{u:{user_id}}}:revoked", "_synced") == b"1"
    assert (await client.get("/api/auth/me", headers=_auth(revoked))).status_code == 401


async def test_a_record_read_before_a_write_is_not_cached_after_it(
    redis: aioredis.Redis,
) -> None:
    from alpine_api.redis.client import RedisServer
    from alpine_api.redis.user_state import UserState

    state = UserState(RedisServer(redis))
    user_id = 4242
    read_generation = b"0"  # what the gate saw before the write
    await redis.incr(f"{{u:{user_id}}}:gen")  # the write's invalidation
    assert not await state.store_record(user_id, b'{"stale":true}', read_generation, 300)
    assert await redis.get(f"{{u:{user_id}}}:user") is None
    assert await state.store_record(user_id, b'{"fresh":true}', b"1", 300)
    assert await redis.get(f"{{u:{user_id}}}:user") == b'{"fresh":true}'
