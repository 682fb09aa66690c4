"""One Redis / Valkey server (or cluster) as a worker sees it: `RedisServer`.

Everything that reaches Redis goes through one `RedisServer` per worker: the gate, the
response cache, users' cached records and revocations, invalidations, the event
channel and the stream slots. It owns the connections:

- single server: the per-request scripts run on the lean pipelined client
  (redis/lean.py: one connection, about 30 us of client CPU less per call than redis-py);
  plain commands, pipelines and pub/sub on redis-py's pooled client;
- cluster (ALPINE_REDIS_CLUSTER=true; the URL names one node): redis-py's `RedisCluster`
  for everything. It learns the slot map from that node, follows MOVED / ASK
  redirections, and after a connection error re-reads the slot map before its retry.
  Every script's keys share one hash tag (keys.py), so scripts run unchanged; a newly
  promoted node that lacks a script answers NOSCRIPT once and the script is loaded again.

One timeout and retry story for every connection. Redis holds nothing that cannot be
recomputed or re-read from PostgreSQL, so each attempt waits at most `timeout`
(ALPINE_REDIS_TIMEOUT_MS) and callers fall back when a call fails: a dead Redis costs a
request at most a few timeouts, never a hang. A broken connection is replaced once,
at once: redis-py retries one command on a fresh connection, and the lean client
reconnects on the next call after its connection is lost (or silent through
SILENT_TIMEOUTS_BEFORE_RECONNECT timeouts). A cluster retries twice, 10 then 20 ms
apart, after re-reading the slot map: while a master is being replaced (about
node-timeout + 0.5 s) its slots answer nothing, calls fail after that bounded retry and
callers fall back exactly as for a single dead server. A NOSCRIPT answer (restart,
failover, flush) loads the script and retries, on every client.

`check_ready` (what /health asks) probes every connection that serves requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
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


def _redis_py(url: str, *, timeout: float, cluster: bool) -> RedisClient:
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


ScriptRunner: TypeAlias = AsyncScript | BoundScript


class RedisServer:
    """The one way to Redis: scripts, plain commands, pub/sub and the readiness probe.

    `commands` is redis-py's client (pipelines, plain commands, pub/sub); `lean`, when
    given, runs the scripts (a single server). Tests wrap a redis-py client of their own
    without `lean`; the service builds one with `connect`."""

    def __init__(self, commands: RedisClient, lean: LeanClient | None = None) -> None:
        self.commands = commands
        self.cluster = isinstance(commands, RedisCluster)
        self._lean = lean

    @classmethod
    def connect(cls, url: str, *, timeout: float, cluster: bool = False) -> RedisServer:
        commands = _redis_py(url, timeout=timeout, cluster=cluster)
        return cls(commands, None if cluster else LeanClient(url, timeout=timeout))

    def script(self, name: str) -> ScriptRunner:
        """`<name>.lua`, called as `await script(keys=[...], args=[...])` with EVALSHA."""
        if self._lean is not None:
            return BoundScript(self._lean, name)
        source = (SCRIPTS_DIR / f"{name}.lua").read_text(encoding="utf-8")
        return self.commands.register_script(source)

    async def check_ready(self) -> None:
        """Raise unless every connection that serves requests answers; a cluster must
        also report `cluster_state:ok` (every slot served) from the node asked."""
        if isinstance(self.commands, RedisCluster):
            info = await self.commands.cluster_info()
            if info.get("cluster_state") != "ok":
                raise RedisClusterException(f"cluster_state:{info.get('cluster_state')}")
            return
        probes: list[Awaitable[Any]] = [self.commands.ping()]
        if self._lean is not None:
            probes.append(self._lean.ping())
        await asyncio.gather(*probes)

    async def aclose(self) -> None:
        if self._lean is not None:
            self._lean.close()
        await self.commands.aclose()
