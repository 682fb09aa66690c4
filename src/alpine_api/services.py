"""The long-lived objects one worker shares between requests, made in the app lifespan."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from litestar import Request
from litestar.datastructures import State

from alpine_api.config import Settings
from alpine_api.db import Database


@dataclass(slots=True)
class Services:
    settings: Settings
    db: Database
    redis: aioredis.Redis


def services_of(state: State) -> Services:
    return state.services  # type: ignore[no-any-return]


def services(request: Request) -> Services:  # type: ignore[type-arg]
    return services_of(request.app.state)
