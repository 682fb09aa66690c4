"""The application factory: `create_app(settings)` builds the Litestar app.

Each Granian worker imports `alpine_api.asgi:app`, which calls this once; the lifespan
opens that worker's asyncpg pool and Redis client and closes them on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar, MediaType, Request, Response
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin

from alpine_api import operations
from alpine_api.config import Settings
from alpine_api.db import Database, DatabaseUnavailable, load_queries
from alpine_api.redis.client import create_redis
from alpine_api.resources import SQL_DIR
from alpine_api.services import Services

POOL_GAUGE_INTERVAL_SECONDS = 5.0


def _unavailable(request: Request, exc: Exception) -> Response:  # type: ignore[type-arg]
    return Response(
        {"status_code": 503, "detail": "Service temporarily unavailable"},
        status_code=503,
        media_type=MediaType.JSON,
        headers={"Retry-After": "1"},
    )


async def _record_pool_gauges(db: Database) -> None:
    while True:
        db.record_pool_gauges()
        await asyncio.sleep(POOL_GAUGE_INTERVAL_SECONDS)


def create_app(settings: Settings) -> Litestar:
    queries = load_queries(SQL_DIR)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        db = await Database.connect(
            settings.database_url,
            queries,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            connect_timeout=settings.db_connect_timeout_seconds,
            command_timeout=settings.db_command_timeout_seconds,
        )
        redis = create_redis(settings.redis_url, timeout=settings.redis_timeout_seconds)
        app.state.services = Services(settings=settings, db=db, redis=redis)
        gauges = asyncio.create_task(_record_pool_gauges(db))
        try:
            yield
        finally:
            gauges.cancel()
            await redis.aclose()
            await db.close()

    return Litestar(
        route_handlers=[*operations.route_handlers],
        lifespan=[lifespan],
        exception_handlers={DatabaseUnavailable: _unavailable},
        openapi_config=OpenAPIConfig(
            title="alpine-api",
            version="0.1.0",
            description="Trading signals for starter, pro and elite subscribers.",
            render_plugins=[ScalarRenderPlugin()],
        ),
    )
