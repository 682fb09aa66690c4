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
from alpine_api.resources import MIGRATIONS_DIR
from tests.support import DEFAULT_PASSWORD, JWT_SECRET, bearer, clean_env, insert_user

Client = AsyncTestClient[Litestar]


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
    await db.execute((MIGRATIONS_DIR / "0020_normalize_emails.sql").read_text())
    after = dict(await db.fetch("SELECT id, email FROM users"))
    assert after[lookalike] == before[lookalike]  # admin@example.com is taken
    assert after[bob] == "bob@example.com" and after[carl] == "carl@example.com"
    assert after[carl_again] == before[carl_again]  # the older row took the address
    login = await client.post(
        "/api/auth/login",
        json={"email": f"{_wide('BOB')}@example.com", "password": DEFAULT_PASSWORD},
    )
    assert login.status_code == 200
