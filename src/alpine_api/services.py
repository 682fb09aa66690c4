"""The long-lived objects one worker shares between requests, made in the app lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from litestar import Request
from litestar.datastructures import State

from alpine_api.config import Settings
from alpine_api.db import Database
from alpine_api.db.reads import ReplicaReads
from alpine_api.redis.cache import CacheStore
from alpine_api.redis.client import RedisServer
from alpine_api.redis.deferred import DeferredWrites
from alpine_api.redis.gate import Gate
from alpine_api.redis.user_state import UserState
from alpine_api.tokens import TokenService


@dataclass(slots=True)
class Services:
    settings: Settings
    db: Database
    # Lag-tolerant reads (admin statistics and listing): the replica when configured.
    reads: ReplicaReads
    # Every way to Redis: the scripts' lean pipelined connection on a single server,
    # redis-py for the rest and for everything on a cluster (see redis/client.py).
    redis: RedisServer
    tokens: TokenService
    gate: Gate
    cache: CacheStore
    user_state: UserState
    deferred: DeferredWrites

    @classmethod
    def build(
        cls,
        settings: Settings,
        db: Database,
        redis: RedisServer,
        replica: Database | None = None,
    ) -> Services:
        return cls(
            settings=settings,
            db=db,
            reads=ReplicaReads(db, replica),
            redis=redis,
            tokens=TokenService(settings.jwt_secret, settings.jwt_ttl_seconds),
            gate=Gate(redis),
            cache=CacheStore(redis),
            user_state=UserState(redis),
            # Outlives every token and cached entry a deferred write concerns.
            deferred=DeferredWrites(horizon_seconds=settings.jwt_ttl_seconds + 60),
        )


AnyRequest: TypeAlias = Request[Any, Any, Any]


async def close_services(svc: Services) -> None:
    await svc.deferred.close()
    await svc.redis.aclose()


def services_of(state: State) -> Services:
    return state.services  # type: ignore[no-any-return]


def services(request: AnyRequest) -> Services:
    return services_of(request.app.state)
