"""The application factory: `create_app(settings)` builds the Litestar app.

Each Granian worker imports `alpine_api.asgi:app`, which calls this once; the lifespan
opens that worker's asyncpg pool and Redis client and closes them on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from litestar import Litestar, Router

from alpine_api import http, operations
from alpine_api.admin import routes as admin_routes
from alpine_api.auth import routes as auth_routes
from alpine_api.auth.current import admin_guard, authenticated
from alpine_api.auth.revocation import purge_expired_revocations
from alpine_api.config import ConfigError, Settings
from alpine_api.db import Database, Queries, load_queries
from alpine_api.db.reads import connect_replica
from alpine_api.logging import configure_logging
from alpine_api.metrics import REQUEST_DURATIONS
from alpine_api.notifications import routes as notification_routes
from alpine_api.redis.client import RedisServer
from alpine_api.request_gate import request_gate
from alpine_api.resources import SQL_DIR
from alpine_api.services import Services, close_services
from alpine_api.signals import routes as signal_routes
from alpine_api.signals.hub import start_hub
from alpine_api.subscriptions import routes as subscription_routes
from alpine_api.users import routes as user_routes

POOL_GAUGE_INTERVAL_SECONDS = 5.0

log = logging.getLogger("alpine_api")


async def _record_pool_gauges(db: Database) -> None:
    while True:
        db.record_pool_gauges()
        await asyncio.sleep(POOL_GAUGE_INTERVAL_SECONDS)


def _on_sigterm(action: Callable[[], None]) -> Callable[[], None]:
    """Run `action` on the loop when SIGTERM arrives, before the handler already installed
    (Granian's, which then waits for the responses in flight); returns the undo.

    Granian gives a worker no other hook: it waits for open responses before the
    lifespan's shutdown runs, so event streams must be ended here or they hold the
    worker until its kill timeout."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # in-process test clients: no signals there
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)

    def handler(signum: int, frame: Any) -> None:
        loop.call_soon_threadsafe(action)
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, handler)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore


async def _open_services(settings: Settings, queries: Queries) -> Services:
    """This worker's pools (primary, replica) and Redis client, as one Services."""
    db = await Database.connect(
        settings.database_url,
        queries,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        connect_timeout=settings.db_connect_timeout_seconds,
        command_timeout=settings.db_command_timeout_seconds,
        pooler=settings.database_pooler,
    )
    replica = await connect_replica(settings, queries)
    redis = RedisServer.connect(
        settings.redis_url,
        timeout=settings.redis_timeout_ms / 1000,
        cluster=settings.redis_cluster,
    )
    return Services.build(settings, db, redis, replica)


def api_router() -> Router:
    """Every /api route, each needing a user unless it declares itself public; the
    admin routes are on routers of their own, behind `admin_guard` too."""
    return Router(
        "/",
        route_handlers=[
            *auth_routes.route_handlers,
            *user_routes.route_handlers,
            signal_routes.router,
            notification_routes.router,
            subscription_routes.router,
            admin_routes.router,
            user_routes.admin_router,
            signal_routes.admin_router,
        ],
        guards=[authenticated],
    )


def create_app(settings: Settings) -> Litestar:
    if not settings.jwt_secret:
        raise ConfigError("ALPINE_JWT_SECRET: not set; the API cannot sign or check tokens")
    configure_logging(settings.log_format)
    queries = load_queries(SQL_DIR)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        svc = app.state.services = await _open_services(settings, queries)
        db = svc.db
        hub = app.state.stream_hub = await start_hub(svc)
        restore_sigterm = _on_sigterm(hub.shutdown)
        # Everything made so far lives as long as the worker: move it out of the cyclic
        # collector's way. Full collections over it were the bulk of p99 latency.
        gc.collect()
        gc.freeze()
        gauges = asyncio.create_task(_record_pool_gauges(db))
        purge = asyncio.create_task(purge_expired_revocations(db))
        try:
            yield
        finally:
            gauges.cancel()
            purge.cancel()
            restore_sigterm()
            await hub.close()
            await close_services(svc)
            await svc.reads.close()
            REQUEST_DURATIONS.flush()  # timings batched in the last second
            await db.close()
            log.info("worker stopped: database pool and Redis client closed")

    app = Litestar(
        route_handlers=[
            *operations.route_handlers,
            api_router(),
            http.docs_assets(),
        ],
        middleware=[request_gate(settings)],
        before_request=http.refuse_bad_query,
        lifespan=[lifespan],
        exception_handlers=http.EXCEPTION_HANDLERS,
        cors_config=http.cors_config(settings),
        compression_config=http.COMPRESSION,
        request_max_body_size=http.MAX_BODY_BYTES,
        openapi_config=http.openapi_config(),
        logging_config=None,  # configure_logging above: JSON lines or text, request ids
    )
    http.install(app, authenticated=authenticated, admin_guard=admin_guard)
    return app
