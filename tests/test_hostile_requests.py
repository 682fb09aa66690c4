"""Hostile requests against real PostgreSQL and Valkey: query parameters that are unknown
or given twice, tokens whose `sub` is no row id, look-alike Unicode emails, and tokens that
must stay dead after a deactivation.
"""

from __future__ import annotations

import time

import asyncpg
import jwt
import msgspec
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from alpine_api.caching import SIGNALS, entry_location
from alpine_api.redis import keys
from tests.support import DEFAULT_PASSWORD, JWT_SECRET, bearer, insert_user

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
