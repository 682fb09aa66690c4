"""Test fixtures: real PostgreSQL and Valkey, started once per session.

The embedded servers start unless ALPINE_TEST_DATABASE_URL / ALPINE_TEST_REDIS_URL point
at running ones. Migrations run once, into a template database; each test gets a fresh
database cloned from it and an empty Redis, so tests never see each other's data.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
import pytest
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from alpine_api.app import create_app
from alpine_api.config import Settings, load_settings
from alpine_api.db import migrate
from alpine_api.embedded import EmbeddedPostgres, EmbeddedValkey
from tests.support import JWT_SECRET, ServerProcess, Servers

TEMPLATE_DB = "alpine_template"


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    given_db = os.environ.get("ALPINE_TEST_DATABASE_URL")
    given_redis = os.environ.get("ALPINE_TEST_REDIS_URL")
    root = Path(tempfile.mkdtemp(prefix="alpine-test-"))
    root.chmod(0o755)  # PostgreSQL runs as `nobody` when the tests run as root
    postgres = valkey = None
    try:
        if not given_db:
            postgres = EmbeddedPostgres(root / "postgres", fast=True)
            postgres.start()
        if not given_redis:
            valkey = EmbeddedValkey(root / "valkey")
            valkey.start()
        admin_url = given_db or postgres.dsn()  # type: ignore[union-attr]
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
        template_url = _with_database(admin_url, TEMPLATE_DB)
        migrate.apply(template_url)
        yield Servers(
            admin_url=admin_url,
            redis_url=given_redis or valkey.url,  # type: ignore[union-attr]
            postgres=postgres,
            valkey=valkey,
            root=root,
        )
    finally:
        if valkey:
            valkey.stop()
        if postgres:
            postgres.stop()


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture
def database_url(servers: Servers) -> Iterator[str]:
    """A fresh, migrated database for this test (cloned from the template)."""
    name = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(servers.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB} STRATEGY FILE_COPY")
    yield _with_database(servers.admin_url, name)
    with psycopg.connect(servers.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def redis_url(servers: Servers) -> AsyncIterator[str]:
    """The test Valkey, emptied before the test."""
    client = aioredis.Redis.from_url(servers.redis_url)
    await client.flushall()
    await client.script_flush()
    await client.aclose()
    yield servers.redis_url


def settings_env(database_url: str, redis_url: str, **overrides: str) -> dict[str, str]:
    env = {
        "ALPINE_DATABASE_URL": database_url,
        "ALPINE_REDIS_URL": redis_url,
        "ALPINE_JWT_SECRET": JWT_SECRET,
        "ALPINE_DB_POOL_MIN": "1",
        "ALPINE_DB_POOL_MAX": "10",
        "ALPINE_LOG_FORMAT": "text",
    }
    env.update(overrides)
    return env


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    return load_settings(settings_env(database_url, redis_url))


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the test's own, for arranging data and checking it afterwards."""
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def serve(database_url: str, redis_url: str) -> Iterator[Any]:
    """Start `alpine-api serve` in a subprocess: `serve(workers=2, **env_overrides)`."""
    started: list[ServerProcess] = []

    def start(workers: int = 2, **overrides: str) -> ServerProcess:
        server = ServerProcess(settings_env(database_url, redis_url, **overrides), workers)
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def private_postgres(servers: Servers) -> Iterator[tuple[EmbeddedPostgres, str]]:
    """A migrated PostgreSQL of this test's own, so the test may stop and restart it.
    Its data lives under the session's directory (reachable by `nobody`) and is removed."""
    root = servers.root / f"private-{secrets.token_hex(4)}"
    postgres = EmbeddedPostgres(root / "postgres", fast=True)
    postgres.start()
    try:
        url = postgres.ensure_database("alpine")
        migrate.apply(url)
        yield postgres, url
    finally:
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def private_valkey(tmp_path: Path) -> Iterator[EmbeddedValkey]:
    """A Valkey of this test's own, so the test may stop or kill it."""
    valkey = EmbeddedValkey(tmp_path / "valkey")
    valkey.start()
    yield valkey
    valkey.stop()
