"""The shared asyncio Redis client, with short timeouts.

Redis holds nothing that cannot be recomputed or re-read from PostgreSQL, so every
call is bounded by a short timeout and callers fall back when it fails: a dead Redis
costs a request at most `timeout` seconds, never a hang.
"""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

SCRIPTS_DIR = Path(__file__).resolve().parent

# What "Redis did not answer" looks like to redis-py.
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


def create_redis(url: str, *, timeout: float) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        # One immediate retry on a fresh connection makes a Redis restart invisible
        # (pooled sockets are dead); more would only stretch the wait on a dead Redis.
        retry=Retry(NoBackoff(), 1),
        max_connections=256,
        health_check_interval=0,
    )


def load_script(client: aioredis.Redis, name: str) -> AsyncScript:
    """Register `<name>.lua`; calls use EVALSHA and reload the script on NOSCRIPT."""
    source = (SCRIPTS_DIR / f"{name}.lua").read_text(encoding="utf-8")
    return client.register_script(source)
