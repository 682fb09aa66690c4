"""The shared asyncio Redis client, with short timeouts: one server or a cluster.

Redis holds nothing that cannot be recomputed or re-read from PostgreSQL, so every
call is bounded by a short timeout and callers fall back when it fails: a dead Redis
costs a request at most a few timeouts, never a hang.

With ALPINE_REDIS_CLUSTER=true the URL names one node of a Redis / Valkey Cluster and
the client is redis-py's `RedisCluster`: it learns the slot map from that node, follows
MOVED / ASK redirections, and after a connection error re-reads the slot map before
its retry. While a master is being replaced (about node-timeout + 0.5 s) its slots
answer nothing; calls then fail after a bounded retry and callers fall back exactly as
they do for a single dead server. Every script's keys share one hash tag (keys.py), so
scripts run unchanged; a newly promoted node that lacks a script answers NOSCRIPT once
and the script object loads it again.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError

from alpine_api.redis.lean import SCRIPTS_DIR, BoundScript, LeanClient

RedisClient: TypeAlias = aioredis.Redis | RedisCluster

# What "Redis did not answer" looks like to redis-py. RedisClusterException covers the
# client's own view of a broken cluster (a slot no known node serves).
REDIS_ERRORS: tuple[type[BaseException], ...] = (
    RedisError,
    RedisClusterException,
    OSError,
    TimeoutError,
)

# Cluster mode: after a connection error the client re-reads the slot map and tries
# again, twice, 10 then 20 ms apart: enough to land on a promoted replica once the
# cluster has moved the slots, short enough that a request never waits long for it.
CLUSTER_RETRIES = 2
CLUSTER_BACKOFF_BASE_SECONDS = 0.01
CLUSTER_BACKOFF_CAP_SECONDS = 0.05


class _Cluster(RedisCluster):
    """RedisCluster whose commands fail only with redis-py errors.

    redis-py 8.1's cluster client tears connections down underneath commands in flight:
    after a timeout, a connection error, CLUSTERDOWN or repeated MOVED it disconnects
    idle or all connections of a node while other tasks are writing on them. Those
    commands then fail with RuntimeError (uvloop: write on a closed transport) or
    AttributeError (no writer any more). They are connection failures: raised as
    ConnectionError, callers fall back as for any unreachable Redis instead of a 500.
    """

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().execute_command(*args, **kwargs)
        except (RuntimeError, AttributeError) as exc:
            raise RedisConnectionError(f"connection closed under the command: {exc}") from exc


def create_redis(url: str, *, timeout: float, cluster: bool = False) -> RedisClient:
    if cluster:
        return _Cluster.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(
                ExponentialBackoff(
                    cap=CLUSTER_BACKOFF_CAP_SECONDS, base=CLUSTER_BACKOFF_BASE_SECONDS
                ),
                CLUSTER_RETRIES,
            ),
            max_connections=256,
            health_check_interval=0,
        )
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


async def check_ready(client: RedisClient) -> None:
    """Raise unless Redis answers; a cluster must also report `cluster_state:ok`
    (every slot served) from the node asked."""
    if isinstance(client, RedisCluster):
        info = await client.cluster_info()
        if info.get("cluster_state") != "ok":
            raise RedisClusterException(f"cluster_state:{info.get('cluster_state')}")
    else:
        await client.ping()


ScriptClient: TypeAlias = RedisClient | LeanClient
ScriptRunner: TypeAlias = AsyncScript | BoundScript


def load_script(client: ScriptClient, name: str) -> ScriptRunner:
    """`<name>.lua`, called as `await script(keys=[...], args=[...])` with EVALSHA; a
    NOSCRIPT answer (restart, failover, flush) loads the script and retries."""
    if isinstance(client, LeanClient):
        return BoundScript(client, name)
    return client.register_script((SCRIPTS_DIR / f"{name}.lua").read_text(encoding="utf-8"))
