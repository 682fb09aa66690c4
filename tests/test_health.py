"""GET /health and /health/live against real servers, including stopped ones."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
from litestar.testing import AsyncTestClient

from alpine_api.app import create_app
from alpine_api.config import load_settings
from alpine_api.embedded import EmbeddedValkey
from tests.conftest import settings_env
from tests.support import Servers


async def test_healthy_when_both_answer(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "healthy",
        "checks": {"database": "healthy", "redis": "healthy"},
    }


async def test_live_answers_ok(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_degraded_when_valkey_is_stopped(
    servers: Servers, database_url: str, tmp_path: Path
) -> None:
    valkey = EmbeddedValkey(tmp_path / "valkey")
    valkey.start()
    app = create_app(load_settings(settings_env(database_url, valkey.url)))
    try:
        async with AsyncTestClient(app=app) as client:
            assert (await client.get("/health")).json()["status"] == "healthy"
            valkey.stop()
            started = time.monotonic()
            response = await client.get("/health")
            assert time.monotonic() - started < 1.5
    finally:
        valkey.stop()
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "healthy", "redis": "unhealthy"},
    }


async def test_unhealthy_503_within_a_second_when_postgres_is_stopped(
    private_postgres,
    redis_url: str,  # type: ignore[no-untyped-def]
) -> None:
    postgres, url = private_postgres
    app = create_app(load_settings(settings_env(url, redis_url)))
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/health")).status_code == 200
        postgres.stop()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url, connect_timeout=1)
        started = time.monotonic()
        response = await client.get("/health")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json() == {
        "status": "unhealthy",
        "checks": {"database": "unhealthy", "redis": "healthy"},
    }
    assert elapsed < 1.5
